-- Where a KIM meets (SPEC §12): optional, inside Kota Metro, set by government. Early
-- warnings reach the KIMs whose place lies in an alert's area.
ALTER TABLE kims ADD COLUMN latitude REAL;
ALTER TABLE kims ADD COLUMN longitude REAL;

-- Kecamatan and kelurahan areas, imported from GeoJSON (kim-api regions
-- import-boundaries): the geometry as GeoJSON (WGS 84) and its bounding box, so a
-- lookup tests exactly only the areas whose box holds the point.
CREATE TABLE region_boundaries (
  code TEXT PRIMARY KEY REFERENCES regions (code),
  geometry TEXT NOT NULL,
  min_latitude REAL NOT NULL,
  max_latitude REAL NOT NULL,
  min_longitude REAL NOT NULL,
  max_longitude REAL NOT NULL,
  imported_at TIMESTAMP NOT NULL
);
