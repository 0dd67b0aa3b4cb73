-- Every new report of a day adds to the same four day counts (its day's `submitted`,
-- its kind, category and kecamatan), and PostgreSQL holds each updated row locked
-- until commit: simultaneous submissions queued on those rows, and the submission
-- benchmark fell from 1 245 to 511 a second (benches/reports.sh, 16 KIMs). Each count
-- is now kept in 8 parts, a report's in the part of its id, so simultaneous reports
-- mostly touch different rows; readers add the parts up. (SQLite has one writer at a
-- time and keeps one part.)
ALTER TABLE report_day_counts ADD COLUMN part SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE report_day_counts DROP CONSTRAINT report_day_counts_pkey;
ALTER TABLE report_day_counts ADD PRIMARY KEY (day, dimension, code, part);

DROP FUNCTION report_day_count_move(TEXT, DATE, TEXT, DATE, TEXT);
CREATE FUNCTION report_day_count_move(
  dimension_moved TEXT, part_moved SMALLINT, old_day DATE, old_code TEXT, new_day DATE, new_code TEXT
) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  IF (old_day, old_code) IS NOT DISTINCT FROM (new_day, new_code) THEN
    RETURN;
  END IF;
  INSERT INTO report_day_counts AS counts (day, dimension, code, part, n)
  SELECT moved.day, dimension_moved, moved.code, part_moved, moved.n
  FROM (VALUES (old_day, old_code, -1), (new_day, new_code, 1)) AS moved (day, code, n)
  WHERE moved.day IS NOT NULL AND moved.code IS NOT NULL
  ORDER BY moved.day, moved.code
  ON CONFLICT (day, dimension, code, part) DO UPDATE SET n = counts.n + EXCLUDED.n;
END $$;

CREATE OR REPLACE FUNCTION reports_keep_counts() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  before reports;
  after reports;
  before_day DATE;
  after_day DATE;
  part SMALLINT;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    before := OLD;
    before_day := report_wib_day(OLD.created_at);
    part := OLD.id % 8;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    after := NEW;
    after_day := report_wib_day(NEW.created_at);
    part := NEW.id % 8;
  END IF;
  PERFORM report_day_count_move('status', part, before_day, before.status, after_day, after.status);
  PERFORM report_day_count_move('kind', part, before_day, before.kind, after_day, after.kind);
  PERFORM report_day_count_move('category', part, before_day, before.category_code, after_day, after.category_code);
  PERFORM report_day_count_move('kecamatan', part, before_day, before.kecamatan_code, after_day, after.kecamatan_code);
  PERFORM report_day_count_move('resolved', part, report_wib_day(before.resolved_at), '',
                                report_wib_day(after.resolved_at), '');
  PERFORM report_duration_count_move('first_response', before_day, before.first_response_seconds,
                                     after_day, after.first_response_seconds);
  PERFORM report_duration_count_move('resolution', before_day, before.resolution_seconds,
                                     after_day, after.resolution_seconds);
  RETURN NULL;
END $$;
