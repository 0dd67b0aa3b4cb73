ALTER TABLE kims ALTER COLUMN focus TYPE VARCHAR(1000);
ALTER TABLE kims ALTER COLUMN name_key TYPE VARCHAR(200);
DROP TABLE known_sign_ins;
ALTER TABLE integration_clients DROP COLUMN security_stamp;
ALTER TABLE users DROP COLUMN security_stamp;
DROP TABLE outbox_events;
