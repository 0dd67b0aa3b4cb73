-- In what capacity an entry was written, kept as it was then (a user's role may change
-- later): the public timeline says whether the government, the KIM or a connected
-- system answered, without naming anyone.
ALTER TABLE report_timeline ADD COLUMN author_side VARCHAR(16) NOT NULL DEFAULT 'government'
  CHECK (author_side IN ('government', 'kim', 'integration'));
UPDATE report_timeline SET author_side = 'integration' WHERE author_client_id IS NOT NULL;
UPDATE report_timeline SET author_side = 'kim'
  WHERE author_id IN (SELECT id FROM users WHERE role IN ('kim_admin', 'kim_member'));
