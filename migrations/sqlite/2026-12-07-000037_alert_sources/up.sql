-- Early warnings in (SPEC §12): the CAP sources a gov_admin registered, polled by one
-- instance at a time (the lease), with what each source last answered for conditional
-- requests.
CREATE TABLE alert_sources (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  url TEXT NOT NULL,
  poll_interval_secs INTEGER NOT NULL CHECK (poll_interval_secs BETWEEN 60 AND 86400),
  min_severity TEXT NOT NULL
    CHECK (min_severity IN ('extreme', 'severe', 'moderate', 'minor', 'unknown')),
  mode TEXT NOT NULL CHECK (mode IN ('draft', 'publish')),
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_by BIGINT REFERENCES users (id),
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  next_poll_at TIMESTAMP NOT NULL,
  lease_token TEXT,
  lease_until TIMESTAMP,
  etag TEXT,
  last_modified TEXT
);
CREATE INDEX alert_sources_due_idx ON alert_sources (next_poll_at) WHERE active;

-- One row per poll: what the source answered and what became of each alert it listed
-- (`items`, JSON: identifier or URL, outcome, reason). Kept for 30 days.
CREATE TABLE alert_polls (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source_id BIGINT NOT NULL REFERENCES alert_sources (id) ON DELETE CASCADE,
  polled_at TIMESTAMP NOT NULL,
  http_status INTEGER,
  outcome TEXT NOT NULL CHECK (outcome IN ('fetched', 'not_modified', 'failed')),
  error TEXT,
  alerts_seen INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL DEFAULT 0,
  archived INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  items TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX alert_polls_source_idx ON alert_polls (source_id, id);

-- Every CAP message taken in, by its sender and identifier (CAP's key for a message):
-- one message makes at most one bulletin, and a later Update or Cancel finds its
-- bulletin through the messages it references.
CREATE TABLE incoming_alerts (
  sender TEXT NOT NULL,
  identifier TEXT NOT NULL,
  source_id BIGINT REFERENCES alert_sources (id) ON DELETE SET NULL,
  bulletin_id BIGINT REFERENCES bulletins (id),
  received_at TIMESTAMP NOT NULL,
  PRIMARY KEY (sender, identifier)
);
CREATE INDEX incoming_alerts_bulletin_idx ON incoming_alerts (bulletin_id);

-- A bulletin made from an incoming alert: its source and the alert's first identifier.
ALTER TABLE bulletins ADD COLUMN alert_source_id BIGINT REFERENCES alert_sources (id) ON DELETE SET NULL;
ALTER TABLE bulletins ADD COLUMN cap_identifier TEXT;
