-- GET /api/v1/stats/overview counts the reports of a period that are overdue now.
-- With only (status, due date) to go by, a database with many open reports visited
-- every overdue one of all time and looked up its submission (140 ms a branch at
-- 1 000 000 demo reports on SQLite); these read the period's open reports of each
-- status and judge the due date from the index alone.
CREATE INDEX reports_open_verify_due_idx ON reports (status, created_at, verify_due_at);
CREATE INDEX reports_open_response_due_idx ON reports (status, created_at, response_due_at);
