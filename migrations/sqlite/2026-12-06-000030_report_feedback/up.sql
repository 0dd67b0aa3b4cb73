-- Whether those who reported are satisfied with a resolution (SPEC §11): one answer per
-- respondent per report, given within ten days of the resolution.
CREATE TABLE report_feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  report_id BIGINT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  -- `user:<id>`, or a citizen's subscription (`subscription:<id>`).
  respondent VARCHAR(40) NOT NULL,
  satisfied BOOLEAN NOT NULL,
  comment VARCHAR(4000),
  created_at TIMESTAMP NOT NULL,
  UNIQUE (report_id, respondent)
);
CREATE INDEX report_feedback_created_idx ON report_feedback (created_at);
