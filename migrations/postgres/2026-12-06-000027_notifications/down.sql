DROP TABLE notification_reminders;
DROP TABLE notifications;
