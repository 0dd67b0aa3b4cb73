CREATE TABLE attachments_narrowed (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_type TEXT NOT NULL CHECK (owner_type IN ('bulletin', 'report')),
  owner_id BIGINT NOT NULL,
  file_name TEXT NOT NULL,
  content_type TEXT NOT NULL
    CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
  size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
  sha256 TEXT NOT NULL,
  storage_key TEXT NOT NULL UNIQUE,
  uploaded_by BIGINT REFERENCES users (id),
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO attachments_narrowed
  SELECT * FROM attachments WHERE owner_type IN ('bulletin', 'report');
DROP TABLE attachments;
ALTER TABLE attachments_narrowed RENAME TO attachments;
CREATE INDEX attachments_owner_idx ON attachments (owner_type, owner_id, id);
DROP TABLE kim_activities;
