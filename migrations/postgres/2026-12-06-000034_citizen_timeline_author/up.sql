-- A citizen who follows a report by e-mail may reopen it by its feedback: such a
-- timeline entry is written by a `citizen`.
ALTER TABLE report_timeline DROP CONSTRAINT report_timeline_author_side_check;
ALTER TABLE report_timeline ADD CONSTRAINT report_timeline_author_side_check
  CHECK (author_side IN ('government', 'kim', 'integration', 'citizen'));
