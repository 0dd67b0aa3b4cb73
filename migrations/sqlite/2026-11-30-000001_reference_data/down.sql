DROP TABLE report_categories;
DROP TABLE regions;
