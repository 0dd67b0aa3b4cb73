-- Browsers and installed web apps that take an account's notifications by Web Push
-- (SPEC §11). An endpoint names one browser profile, so it belongs to one account at
-- a time: the last to subscribe it.
CREATE TABLE push_subscriptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  endpoint VARCHAR(2000) NOT NULL UNIQUE,
  p256dh VARCHAR(100) NOT NULL,
  auth VARCHAR(40) NOT NULL,
  created_at TIMESTAMP NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);

-- Push messages still to send: one per notification and subscription, sent by any
-- instance (the one whose conditional update moves next_attempt_at claims it) and
-- removed once the push service took it or gave up on it.
CREATE TABLE push_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subscription_id BIGINT NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
  notification_id BIGINT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMP NOT NULL,
  created_at TIMESTAMP NOT NULL,
  UNIQUE (notification_id, subscription_id)
);
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at);
CREATE INDEX push_deliveries_subscription ON push_deliveries (subscription_id);

-- The language an account's notifications are written in when no request names one
-- (a push message, a mail): the one its last sign-in asked for, Indonesian otherwise.
ALTER TABLE users ADD COLUMN language VARCHAR(2) NOT NULL DEFAULT 'id';
