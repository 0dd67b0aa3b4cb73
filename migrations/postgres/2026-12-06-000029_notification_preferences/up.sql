-- Which ways each account takes each type of notification (SPEC §11): a row only
-- where the account turned something off; everything is on by default.
CREATE TABLE notification_preferences (
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind VARCHAR(40) NOT NULL,
  inbox BOOLEAN NOT NULL,
  stream BOOLEAN NOT NULL,
  push BOOLEAN NOT NULL,
  PRIMARY KEY (user_id, kind)
);

-- A notification kept only for the stream (or push) stays out of the inbox.
ALTER TABLE notifications ADD COLUMN in_inbox BOOLEAN NOT NULL DEFAULT TRUE;
