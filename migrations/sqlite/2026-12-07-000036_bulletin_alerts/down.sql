DROP TABLE bulletin_alerts;
ALTER TABLE bulletins DROP COLUMN cap;
