DELETE FROM report_timeline WHERE author_side = 'citizen';
ALTER TABLE report_timeline DROP CONSTRAINT report_timeline_author_side_check;
ALTER TABLE report_timeline ADD CONSTRAINT report_timeline_author_side_check
  CHECK (author_side IN ('government', 'kim', 'integration'));
