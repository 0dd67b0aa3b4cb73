-- The smaller copies of an image attachment for slow networks ('thumb', 'preview'),
-- made at upload. Each lives in the store as `<storage_key>-<variant>`; its row is
-- its only way in, and goes with its attachment's (deleted explicitly: SQLite
-- enforces foreign keys only when asked).
CREATE TABLE attachment_variants (
  attachment_id BIGINT NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
  variant TEXT NOT NULL CHECK (variant IN ('thumb', 'preview')),
  content_type TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
  width INTEGER NOT NULL CHECK (width > 0),
  height INTEGER NOT NULL CHECK (height > 0),
  size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
  sha256 TEXT NOT NULL,
  PRIMARY KEY (attachment_id, variant)
);
