-- Bulletin lists decide visibility from the index alone: the newest-first scan over
-- published bulletins reads scope and expiry from the index entry, and the audience
-- probe reads region and KIM from its index entry; only the rows of the page are
-- fetched from the table (benches/bulletins.sh).
CREATE INDEX bulletins_listing_idx ON bulletins (status, id, audience_scope, expires_at);
DROP INDEX bulletins_status_idx;
CREATE INDEX bulletin_audience_match_idx ON bulletin_audience (bulletin_id, region_code, kim_id);
DROP INDEX bulletin_audience_bulletin_idx;
