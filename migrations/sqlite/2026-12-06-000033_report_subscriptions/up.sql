-- Citizens without an account who follow a report by e-mail (SPEC §11): the address
-- is kept encrypted, with a keyed digest to find repeats and to count requests per
-- address. Nothing but the confirmation mail goes out before confirmed_at.
CREATE TABLE report_subscriptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  report_id BIGINT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  email_ciphertext TEXT NOT NULL,
  email_digest VARCHAR(64) NOT NULL,
  confirmed_at TIMESTAMP,
  created_at TIMESTAMP NOT NULL,
  UNIQUE (report_id, email_digest)
);
CREATE INDEX report_subscriptions_digest ON report_subscriptions (email_digest, created_at);

-- Mail still to send to a subscription, written with the change it tells of (or the
-- request that asked for a confirmation) and sent by any instance; unsubscribing
-- drops what was still queued.
CREATE TABLE mail_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subscription_id BIGINT NOT NULL REFERENCES report_subscriptions (id) ON DELETE CASCADE,
  kind VARCHAR(20) NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMP NOT NULL,
  created_at TIMESTAMP NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at);
CREATE INDEX mail_outbox_subscription ON mail_outbox (subscription_id);
