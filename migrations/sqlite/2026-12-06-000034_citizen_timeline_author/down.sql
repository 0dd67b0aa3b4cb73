-- A citizen who follows a report by e-mail may reopen it by its feedback: such a
-- timeline entry by a `citizen` goes again (down). SQLite cannot change a CHECK in place: the
-- table is made again (nothing references it).
DELETE FROM report_timeline WHERE author_side = 'citizen';
CREATE TABLE report_timeline_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  report_id BIGINT NOT NULL REFERENCES reports (id),
  entry_type TEXT NOT NULL CHECK (entry_type IN ('status', 'comment')),
  visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
  from_status TEXT,
  to_status TEXT,
  body TEXT,
  assigned_agency TEXT,
  author_id BIGINT REFERENCES users (id),
  author_client_id BIGINT REFERENCES integration_clients (id),
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  author_side VARCHAR(16) NOT NULL DEFAULT 'government'
    CHECK (author_side IN ('government', 'kim', 'integration')),
  CHECK ((entry_type = 'status') = (to_status IS NOT NULL)),
  CHECK (entry_type = 'status' OR body IS NOT NULL)
);
INSERT INTO report_timeline_new (id, report_id, entry_type, visibility, from_status, to_status,
  body, assigned_agency, author_id, author_client_id, created_at, author_side)
SELECT id, report_id, entry_type, visibility, from_status, to_status, body, assigned_agency,
  author_id, author_client_id, created_at, author_side FROM report_timeline;
DROP TABLE report_timeline;
ALTER TABLE report_timeline_new RENAME TO report_timeline;
CREATE INDEX report_timeline_report_idx ON report_timeline (report_id, id);
