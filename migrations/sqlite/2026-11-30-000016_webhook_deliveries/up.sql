-- Webhook deliveries (SPEC §8): one row per outbox event and subscription that takes
-- it, leased by the instance sending it; every try is a row of webhook_attempts.
CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subscription_id BIGINT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  event_id BIGINT NOT NULL REFERENCES outbox_events (id),
  event_type TEXT NOT NULL,
  aggregate_type TEXT NOT NULL,
  aggregate_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempt_count INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMP NOT NULL,
  -- Retries stop after this; the delivery fails and its subscription is `failing`.
  retry_until TIMESTAMP NOT NULL,
  -- The instance sending it holds it until then; a killed instance's lease runs out.
  lease_token TEXT,
  lease_until TIMESTAMP,
  created_at TIMESTAMP NOT NULL,
  finished_at TIMESTAMP,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id)
  WHERE status = 'pending';
-- Per-aggregate order: a delivery waits while an earlier one of its aggregate is pending.
CREATE INDEX webhook_deliveries_order_idx
  ON webhook_deliveries (subscription_id, aggregate_type, aggregate_id, event_id)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_listing_idx ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempted_at TIMESTAMP NOT NULL,
  response_status INTEGER,
  latency_ms BIGINT NOT NULL,
  error TEXT
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);
