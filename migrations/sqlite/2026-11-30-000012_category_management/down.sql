ALTER TABLE report_categories DROP COLUMN description;
