-- What each account is told (SPEC §11): one row per recipient, made from an outbox
-- event when the dispatcher fans it out, so a publishing request never waits for the
-- fan-out. The words are rendered when read, in the reader's language; a row keeps
-- only what its recipient may read (a tracking code and a status, a bulletin title).
CREATE TABLE notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind VARCHAR(40) NOT NULL,
  target_type VARCHAR(20) NOT NULL,
  target_id BIGINT NOT NULL,
  urgent BOOLEAN NOT NULL DEFAULT FALSE,
  subject TEXT NOT NULL,
  detail VARCHAR(40),
  -- The outbox event it was made from; none for a reminder.
  event_id BIGINT,
  read_at TIMESTAMP,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  -- An event tells an account once, whatever retries the fan-out takes.
  UNIQUE (event_id, user_id)
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_created_idx ON notifications (created_at);

-- A reminder (a session starting, a consultation closing) is sent once per subject
-- and moment: the key is the guard between instances.
CREATE TABLE notification_reminders (
  subject_type VARCHAR(20) NOT NULL,
  subject_id BIGINT NOT NULL,
  due_at TIMESTAMP NOT NULL,
  sent_at TIMESTAMP NOT NULL,
  PRIMARY KEY (subject_type, subject_id, due_at)
);
