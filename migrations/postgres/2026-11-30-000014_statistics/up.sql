-- GET /api/v1/stats/overview counts by period: resolutions, publications and
-- acknowledgements each read their range through an index.
CREATE INDEX reports_resolved_idx ON reports (resolved_at);
CREATE INDEX bulletins_published_idx ON bulletins (published_at);
CREATE INDEX bulletin_acknowledgements_created_idx ON bulletin_acknowledgements (created_at);
