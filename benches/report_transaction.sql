-- The database's share of one report submission: the statements the service sends for
-- POST /api/v1/reports with an Idempotency-Key, in its order, replayed by pgbench
-- without the service (benches/reports.sh). Values vary where a unique index needs it.
\set kim random(1, 16)
\set nonce random(1, 9000000000000000000)
BEGIN;
SELECT request_hash, response FROM idempotency_keys
  WHERE owner = 'user:' || :kim::text AND idempotency_key = 'pgb-' || :nonce::text AND expires_at > now() LIMIT 1;
SELECT id FROM idempotency_keys WHERE expires_at <= now() ORDER BY expires_at LIMIT 16;
INSERT INTO idempotency_keys (owner, idempotency_key, request_hash, status_code, response, created_at, expires_at)
  VALUES ('user:' || :kim::text, 'pgb-' || :nonce::text, md5(:nonce::text) || md5(:kim::text), 0, '', now(), now() + interval '1 day')
  RETURNING id \gset idem_
SELECT status FROM kims WHERE id = :kim LIMIT 1 FOR UPDATE;
SELECT (SELECT active FROM report_categories WHERE code = 'infrastruktur' LIMIT 1),
       (SELECT parent_code FROM regions WHERE code = '18.72.01.1001' AND level = 'kelurahan' LIMIT 1);
SELECT day FROM holidays WHERE day > current_date AND day <= current_date + 400;
SELECT count(*) FROM reports WHERE tracking_code = 'PGB' || (:nonce::bigint % 9000000000000)::text;
SELECT nextval('sync_reports_seq') AS seq \gset
INSERT INTO reports (tracking_code, kind, category_code, title, description, search_key, kelurahan_code,
    kecamatan_code, address, latitude, longitude, reporter_name, reporter_contact, privacy, kim_id,
    submitted_by, submitted_by_client, channel, verify_due_at, created_at, updated_at, change_seq)
  VALUES ('PGB' || (:nonce::bigint % 9000000000000)::text, 'complaint', 'infrastruktur', 'Lampu jalan padam',
    'Lampu penerangan di depan balai RW padam sejak pekan lalu.',
    'lampu jalan padam lampu penerangan di depan balai rw padam sejak pekan lalu.', '18.72.01.1001',
    '18.72.01', NULL, -5.1131, 105.3067, 'Siti Rahayu',
    'v1' || chr(58) || '8kHI1Bxa1MZpXTypfszxQdW2VlmHXPSTXTZDdqfIz3bKS2O2ndfc2fqt', 'normal', :kim,
    (SELECT min(id) FROM users), NULL, 'kim', now() + interval '3 days', now(), now(), :seq)
  RETURNING * \gset report_
INSERT INTO report_timeline (report_id, entry_type, visibility, from_status, to_status, body, assigned_agency,
    author_id, author_client_id, author_side, created_at)
  VALUES (:report_id, 'status', 'public', NULL, 'submitted', NULL, NULL, :report_submitted_by, NULL, 'kim', now())
  RETURNING *;
INSERT INTO audit_log (occurred_at, actor_type, actor_id, action, target_type, target_id, request_id, client_ip, detail)
  VALUES (now(), 'user', :report_submitted_by, 'report.created', 'report', :report_id,
    '97281d1b-16b4-410a-85fa-e7901d4b248d', '127.0.0.1', NULL);
INSERT INTO outbox_events (event_type, aggregate_type, aggregate_id, payload, request_id, created_at)
  VALUES ('report.created', 'report', :report_id,
    '{"category_code":"infrastruktur","id":' || :report_id::text || ',"kim_id":' || :kim::text || ',"status":"submitted"}',
    '97281d1b-16b4-410a-85fa-e7901d4b248d', now());
UPDATE idempotency_keys SET status_code = 201, response = repeat('v1' || chr(58) || 'RypOSlYqIeSgzRlCY2FPmm3DVgpnmd0VvRjw', 40)
  WHERE id = :idem_id;
COMMIT;
