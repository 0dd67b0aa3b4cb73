DROP INDEX audit_log_request_idx;
DROP INDEX audit_log_action_idx;
DROP INDEX audit_log_actor_idx;
DROP INDEX audit_log_target_idx;
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id);
