DROP TABLE report_timeline;
DROP TABLE reports;
DROP TABLE holidays;
