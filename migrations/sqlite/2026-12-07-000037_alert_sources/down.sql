ALTER TABLE bulletins DROP COLUMN cap_identifier;
ALTER TABLE bulletins DROP COLUMN alert_source_id;
DROP TABLE incoming_alerts;
DROP TABLE alert_polls;
DROP TABLE alert_sources;
