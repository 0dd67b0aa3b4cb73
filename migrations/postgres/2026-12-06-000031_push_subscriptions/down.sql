DROP TABLE push_deliveries;
DROP TABLE push_subscriptions;
ALTER TABLE users DROP COLUMN language;
