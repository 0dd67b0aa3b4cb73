-- Domain events written in the same transaction as the change they describe (the
-- transactional outbox); webhook delivery reads them from here.
CREATE TABLE outbox_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_type VARCHAR(64) NOT NULL,
  aggregate_type VARCHAR(32) NOT NULL,
  aggregate_id VARCHAR(64) NOT NULL,
  -- The event's data as a JSON object.
  payload TEXT NOT NULL,
  request_id VARCHAR(64),
  created_at TIMESTAMP NOT NULL,
  published_at TIMESTAMP
);
CREATE INDEX outbox_events_pending_idx ON outbox_events (published_at, id);
CREATE INDEX outbox_events_aggregate_idx ON outbox_events (aggregate_type, aggregate_id, id);

-- Bumped whenever what an access token says about its holder stops being true
-- (disabled, role, KIM, password, scopes, secret): older tokens stop working.
ALTER TABLE users ADD COLUMN security_stamp BIGINT NOT NULL DEFAULT 1;
ALTER TABLE integration_clients ADD COLUMN security_stamp BIGINT NOT NULL DEFAULT 1;

-- Addresses an account has signed in from: failures of other accounts, or from other
-- addresses, do not lock it out from these.
CREATE TABLE known_sign_ins (
  account_key VARCHAR(80) NOT NULL,
  client_ip VARCHAR(64) NOT NULL,
  last_success_at TIMESTAMP NOT NULL,
  PRIMARY KEY (account_key, client_ip)
);

-- (PostgreSQL widens kims.name_key and kims.focus here; SQLite does not enforce
-- declared lengths.)
