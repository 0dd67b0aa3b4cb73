-- Every audience a bulletin was ever published to, one key per scope, region or KIM
-- ('public', 'all_kims', 'region:18.72.01', 'kim:5'). Sync answers a removal only to a
-- caller one of these keys took in: a bulletin the caller never saw (another KIM's
-- draft, an audience that never included it) is not its business, even as an id.
CREATE TABLE bulletin_seen_by (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  bulletin_id BIGINT NOT NULL REFERENCES bulletins (id),
  audience_key TEXT NOT NULL
);
CREATE UNIQUE INDEX bulletin_seen_by_key_idx ON bulletin_seen_by (bulletin_id, audience_key);

INSERT INTO bulletin_seen_by (bulletin_id, audience_key)
  SELECT id, audience_scope FROM bulletins
  WHERE published_at IS NOT NULL AND audience_scope IN ('public', 'all_kims');
INSERT INTO bulletin_seen_by (bulletin_id, audience_key)
  SELECT a.bulletin_id, 'region:' || a.region_code
  FROM bulletin_audience a JOIN bulletins b ON b.id = a.bulletin_id
  WHERE b.published_at IS NOT NULL AND a.region_code IS NOT NULL;
INSERT INTO bulletin_seen_by (bulletin_id, audience_key)
  SELECT a.bulletin_id, 'kim:' || a.kim_id
  FROM bulletin_audience a JOIN bulletins b ON b.id = a.bulletin_id
  WHERE b.published_at IS NOT NULL AND a.kim_id IS NOT NULL;
