-- A report that passes a service-level due date without the next step is escalated
-- once per due date (SPEC §11): the key is the guard, so instances running the check
-- at the same time escalate it once between them.
CREATE TABLE report_escalations (
  report_id BIGINT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  due_at TIMESTAMP NOT NULL,
  escalated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (report_id, due_at)
);
