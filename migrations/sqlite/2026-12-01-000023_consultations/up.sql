-- Policy consultations (SPEC §10): the government asks the KIMs of an audience
-- (addressed as bulletins are) a few questions for an open period; each KIM answers
-- once and may revise its answer until the consultation closes; the government then
-- publishes its response.
CREATE TABLE consultations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL,
  summary TEXT NOT NULL,
  -- The questions as JSON: [{"id", "text", "kind", "options"?, "required"}].
  questions TEXT NOT NULL,
  audience_scope TEXT NOT NULL
    CHECK (audience_scope IN ('public', 'all_kims', 'kecamatan', 'kelurahan', 'kims')),
  audience_codes TEXT NOT NULL DEFAULT '[]',
  audience_kim_ids TEXT NOT NULL DEFAULT '[]',
  opens_at TIMESTAMP NOT NULL,
  closes_at TIMESTAMP NOT NULL,
  -- `open` past `closes_at` is answered as `closed`.
  status TEXT NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'open', 'closed', 'concluded')),
  government_response TEXT,
  -- Active KIMs the audience matched when it opened (participation's denominator).
  kims_addressed INTEGER,
  created_by BIGINT REFERENCES users (id),
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  CHECK (closes_at > opens_at),
  CHECK ((status = 'concluded') = (government_response IS NOT NULL))
);
CREATE INDEX consultations_status_idx ON consultations (status, id);
CREATE INDEX consultations_created_by_idx ON consultations (created_by);

CREATE TABLE consultation_audience (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  consultation_id BIGINT NOT NULL REFERENCES consultations (id),
  region_code TEXT REFERENCES regions (code),
  kim_id BIGINT REFERENCES kims (id),
  CHECK ((region_code IS NULL) <> (kim_id IS NULL))
);
CREATE INDEX consultation_audience_region_idx ON consultation_audience (region_code, consultation_id);
CREATE INDEX consultation_audience_kim_idx ON consultation_audience (kim_id, consultation_id);
CREATE INDEX consultation_audience_consultation_idx ON consultation_audience (consultation_id);

-- A KIM's one response; `answers` as JSON [{"question_id", "value"}].
CREATE TABLE consultation_responses (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  consultation_id BIGINT NOT NULL REFERENCES consultations (id),
  kim_id BIGINT NOT NULL REFERENCES kims (id),
  answers TEXT NOT NULL,
  citizens_consulted INTEGER NOT NULL CHECK (citizens_consulted >= 0),
  submitted_by BIGINT REFERENCES users (id),
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  UNIQUE (consultation_id, kim_id)
);
CREATE INDEX consultation_responses_kim_idx ON consultation_responses (kim_id, created_at);
CREATE INDEX consultation_responses_submitted_by_idx ON consultation_responses (submitted_by);
