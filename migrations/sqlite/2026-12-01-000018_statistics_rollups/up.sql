-- GET /api/v1/stats/overview at a million reports: instead of reading every report of
-- the period, the dashboard reads counts per WIB day that triggers keep in step with
-- `reports`, in the same transaction as the change they count, whatever the writer.
-- The PostgreSQL migration of the same name holds the same counts.

-- Seconds from submission to the first government answer and to resolution, rounded
-- to whole seconds the way PostgreSQL's migration rounds them, so medians agree.
ALTER TABLE reports ADD COLUMN first_response_seconds INTEGER
  GENERATED ALWAYS AS (CAST(round((julianday(first_response_at) - julianday(created_at)) * 86400.0) AS INTEGER)) VIRTUAL;
ALTER TABLE reports ADD COLUMN resolution_seconds INTEGER
  GENERATED ALWAYS AS (CAST(round((julianday(resolved_at) - julianday(created_at)) * 86400.0) AS INTEGER)) VIRTUAL;
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
) WITHOUT ROWID;

-- Durations of the reports submitted on a WIB day, as a histogram whose buckets are
-- the number of digits and the two leading digits (at most 10% wide), so a day holds
-- a few hundred rows whatever its volume. `measure` is `first_response` or `resolution`.
CREATE TABLE report_duration_counts (
  measure VARCHAR(16) NOT NULL,
  day DATE NOT NULL,
  bucket INTEGER NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (measure, day, bucket)
) WITHOUT ROWID;

-- Each statement moves one count; those whose key did not change are skipped.
CREATE TRIGGER reports_counted_on_insert AFTER INSERT ON reports BEGIN
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(NEW.created_at, '+7 hours'), 'status', NEW.status, 1 WHERE true
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(NEW.created_at, '+7 hours'), 'kind', NEW.kind, 1 WHERE true
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(NEW.created_at, '+7 hours'), 'category', NEW.category_code, 1 WHERE true
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(NEW.created_at, '+7 hours'), 'kecamatan', NEW.kecamatan_code, 1 WHERE true
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(NEW.resolved_at, '+7 hours'), 'resolved', '', 1 WHERE NEW.resolved_at IS NOT NULL
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_duration_counts (measure, day, bucket, n)
  SELECT 'first_response', date(NEW.created_at, '+7 hours'), length(CAST(max(NEW.first_response_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(NEW.first_response_seconds, 0) AS TEXT), 1, 2) AS INTEGER), 1 WHERE NEW.first_response_seconds IS NOT NULL
  ON CONFLICT (measure, day, bucket) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_duration_counts (measure, day, bucket, n)
  SELECT 'resolution', date(NEW.created_at, '+7 hours'), length(CAST(max(NEW.resolution_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(NEW.resolution_seconds, 0) AS TEXT), 1, 2) AS INTEGER), 1 WHERE NEW.resolution_seconds IS NOT NULL
  ON CONFLICT (measure, day, bucket) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER reports_counted_on_update
AFTER UPDATE OF created_at, status, kind, category_code, kecamatan_code, first_response_at, resolved_at
ON reports BEGIN
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(OLD.created_at, '+7 hours'), 'status', OLD.status, -1 WHERE OLD.status IS NOT NEW.status OR date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours')
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(NEW.created_at, '+7 hours'), 'status', NEW.status, 1 WHERE OLD.status IS NOT NEW.status OR date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours')
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(OLD.created_at, '+7 hours'), 'kind', OLD.kind, -1 WHERE OLD.kind IS NOT NEW.kind OR date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours')
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(NEW.created_at, '+7 hours'), 'kind', NEW.kind, 1 WHERE OLD.kind IS NOT NEW.kind OR date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours')
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(OLD.created_at, '+7 hours'), 'category', OLD.category_code, -1 WHERE OLD.category_code IS NOT NEW.category_code OR date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours')
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(NEW.created_at, '+7 hours'), 'category', NEW.category_code, 1 WHERE OLD.category_code IS NOT NEW.category_code OR date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours')
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(OLD.created_at, '+7 hours'), 'kecamatan', OLD.kecamatan_code, -1 WHERE OLD.kecamatan_code IS NOT NEW.kecamatan_code OR date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours')
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(NEW.created_at, '+7 hours'), 'kecamatan', NEW.kecamatan_code, 1 WHERE OLD.kecamatan_code IS NOT NEW.kecamatan_code OR date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours')
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(OLD.resolved_at, '+7 hours'), 'resolved', '', -1 WHERE OLD.resolved_at IS NOT NULL AND date(OLD.resolved_at, '+7 hours') IS NOT date(NEW.resolved_at, '+7 hours')
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(NEW.resolved_at, '+7 hours'), 'resolved', '', 1 WHERE NEW.resolved_at IS NOT NULL AND date(OLD.resolved_at, '+7 hours') IS NOT date(NEW.resolved_at, '+7 hours')
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_duration_counts (measure, day, bucket, n)
  SELECT 'first_response', date(OLD.created_at, '+7 hours'), length(CAST(max(OLD.first_response_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(OLD.first_response_seconds, 0) AS TEXT), 1, 2) AS INTEGER), -1 WHERE OLD.first_response_seconds IS NOT NULL AND (date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours') OR length(CAST(max(OLD.first_response_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(OLD.first_response_seconds, 0) AS TEXT), 1, 2) AS INTEGER) IS NOT length(CAST(max(NEW.first_response_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(NEW.first_response_seconds, 0) AS TEXT), 1, 2) AS INTEGER))
  ON CONFLICT (measure, day, bucket) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_duration_counts (measure, day, bucket, n)
  SELECT 'first_response', date(NEW.created_at, '+7 hours'), length(CAST(max(NEW.first_response_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(NEW.first_response_seconds, 0) AS TEXT), 1, 2) AS INTEGER), 1 WHERE NEW.first_response_seconds IS NOT NULL AND (date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours') OR length(CAST(max(OLD.first_response_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(OLD.first_response_seconds, 0) AS TEXT), 1, 2) AS INTEGER) IS NOT length(CAST(max(NEW.first_response_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(NEW.first_response_seconds, 0) AS TEXT), 1, 2) AS INTEGER))
  ON CONFLICT (measure, day, bucket) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_duration_counts (measure, day, bucket, n)
  SELECT 'resolution', date(OLD.created_at, '+7 hours'), length(CAST(max(OLD.resolution_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(OLD.resolution_seconds, 0) AS TEXT), 1, 2) AS INTEGER), -1 WHERE OLD.resolution_seconds IS NOT NULL AND (date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours') OR length(CAST(max(OLD.resolution_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(OLD.resolution_seconds, 0) AS TEXT), 1, 2) AS INTEGER) IS NOT length(CAST(max(NEW.resolution_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(NEW.resolution_seconds, 0) AS TEXT), 1, 2) AS INTEGER))
  ON CONFLICT (measure, day, bucket) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_duration_counts (measure, day, bucket, n)
  SELECT 'resolution', date(NEW.created_at, '+7 hours'), length(CAST(max(NEW.resolution_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(NEW.resolution_seconds, 0) AS TEXT), 1, 2) AS INTEGER), 1 WHERE NEW.resolution_seconds IS NOT NULL AND (date(OLD.created_at, '+7 hours') IS NOT date(NEW.created_at, '+7 hours') OR length(CAST(max(OLD.resolution_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(OLD.resolution_seconds, 0) AS TEXT), 1, 2) AS INTEGER) IS NOT length(CAST(max(NEW.resolution_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(NEW.resolution_seconds, 0) AS TEXT), 1, 2) AS INTEGER))
  ON CONFLICT (measure, day, bucket) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER reports_counted_on_delete AFTER DELETE ON reports BEGIN
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(OLD.created_at, '+7 hours'), 'status', OLD.status, -1 WHERE true
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(OLD.created_at, '+7 hours'), 'kind', OLD.kind, -1 WHERE true
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(OLD.created_at, '+7 hours'), 'category', OLD.category_code, -1 WHERE true
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(OLD.created_at, '+7 hours'), 'kecamatan', OLD.kecamatan_code, -1 WHERE true
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT date(OLD.resolved_at, '+7 hours'), 'resolved', '', -1 WHERE OLD.resolved_at IS NOT NULL
  ON CONFLICT (day, dimension, code) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_duration_counts (measure, day, bucket, n)
  SELECT 'first_response', date(OLD.created_at, '+7 hours'), length(CAST(max(OLD.first_response_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(OLD.first_response_seconds, 0) AS TEXT), 1, 2) AS INTEGER), -1 WHERE OLD.first_response_seconds IS NOT NULL
  ON CONFLICT (measure, day, bucket) DO UPDATE SET n = n + excluded.n;
  INSERT INTO report_duration_counts (measure, day, bucket, n)
  SELECT 'resolution', date(OLD.created_at, '+7 hours'), length(CAST(max(OLD.resolution_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(OLD.resolution_seconds, 0) AS TEXT), 1, 2) AS INTEGER), -1 WHERE OLD.resolution_seconds IS NOT NULL
  ON CONFLICT (measure, day, bucket) DO UPDATE SET n = n + excluded.n;
END;

-- The counts of the reports already stored.
INSERT INTO report_day_counts (day, dimension, code, n)
SELECT date(created_at, '+7 hours'), 'status', status, COUNT(*) FROM reports GROUP BY 1, 3
UNION ALL
SELECT date(created_at, '+7 hours'), 'kind', kind, COUNT(*) FROM reports GROUP BY 1, 3
UNION ALL
SELECT date(created_at, '+7 hours'), 'category', category_code, COUNT(*) FROM reports GROUP BY 1, 3
UNION ALL
SELECT date(created_at, '+7 hours'), 'kecamatan', kecamatan_code, COUNT(*) FROM reports GROUP BY 1, 3
UNION ALL
SELECT date(resolved_at, '+7 hours'), 'resolved', '', COUNT(*) FROM reports
  WHERE resolved_at IS NOT NULL GROUP BY 1;

INSERT INTO report_duration_counts (measure, day, bucket, n)
SELECT 'first_response', date(created_at, '+7 hours'), length(CAST(max(first_response_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(first_response_seconds, 0) AS TEXT), 1, 2) AS INTEGER), COUNT(*)
  FROM reports WHERE first_response_seconds IS NOT NULL GROUP BY 2, 3
UNION ALL
SELECT 'resolution', date(created_at, '+7 hours'), length(CAST(max(resolution_seconds, 0) AS TEXT)) * 100 + CAST(substr(CAST(max(resolution_seconds, 0) AS TEXT), 1, 2) AS INTEGER), COUNT(*)
  FROM reports WHERE resolution_seconds IS NOT NULL GROUP BY 2, 3;
