-- The inbox syncs like bulletins and reports (SPEC §1): every new notification and
-- every read mark takes a change number from a sequence, and the row records the
-- transaction that made it (src/sync.rs). Rows stay 30 days past the 90 the inbox
-- shows them, so a sync in that time still hears that they left.
CREATE SEQUENCE sync_notifications_seq;
ALTER TABLE notifications ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN change_xid BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER notifications_change_xid BEFORE INSERT OR UPDATE ON notifications
  FOR EACH ROW EXECUTE FUNCTION stamp_change_xid();
CREATE INDEX notifications_user_change ON notifications (user_id, change_seq);
CREATE INDEX notifications_change_xid_idx ON notifications (change_xid);
INSERT INTO sync_counters (name, value) VALUES ('notifications', 0);
