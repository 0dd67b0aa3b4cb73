-- The KIM registry (SPEC §4). Accounts of KIM boards and members point here.
CREATE TABLE kims (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  registration_code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  -- Lower-cased name, for case-insensitive search.
  name_key TEXT NOT NULL,
  kelurahan_code TEXT NOT NULL REFERENCES regions (code),
  kecamatan_code TEXT NOT NULL REFERENCES regions (code),
  area_type TEXT NOT NULL CHECK (area_type IN ('urban', 'rural')),
  address TEXT,
  description TEXT,
  -- Topic tags as a JSON array of strings.
  focus TEXT NOT NULL DEFAULT '[]',
  contact_phone TEXT,
  contact_email TEXT,
  status TEXT NOT NULL DEFAULT 'proposed'
    CHECK (status IN ('proposed', 'active', 'inactive', 'dissolved')),
  sk_number TEXT,
  sk_date DATE,
  established_on DATE,
  -- Kept by the member transactions; the CHECK is the last guard of the 30 rule.
  active_member_count INTEGER NOT NULL DEFAULT 0
    CHECK (active_member_count BETWEEN 0 AND 30),
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX kims_status_idx ON kims (status, id);
CREATE INDEX kims_kecamatan_idx ON kims (kecamatan_code, id);
CREATE INDEX kims_kelurahan_idx ON kims (kelurahan_code, id);

-- Registration-code sequences, one per kota prefix (KIM-1872-0001, …).
CREATE TABLE registration_counters (
  prefix TEXT PRIMARY KEY,
  last_value INTEGER NOT NULL
);

-- Every lifecycle move of a KIM: who, when, why, under which SK.
CREATE TABLE kim_status_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kim_id BIGINT NOT NULL REFERENCES kims (id),
  from_status TEXT,
  to_status TEXT NOT NULL,
  reason TEXT NOT NULL,
  sk_number TEXT,
  sk_date DATE,
  changed_by BIGINT,
  changed_at TIMESTAMP NOT NULL,
  request_id TEXT
);
CREATE INDEX kim_status_changes_kim_idx ON kim_status_changes (kim_id, id);

CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL,
  -- Lower-cased username: uniqueness ignores case.
  username_key TEXT NOT NULL UNIQUE,
  display_name TEXT,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('gov_admin', 'gov_officer', 'kim_admin', 'kim_member')),
  kim_id BIGINT REFERENCES kims (id),
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  version BIGINT NOT NULL DEFAULT 1,
  CHECK ((role IN ('kim_admin', 'kim_member')) = (kim_id IS NOT NULL))
);
CREATE INDEX users_kim_id_idx ON users (kim_id, id);
CREATE INDEX users_role_idx ON users (role, id);

-- Opaque refresh tokens, stored as SHA-256 hashes, rotated on use, grouped in families.
CREATE TABLE refresh_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash TEXT NOT NULL UNIQUE,
  family_id TEXT NOT NULL,
  user_id BIGINT NOT NULL REFERENCES users (id),
  issued_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL,
  used_at TIMESTAMP,
  revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE integration_clients (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  client_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  -- Granted scopes, space-separated as in OAuth.
  scopes TEXT NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  version BIGINT NOT NULL DEFAULT 1
);

-- Failed sign-ins, for throttling across instances that share the database.
CREATE TABLE login_failures (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_key TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  failed_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_account_idx ON login_failures (account_key, failed_at);
CREATE INDEX login_failures_ip_idx ON login_failures (client_ip, failed_at);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  occurred_at TIMESTAMP NOT NULL,
  actor_type TEXT NOT NULL CHECK (actor_type IN ('user', 'client', 'anonymous', 'system')),
  actor_id TEXT,
  action TEXT NOT NULL,
  target_type TEXT,
  target_id TEXT,
  request_id TEXT,
  client_ip TEXT,
  detail TEXT
);
CREATE INDEX audit_log_occurred_idx ON audit_log (occurred_at, id);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id);
