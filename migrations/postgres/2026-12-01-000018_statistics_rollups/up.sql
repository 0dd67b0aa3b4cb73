-- GET /api/v1/stats/overview at a million reports: instead of reading every report of
-- the period, the dashboard reads counts per WIB day that triggers keep in step with
-- `reports`, in the same transaction as the change they count, whatever the writer.

-- Seconds from submission to the first government answer and to resolution, rounded
-- to whole seconds the way SQLite's migration rounds them, so medians agree.
ALTER TABLE reports
  ADD COLUMN first_response_seconds BIGINT
    GENERATED ALWAYS AS (round(EXTRACT(EPOCH FROM (first_response_at - created_at)))::bigint) STORED,
  ADD COLUMN resolution_seconds BIGINT
    GENERATED ALWAYS AS (round(EXTRACT(EPOCH FROM (resolved_at - created_at)))::bigint) STORED;
-- A median's exact value is looked up inside one histogram bucket of the period.
CREATE INDEX reports_first_response_seconds_idx ON reports (first_response_seconds, created_at);
CREATE INDEX reports_resolution_seconds_idx ON reports (resolution_seconds, created_at);

-- Reports per WIB day: dimensions `status`, `kind`, `category` and `kecamatan` count
-- them by the day they were submitted (each report once per dimension); `resolved`
-- (code '') counts them by the day they were resolved.
CREATE TABLE report_day_counts (
  day DATE NOT NULL,
  dimension VARCHAR(16) NOT NULL,
  code VARCHAR(64) NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (day, dimension, code)
);

-- Durations of the reports submitted on a WIB day, as a histogram whose buckets are
-- the number of digits and the two leading digits (at most 10% wide), so a day holds
-- a few hundred rows whatever its volume. `measure` is `first_response` or `resolution`.
CREATE TABLE report_duration_counts (
  measure VARCHAR(16) NOT NULL,
  day DATE NOT NULL,
  bucket INTEGER NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (measure, day, bucket)
);

CREATE FUNCTION report_wib_day(at TIMESTAMP) RETURNS DATE
  LANGUAGE sql IMMUTABLE AS $$ SELECT (at + interval '7 hours')::date $$;

-- STRICT: no duration, no bucket (GREATEST alone would put NULL in the bucket of 0).
CREATE FUNCTION report_duration_bucket(seconds BIGINT) RETURNS INTEGER
  LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT length(GREATEST(seconds, 0)::text) * 100 + left(GREATEST(seconds, 0)::text, 2)::integer
  $$;

-- Moves one count from an old key to a new one (either may be NULL: nothing there).
-- The smaller key is locked first, so two moves between the same keys cannot deadlock.
CREATE FUNCTION report_day_count_move(
  dimension_moved TEXT, old_day DATE, old_code TEXT, new_day DATE, new_code TEXT
) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  IF (old_day, old_code) IS NOT DISTINCT FROM (new_day, new_code) THEN
    RETURN;
  END IF;
  INSERT INTO report_day_counts AS counts (day, dimension, code, n)
  SELECT moved.day, dimension_moved, moved.code, moved.n
  FROM (VALUES (old_day, old_code, -1), (new_day, new_code, 1)) AS moved (day, code, n)
  WHERE moved.day IS NOT NULL AND moved.code IS NOT NULL
  ORDER BY moved.day, moved.code
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = counts.n + EXCLUDED.n;
END $$;

CREATE FUNCTION report_duration_count_move(
  measure_moved TEXT, old_day DATE, old_seconds BIGINT, new_day DATE, new_seconds BIGINT
) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  IF (old_day, report_duration_bucket(old_seconds))
     IS NOT DISTINCT FROM (new_day, report_duration_bucket(new_seconds)) THEN
    RETURN;
  END IF;
  INSERT INTO report_duration_counts AS counts (measure, day, bucket, n)
  SELECT measure_moved, moved.day, moved.bucket, moved.n
  FROM (VALUES (old_day, report_duration_bucket(old_seconds), -1),
               (new_day, report_duration_bucket(new_seconds), 1)) AS moved (day, bucket, n)
  WHERE moved.day IS NOT NULL AND moved.bucket IS NOT NULL
  ORDER BY moved.day, moved.bucket
  ON CONFLICT (measure, day, bucket) DO UPDATE SET n = counts.n + EXCLUDED.n;
END $$;

CREATE FUNCTION reports_keep_counts() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  before reports;
  after reports;
  before_day DATE;
  after_day DATE;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    before := OLD;
    before_day := report_wib_day(OLD.created_at);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    after := NEW;
    after_day := report_wib_day(NEW.created_at);
  END IF;
  PERFORM report_day_count_move('status', before_day, before.status, after_day, after.status);
  PERFORM report_day_count_move('kind', before_day, before.kind, after_day, after.kind);
  PERFORM report_day_count_move('category', before_day, before.category_code, after_day, after.category_code);
  PERFORM report_day_count_move('kecamatan', before_day, before.kecamatan_code, after_day, after.kecamatan_code);
  PERFORM report_day_count_move('resolved', report_wib_day(before.resolved_at), '',
                                report_wib_day(after.resolved_at), '');
  PERFORM report_duration_count_move('first_response', before_day, before.first_response_seconds,
                                     after_day, after.first_response_seconds);
  PERFORM report_duration_count_move('resolution', before_day, before.resolution_seconds,
                                     after_day, after.resolution_seconds);
  RETURN NULL;
END $$;

CREATE TRIGGER reports_keep_counts
  AFTER INSERT OR DELETE OR UPDATE OF created_at, status, kind, category_code, kecamatan_code,
    first_response_at, resolved_at
  ON reports FOR EACH ROW EXECUTE FUNCTION reports_keep_counts();

-- The counts of the reports already stored.
INSERT INTO report_day_counts (day, dimension, code, n)
SELECT report_wib_day(created_at), 'status', status, COUNT(*) FROM reports GROUP BY 1, 3
UNION ALL
SELECT report_wib_day(created_at), 'kind', kind, COUNT(*) FROM reports GROUP BY 1, 3
UNION ALL
SELECT report_wib_day(created_at), 'category', category_code, COUNT(*) FROM reports GROUP BY 1, 3
UNION ALL
SELECT report_wib_day(created_at), 'kecamatan', kecamatan_code, COUNT(*) FROM reports GROUP BY 1, 3
UNION ALL
SELECT report_wib_day(resolved_at), 'resolved', '', COUNT(*) FROM reports
  WHERE resolved_at IS NOT NULL GROUP BY 1;

INSERT INTO report_duration_counts (measure, day, bucket, n)
SELECT 'first_response', report_wib_day(created_at), report_duration_bucket(first_response_seconds), COUNT(*)
  FROM reports WHERE first_response_seconds IS NOT NULL GROUP BY 2, 3
UNION ALL
SELECT 'resolution', report_wib_day(created_at), report_duration_bucket(resolution_seconds), COUNT(*)
  FROM reports WHERE resolution_seconds IS NOT NULL GROUP BY 2, 3;
