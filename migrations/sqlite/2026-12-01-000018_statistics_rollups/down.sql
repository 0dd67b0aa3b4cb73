DROP TRIGGER reports_counted_on_delete;
DROP TRIGGER reports_counted_on_update;
DROP TRIGGER reports_counted_on_insert;
DROP TABLE report_duration_counts;
DROP TABLE report_day_counts;
DROP INDEX reports_resolution_seconds_idx;
DROP INDEX reports_first_response_seconds_idx;
ALTER TABLE reports DROP COLUMN resolution_seconds;
ALTER TABLE reports DROP COLUMN first_response_seconds;
