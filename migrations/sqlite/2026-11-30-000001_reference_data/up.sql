-- Kemendagri region codes (kode wilayah). Other Pemda add rows of their own.
CREATE TABLE regions (
  code TEXT PRIMARY KEY,
  level TEXT NOT NULL CHECK (level IN ('provinsi', 'kota', 'kecamatan', 'kelurahan')),
  parent_code TEXT REFERENCES regions (code),
  name TEXT NOT NULL
);
CREATE INDEX regions_parent_code_idx ON regions (parent_code, code);
CREATE INDEX regions_level_idx ON regions (level, code);

-- Kota Metro (Lampung), as in Kepmendagri 300.2.2-2138/2025.
INSERT INTO regions (code, level, parent_code, name) VALUES
  ('18', 'provinsi', NULL, 'Lampung'),
  ('18.72', 'kota', '18', 'Kota Metro'),
  ('18.72.01', 'kecamatan', '18.72', 'Metro Pusat'),
  ('18.72.01.1001', 'kelurahan', '18.72.01', 'Metro'),
  ('18.72.01.1002', 'kelurahan', '18.72.01', 'Hadimulyo Timur'),
  ('18.72.01.1003', 'kelurahan', '18.72.01', 'Imopuro'),
  ('18.72.01.1004', 'kelurahan', '18.72.01', 'Hadimulyo Barat'),
  ('18.72.01.1005', 'kelurahan', '18.72.01', 'Yosomulyo'),
  ('18.72.02', 'kecamatan', '18.72', 'Metro Utara'),
  ('18.72.02.1001', 'kelurahan', '18.72.02', 'Banjarsari'),
  ('18.72.02.1002', 'kelurahan', '18.72.02', 'Purwosari'),
  ('18.72.02.1003', 'kelurahan', '18.72.02', 'Karangrejo'),
  ('18.72.02.1004', 'kelurahan', '18.72.02', 'Purwoasri'),
  ('18.72.03', 'kecamatan', '18.72', 'Metro Barat'),
  ('18.72.03.1001', 'kelurahan', '18.72.03', 'Mulyojati'),
  ('18.72.03.1002', 'kelurahan', '18.72.03', 'Ganjar Agung'),
  ('18.72.03.1003', 'kelurahan', '18.72.03', 'Mulyosari'),
  ('18.72.03.1004', 'kelurahan', '18.72.03', 'Ganjar Asri'),
  ('18.72.04', 'kecamatan', '18.72', 'Metro Timur'),
  ('18.72.04.1001', 'kelurahan', '18.72.04', 'Yosodadi'),
  ('18.72.04.1002', 'kelurahan', '18.72.04', 'Tejosari'),
  ('18.72.04.1003', 'kelurahan', '18.72.04', 'Iring Mulyo'),
  ('18.72.04.1004', 'kelurahan', '18.72.04', 'Yosorejo'),
  ('18.72.04.1005', 'kelurahan', '18.72.04', 'Tejo Agung'),
  ('18.72.05', 'kecamatan', '18.72', 'Metro Selatan'),
  ('18.72.05.1001', 'kelurahan', '18.72.05', 'Rejomulyo'),
  ('18.72.05.1002', 'kelurahan', '18.72.05', 'Margorejo'),
  ('18.72.05.1003', 'kelurahan', '18.72.05', 'Sumbersari Bantul'),
  ('18.72.05.1004', 'kelurahan', '18.72.05', 'Margodadi');

CREATE TABLE report_categories (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  version BIGINT NOT NULL DEFAULT 1
);

INSERT INTO report_categories (code, name) VALUES
  ('infrastruktur', 'Infrastruktur (jalan, jembatan, drainase, penerangan)'),
  ('kesehatan', 'Kesehatan'),
  ('pendidikan', 'Pendidikan'),
  ('kebersihan_lingkungan', 'Kebersihan & Lingkungan'),
  ('keamanan_ketertiban', 'Keamanan & Ketertiban'),
  ('administrasi_kependudukan', 'Administrasi Kependudukan'),
  ('sosial', 'Sosial & Kesejahteraan'),
  ('ekonomi_umkm', 'Ekonomi & UMKM'),
  ('pelayanan_publik', 'Pelayanan Publik'),
  ('bencana', 'Bencana & Kedaruratan'),
  ('lainnya', 'Lainnya');
