DELETE FROM sync_counters WHERE name = 'notifications';
DROP INDEX notifications_user_change;
ALTER TABLE notifications DROP COLUMN change_xid;
ALTER TABLE notifications DROP COLUMN change_seq;
