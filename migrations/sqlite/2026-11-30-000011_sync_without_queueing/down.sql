ALTER TABLE reports DROP COLUMN change_xid;
ALTER TABLE bulletins DROP COLUMN change_xid;
