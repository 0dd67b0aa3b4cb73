DROP TABLE bulletin_seen_by;
