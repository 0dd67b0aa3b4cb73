DELETE FROM sync_counters WHERE name = 'notifications';
DROP TRIGGER notifications_change_xid ON notifications;
ALTER TABLE notifications DROP COLUMN change_xid;
ALTER TABLE notifications DROP COLUMN change_seq;
DROP SEQUENCE sync_notifications_seq;
