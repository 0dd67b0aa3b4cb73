ALTER TABLE report_timeline DROP COLUMN author_side;
