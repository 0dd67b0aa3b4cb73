-- Responses to creating POSTs, kept 24 h by (caller, Idempotency-Key) so a retried
-- request gets the first answer again instead of creating a second record.
CREATE TABLE idempotency_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  -- Keyed hash of method, path and body: the same key with another body is refused.
  request_hash TEXT NOT NULL,
  status_code INTEGER NOT NULL,
  -- The answer, encrypted (it may hold a secret shown once).
  response TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL,
  CONSTRAINT idempotency_keys_owner_key UNIQUE (owner, idempotency_key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
