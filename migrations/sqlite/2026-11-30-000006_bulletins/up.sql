-- Information bulletins (SPEC §6). The audience is kept twice on purpose: as shown
-- (scope and JSON lists on the bulletin) and as rows that audience matching joins on
-- indexes (one row per addressed region or KIM).
CREATE TABLE bulletins (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  origin TEXT NOT NULL CHECK (origin IN ('government', 'kim')),
  origin_kim_id BIGINT REFERENCES kims (id),
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  -- Title and body lower-cased by the service, so `q` matches alike on both databases.
  search_key TEXT NOT NULL,
  category TEXT NOT NULL CHECK (category IN ('umum', 'pemerintahan', 'kesehatan',
    'pendidikan', 'ekonomi', 'infrastruktur', 'keamanan', 'bencana', 'sosial', 'literasi',
    'lainnya')),
  priority TEXT NOT NULL CHECK (priority IN ('normal', 'important', 'urgent')),
  audience_scope TEXT NOT NULL
    CHECK (audience_scope IN ('public', 'all_kims', 'kecamatan', 'kelurahan', 'kims')),
  audience_codes TEXT NOT NULL DEFAULT '[]',
  audience_kim_ids TEXT NOT NULL DEFAULT '[]',
  -- `deleted`: a deleted draft, kept as an empty row so that sync can tell the apps
  -- that saw it to drop it.
  status TEXT NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'published', 'archived', 'deleted')),
  published_at TIMESTAMP,
  expires_at TIMESTAMP,
  author_id BIGINT REFERENCES users (id),
  -- Active KIMs the audience matched when published (the denominator of the reach rate).
  kims_addressed INTEGER,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  version BIGINT NOT NULL DEFAULT 1,
  -- Position in the commit order of bulletin changes (see sync_counters).
  change_seq BIGINT NOT NULL DEFAULT 0,
  CHECK ((origin = 'kim') = (origin_kim_id IS NOT NULL)),
  CHECK ((status IN ('draft', 'deleted')) = (published_at IS NULL))
);
CREATE INDEX bulletins_status_idx ON bulletins (status, id);
CREATE INDEX bulletins_origin_kim_idx ON bulletins (origin_kim_id, id);
CREATE INDEX bulletins_change_idx ON bulletins (change_seq);
CREATE INDEX bulletins_expiry_idx ON bulletins (expires_at);

-- Incremental sync (SPEC §1): each change of a synced resource takes the next value of
-- its counter. Taking it locks the counter row until commit, so changes commit in the
-- order of their values and a reader never sees value n+1 before n.
CREATE TABLE sync_counters (
  name TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO sync_counters (name, value) VALUES ('bulletins', 0), ('reports', 0);

CREATE TABLE bulletin_audience (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  bulletin_id BIGINT NOT NULL REFERENCES bulletins (id),
  region_code TEXT REFERENCES regions (code),
  kim_id BIGINT REFERENCES kims (id),
  CHECK ((region_code IS NULL) <> (kim_id IS NULL))
);
CREATE INDEX bulletin_audience_region_idx ON bulletin_audience (region_code, bulletin_id);
CREATE INDEX bulletin_audience_kim_idx ON bulletin_audience (kim_id, bulletin_id);
CREATE INDEX bulletin_audience_bulletin_idx ON bulletin_audience (bulletin_id);

CREATE TABLE bulletin_acknowledgements (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  bulletin_id BIGINT NOT NULL REFERENCES bulletins (id),
  kim_id BIGINT NOT NULL REFERENCES kims (id),
  reach INTEGER NOT NULL CHECK (reach >= 0),
  note TEXT,
  acknowledged_by BIGINT REFERENCES users (id),
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (bulletin_id, kim_id)
);
CREATE INDEX bulletin_acknowledgements_kim_idx ON bulletin_acknowledgements (kim_id, bulletin_id);
