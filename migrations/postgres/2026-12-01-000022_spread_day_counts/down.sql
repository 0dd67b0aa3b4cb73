DROP FUNCTION report_day_count_move(TEXT, SMALLINT, DATE, TEXT, DATE, TEXT);
CREATE TABLE report_day_counts_joined AS
  SELECT day, dimension, code, SUM(n)::bigint AS n FROM report_day_counts GROUP BY day, dimension, code;
DELETE FROM report_day_counts;
ALTER TABLE report_day_counts DROP CONSTRAINT report_day_counts_pkey;
ALTER TABLE report_day_counts DROP COLUMN part;
ALTER TABLE report_day_counts ADD PRIMARY KEY (day, dimension, code);
INSERT INTO report_day_counts (day, dimension, code, n)
  SELECT day, dimension, code, n FROM report_day_counts_joined;
DROP TABLE report_day_counts_joined;
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
CREATE OR REPLACE FUNCTION reports_keep_counts() RETURNS TRIGGER LANGUAGE plpgsql AS $$
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
