DROP TABLE report_escalations;
