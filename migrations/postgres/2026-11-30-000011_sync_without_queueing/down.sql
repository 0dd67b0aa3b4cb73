DROP TRIGGER reports_change_xid ON reports;
DROP TRIGGER bulletins_change_xid ON bulletins;
DROP FUNCTION stamp_change_xid();
ALTER TABLE reports DROP COLUMN change_xid;
ALTER TABLE bulletins DROP COLUMN change_xid;
UPDATE sync_counters SET value = (SELECT last_value FROM sync_bulletins_seq) WHERE name = 'bulletins';
UPDATE sync_counters SET value = (SELECT last_value FROM sync_reports_seq) WHERE name = 'reports';
DROP SEQUENCE sync_reports_seq;
DROP SEQUENCE sync_bulletins_seq;
