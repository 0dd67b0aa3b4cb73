-- Members of KIMs (SPEC §5). NIK and phone are encrypted (AES-256-GCM); the NIK is
-- found through a keyed hash, and shown masked from a stored masked form.
CREATE TABLE kim_members (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kim_id BIGINT NOT NULL REFERENCES kims (id),
  full_name TEXT NOT NULL,
  nik_ciphertext TEXT NOT NULL,
  nik_hash TEXT NOT NULL,
  nik_masked TEXT NOT NULL,
  gender TEXT NOT NULL CHECK (gender IN ('male', 'female')),
  birth_date DATE NOT NULL,
  profession TEXT,
  position TEXT NOT NULL
    CHECK (position IN ('ketua', 'wakil_ketua', 'sekretaris', 'bendahara', 'anggota')),
  phone_ciphertext TEXT,
  email TEXT,
  joined_on DATE NOT NULL,
  left_on DATE,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left')),
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX kim_members_kim_idx ON kim_members (kim_id, id);
-- A person is an active member of one KIM at most; a KIM has one active ketua at most.
CREATE UNIQUE INDEX kim_members_one_active_nik ON kim_members (nik_hash) WHERE status = 'active';
CREATE UNIQUE INDEX kim_members_one_active_ketua ON kim_members (kim_id)
  WHERE status = 'active' AND position = 'ketua';
