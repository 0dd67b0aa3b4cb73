ALTER TABLE notifications DROP COLUMN in_inbox;
DROP TABLE notification_preferences;
