-- Mentoring sessions (SPEC §10): the government plans them for an audience of KIMs
-- (addressed as bulletins are), kim_admins nominate members of their KIM, and the
-- government records who attended.
CREATE TABLE mentoring_sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL,
  kind TEXT NOT NULL
    CHECK (kind IN ('pendampingan', 'pelatihan', 'sosialisasi', 'rapat_koordinasi')),
  topic TEXT NOT NULL
    CHECK (topic IN ('literasi_digital', 'literasi_media', 'jurnalistik_warga',
      'pengelolaan_informasi', 'tik', 'ekonomi_kreatif', 'kelembagaan', 'lainnya')),
  starts_at TIMESTAMP NOT NULL,
  ends_at TIMESTAMP NOT NULL,
  location TEXT NOT NULL,
  audience_scope TEXT NOT NULL
    CHECK (audience_scope IN ('public', 'all_kims', 'kecamatan', 'kelurahan', 'kims')),
  audience_codes TEXT NOT NULL DEFAULT '[]',
  audience_kim_ids TEXT NOT NULL DEFAULT '[]',
  capacity INTEGER NOT NULL CHECK (capacity > 0),
  -- Seats taken. A nomination takes one only through a conditional
  -- `UPDATE … SET nominated = nominated + 1 WHERE nominated < capacity`, so racing
  -- nominations cannot overfill a session; the CHECK is the last guard.
  nominated INTEGER NOT NULL DEFAULT 0 CHECK (nominated >= 0 AND nominated <= capacity),
  status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'held', 'cancelled')),
  created_by BIGINT REFERENCES users (id),
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  CHECK (ends_at > starts_at)
);
CREATE INDEX mentoring_sessions_starts_idx ON mentoring_sessions (starts_at, id);
CREATE INDEX mentoring_sessions_created_by_idx ON mentoring_sessions (created_by);

CREATE TABLE mentoring_session_audience (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id BIGINT NOT NULL REFERENCES mentoring_sessions (id),
  region_code TEXT REFERENCES regions (code),
  kim_id BIGINT REFERENCES kims (id),
  CHECK ((region_code IS NULL) <> (kim_id IS NULL))
);
CREATE INDEX mentoring_session_audience_region_idx ON mentoring_session_audience (region_code, session_id);
CREATE INDEX mentoring_session_audience_kim_idx ON mentoring_session_audience (kim_id, session_id);
CREATE INDEX mentoring_session_audience_session_idx ON mentoring_session_audience (session_id);

-- A member nominated for a session, and after it whether they attended (NULL: not
-- yet recorded).
CREATE TABLE mentoring_participants (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id BIGINT NOT NULL REFERENCES mentoring_sessions (id),
  kim_id BIGINT NOT NULL REFERENCES kims (id),
  member_id BIGINT NOT NULL REFERENCES kim_members (id),
  nominated_by BIGINT REFERENCES users (id),
  nominated_at TIMESTAMP NOT NULL,
  attended BOOLEAN,
  attendance_recorded_at TIMESTAMP,
  UNIQUE (session_id, member_id)
);
CREATE INDEX mentoring_participants_session_idx ON mentoring_participants (session_id, id);
CREATE INDEX mentoring_participants_kim_idx ON mentoring_participants (kim_id, session_id);
CREATE INDEX mentoring_participants_member_idx ON mentoring_participants (member_id);
CREATE INDEX mentoring_participants_nominated_by_idx ON mentoring_participants (nominated_by);
