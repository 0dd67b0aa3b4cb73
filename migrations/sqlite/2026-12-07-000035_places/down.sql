DROP TABLE region_boundaries;
ALTER TABLE kims DROP COLUMN longitude;
ALTER TABLE kims DROP COLUMN latitude;
