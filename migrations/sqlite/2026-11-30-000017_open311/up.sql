-- Open311 GeoReport v2 (SPEC §8). API keys of integration clients holding
-- reports:write, shown once and kept as a SHA-256 hash.
CREATE TABLE integration_api_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  client_id BIGINT NOT NULL REFERENCES integration_clients (id) ON DELETE CASCADE,
  key_hash TEXT NOT NULL UNIQUE,
  created_by BIGINT REFERENCES users (id),
  created_at TIMESTAMP NOT NULL,
  last_used_at TIMESTAMP
);
CREATE INDEX integration_api_keys_client_idx ON integration_api_keys (client_id, id);

-- The `media_url` an Open311 client sent with a request.
CREATE TABLE report_media_urls (
  report_id BIGINT PRIMARY KEY REFERENCES reports (id) ON DELETE CASCADE,
  media_url TEXT NOT NULL
);
