-- Uploads sent in pieces (tus 1.0) over networks that drop: each piece is stored as
-- an object under `tus/<upload id>/` before its row, so any instance continues an
-- upload another began. A complete upload is attached once, then goes with its pieces;
-- an unfinished or unattached one goes when it expires.
CREATE TABLE resumable_uploads (
  id VARCHAR(32) PRIMARY KEY,
  -- The account or integration client that created it (as idempotency keys name
  -- them); nobody else sees it.
  owner VARCHAR(80) NOT NULL,
  length BIGINT NOT NULL CHECK (length > 0),
  received BIGINT NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= length),
  file_name VARCHAR(255) NOT NULL,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
);
CREATE INDEX resumable_uploads_owner_idx ON resumable_uploads (owner);
CREATE INDEX resumable_uploads_expires_idx ON resumable_uploads (expires_at);

CREATE TABLE resumable_upload_chunks (
  upload_id VARCHAR(32) NOT NULL REFERENCES resumable_uploads (id) ON DELETE CASCADE,
  start_offset BIGINT NOT NULL CHECK (start_offset >= 0),
  size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
  storage_key VARCHAR(80) NOT NULL UNIQUE,
  PRIMARY KEY (upload_id, start_offset)
);
