DROP TABLE audit_log;
DROP TABLE login_failures;
DROP TABLE integration_clients;
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE kim_status_changes;
DROP TABLE registration_counters;
DROP TABLE kims;
