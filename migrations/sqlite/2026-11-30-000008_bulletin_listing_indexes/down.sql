CREATE INDEX bulletin_audience_bulletin_idx ON bulletin_audience (bulletin_id);
DROP INDEX bulletin_audience_match_idx;
CREATE INDEX bulletins_status_idx ON bulletins (status, id);
DROP INDEX bulletins_listing_idx;
