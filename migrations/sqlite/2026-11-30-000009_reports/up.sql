-- Citizen reports (SPEC §7) and the public holidays of their service-level calendar.

-- Days that are not working days besides weekends (Asia/Jakarta), kept by gov_admin.
CREATE TABLE holidays (
  day DATE PRIMARY KEY,
  name TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  -- Without dashes, upper case: `MTR` and eight characters of an unambiguous alphabet.
  tracking_code TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL
    CHECK (kind IN ('aspiration', 'complaint', 'question', 'information')),
  category_code TEXT NOT NULL REFERENCES report_categories (code),
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  -- Title and description lower-cased by the service, so `q` matches alike on both
  -- databases.
  search_key TEXT NOT NULL,
  kelurahan_code TEXT NOT NULL REFERENCES regions (code),
  kecamatan_code TEXT NOT NULL REFERENCES regions (code),
  address TEXT,
  latitude REAL,
  longitude REAL,
  reporter_name TEXT,
  -- Encrypted at rest (PersonalDataCipher), like members' phone numbers.
  reporter_contact TEXT,
  privacy TEXT NOT NULL CHECK (privacy IN ('normal', 'anonymous', 'confidential')),
  kim_id BIGINT REFERENCES kims (id),
  submitted_by BIGINT REFERENCES users (id),
  submitted_by_client BIGINT REFERENCES integration_clients (id),
  channel TEXT NOT NULL CHECK (channel IN ('kim', 'integration', 'open311')),
  status TEXT NOT NULL DEFAULT 'submitted'
    CHECK (status IN ('submitted', 'verified', 'in_progress', 'resolved', 'rejected')),
  assigned_agency TEXT,
  verify_due_at TIMESTAMP NOT NULL,
  response_due_at TIMESTAMP,
  verified_at TIMESTAMP,
  first_response_at TIMESTAMP,
  resolved_at TIMESTAMP,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  version BIGINT NOT NULL DEFAULT 1,
  -- Position in the commit order of report changes (see sync_counters).
  change_seq BIGINT NOT NULL DEFAULT 0,
  CHECK ((latitude IS NULL) = (longitude IS NULL)),
  CHECK ((channel = 'kim') = (kim_id IS NOT NULL)),
  CHECK ((submitted_by IS NULL) <> (submitted_by_client IS NULL))
);
-- Lists page newest first on (created_at, id), whole or per KIM, status or region.
CREATE INDEX reports_created_idx ON reports (created_at, id);
CREATE INDEX reports_kim_idx ON reports (kim_id, created_at, id);
CREATE INDEX reports_status_idx ON reports (status, created_at, id);
CREATE INDEX reports_kecamatan_idx ON reports (kecamatan_code, created_at, id);
CREATE INDEX reports_kelurahan_idx ON reports (kelurahan_code, created_at, id);
-- Overdue: submitted past verify_due_at, or verified past response_due_at.
CREATE INDEX reports_verify_due_idx ON reports (status, verify_due_at);
CREATE INDEX reports_response_due_idx ON reports (status, response_due_at);
CREATE INDEX reports_change_idx ON reports (change_seq);

-- One ordered timeline per report: status changes and comments.
CREATE TABLE report_timeline (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  report_id BIGINT NOT NULL REFERENCES reports (id),
  entry_type TEXT NOT NULL CHECK (entry_type IN ('status', 'comment')),
  -- `internal` entries are for government users only.
  visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
  from_status TEXT,
  to_status TEXT,
  body TEXT,
  assigned_agency TEXT,
  author_id BIGINT REFERENCES users (id),
  author_client_id BIGINT REFERENCES integration_clients (id),
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CHECK ((entry_type = 'status') = (to_status IS NOT NULL)),
  CHECK (entry_type = 'status' OR body IS NOT NULL)
);
CREATE INDEX report_timeline_report_idx ON report_timeline (report_id, id);
