-- PostgreSQL records the transaction of each change (see its migration); SQLite has one
-- writer, keeps its counters, and the column stays 0.
ALTER TABLE bulletins ADD COLUMN change_xid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN change_xid BIGINT NOT NULL DEFAULT 0;
