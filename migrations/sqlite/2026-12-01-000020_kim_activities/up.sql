-- What a KIM did in its community (SPEC §10): socialisations, discussions, coverage,
-- information services, economic activities; written by its own kim_admin or gov.
CREATE TABLE kim_activities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kim_id BIGINT NOT NULL REFERENCES kims (id),
  held_on DATE NOT NULL,
  kind TEXT NOT NULL
    CHECK (kind IN ('sosialisasi', 'diskusi', 'pelatihan', 'liputan', 'layanan_informasi',
      'usaha_ekonomi', 'lainnya')),
  title TEXT NOT NULL,
  description TEXT,
  location TEXT,
  participants INTEGER NOT NULL CHECK (participants >= 0),
  reach INTEGER NOT NULL CHECK (reach >= 0),
  -- A bulletin addressed to the KIM that the activity passed on.
  bulletin_id BIGINT REFERENCES bulletins (id),
  created_by BIGINT REFERENCES users (id),
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  version BIGINT NOT NULL DEFAULT 1
);
-- A KIM's activities newest first, and engagement's counts over a period.
CREATE INDEX kim_activities_kim_idx ON kim_activities (kim_id, held_on, id);
CREATE INDEX kim_activities_bulletin_idx ON kim_activities (bulletin_id);
CREATE INDEX kim_activities_created_by_idx ON kim_activities (created_by);

-- Activities (photos) and, later, consultations own files too. SQLite changes a
-- CHECK only by rebuilding the table; nothing references attachments.
CREATE TABLE attachments_widened (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_type TEXT NOT NULL CHECK (owner_type IN ('bulletin', 'report', 'activity', 'consultation')),
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
INSERT INTO attachments_widened SELECT * FROM attachments;
DROP TABLE attachments;
ALTER TABLE attachments_widened RENAME TO attachments;
CREATE INDEX attachments_owner_idx ON attachments (owner_type, owner_id, id);
