-- Changes of bulletins and reports stop queueing on their sync_counters row, which
-- made every write of a resource wait for the previous one's commit. On PostgreSQL a
-- change now takes its number from a sequence, and the row records the transaction
-- that made it; a sync token keeps the oldest transaction still running when it was
-- made, and the next sync takes every row a transaction at least that recent changed
-- (src/sync.rs). SQLite has one writer and keeps its counters.
CREATE SEQUENCE sync_bulletins_seq;
CREATE SEQUENCE sync_reports_seq;
SELECT setval('sync_bulletins_seq', GREATEST(value, 1), value > 0)
  FROM sync_counters WHERE name = 'bulletins';
SELECT setval('sync_reports_seq', GREATEST(value, 1), value > 0)
  FROM sync_counters WHERE name = 'reports';

ALTER TABLE bulletins ADD COLUMN change_xid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN change_xid BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION stamp_change_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_xid := pg_current_xact_id()::text::bigint;
  RETURN NEW;
END
$$;
CREATE TRIGGER bulletins_change_xid BEFORE INSERT OR UPDATE ON bulletins
  FOR EACH ROW EXECUTE FUNCTION stamp_change_xid();
CREATE TRIGGER reports_change_xid BEFORE INSERT OR UPDATE ON reports
  FOR EACH ROW EXECUTE FUNCTION stamp_change_xid();
CREATE INDEX bulletins_change_xid_idx ON bulletins (change_xid);
CREATE INDEX reports_change_xid_idx ON reports (change_xid);
