-- The inbox syncs like bulletins and reports (SPEC §1): every new notification and
-- every read mark takes a change number. Rows stay 30 days past the 90 the inbox
-- shows them, so a sync in that time still hears that they left.
ALTER TABLE notifications ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN change_xid BIGINT NOT NULL DEFAULT 0;
CREATE INDEX notifications_user_change ON notifications (user_id, change_seq);
INSERT INTO sync_counters (name, value) VALUES ('notifications', 0);
