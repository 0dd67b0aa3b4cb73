-- The CAP fields an author set on a bulletin (SPEC §12), as JSON: event, cap_category,
-- urgency, severity, certainty, instruction, response_type. Absent ones default from
-- the bulletin's category when the alert is written.
ALTER TABLE bulletins ADD COLUMN cap TEXT;

-- The CAP 1.2 messages an urgent bulletin was published as, in order: the Alert when it
-- was published, an Update for each later edit, a Cancel when it was archived (or
-- stopped being urgent). Each later message references the earlier ones, so their
-- sent times are kept.
CREATE TABLE bulletin_alerts (
  bulletin_id BIGINT NOT NULL REFERENCES bulletins (id),
  seq INTEGER NOT NULL,
  msg_type TEXT NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
  sent_at TIMESTAMP NOT NULL,
  PRIMARY KEY (bulletin_id, seq)
);
