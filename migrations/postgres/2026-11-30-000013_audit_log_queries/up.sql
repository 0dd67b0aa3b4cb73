-- GET /api/v1/audit-log: each filter leads an index that ends in the list's order
-- (newest first), so a page costs the same however deep it is.
DROP INDEX audit_log_target_idx;
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, occurred_at, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_type, actor_id, occurred_at, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, occurred_at, id);
CREATE INDEX audit_log_request_idx ON audit_log (request_id);
