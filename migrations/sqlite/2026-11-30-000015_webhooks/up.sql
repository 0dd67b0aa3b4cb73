-- Webhook subscriptions (SPEC §8). Secrets are encrypted by the service
-- (PersonalDataCipher): it needs them back to sign deliveries.
CREATE TABLE webhook_subscriptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  url TEXT NOT NULL,
  description TEXT,
  -- Event names joined by ',' (`report.created,member.*`).
  events TEXT NOT NULL,
  secret TEXT NOT NULL,
  -- The secret before the last rotation, still signing until it expires.
  previous_secret TEXT,
  previous_secret_expires_at TIMESTAMP,
  status TEXT NOT NULL CHECK (status IN ('active', 'failing', 'disabled')),
  created_by BIGINT REFERENCES users (id),
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  version BIGINT NOT NULL DEFAULT 1
);
