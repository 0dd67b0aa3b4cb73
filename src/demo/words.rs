//! The words demo data is made of: names, streets and report texts as they occur in
//! Kota Metro.

pub const GIVEN_NAMES: &[(&str, bool)] = &[
    ("Siti", true),
    ("Budi", false),
    ("Agus", false),
    ("Sri", true),
    ("Dewi", true),
    ("Wahyu", false),
    ("Rina", true),
    ("Eko", false),
    ("Slamet", false),
    ("Yuni", true),
    ("Joko", false),
    ("Ratna", true),
    ("Heru", false),
    ("Ani", true),
    ("Bambang", false),
    ("Wulan", true),
    ("Teguh", false),
    ("Fitri", true),
    ("Andi", false),
    ("Putri", true),
    ("Dimas", false),
    ("Nurul", true),
    ("Rizki", false),
    ("Lestari", true),
];

pub const FAMILY_NAMES: &[&str] = &[
    "Rahayu",
    "Santoso",
    "Wijaya",
    "Saputra",
    "Pratama",
    "Hidayat",
    "Kurniawan",
    "Susanti",
    "Setiawan",
    "Handayani",
    "Nugroho",
    "Purnomo",
    "Maharani",
    "Firmansyah",
    "Anggraini",
    "Utomo",
];

pub const PROFESSIONS: &[&str] = &[
    "Guru",
    "Petani",
    "Pedagang",
    "Wiraswasta",
    "Perawat",
    "Mahasiswa",
    "Ibu rumah tangga",
    "Pensiunan",
    "Karyawan swasta",
];

/// Words KIMs name themselves after.
pub const KIM_WORDS: &[&str] = &[
    "Mekar Sari",
    "Sinar Harapan",
    "Tunas Muda",
    "Bina Warga",
    "Cahaya Informasi",
    "Maju Bersama",
    "Suara Warga",
    "Karya Mandiri",
];

pub const STREETS: &[&str] = &[
    "Jl. Ahmad Yani",
    "Jl. Jenderal Sudirman",
    "Jl. Imam Bonjol",
    "Jl. Diponegoro",
    "Jl. Hasanuddin",
    "Jl. Soekarno-Hatta",
    "Jl. Ki Hajar Dewantara",
    "Jl. Kartini",
    "Jl. AH Nasution",
    "Jl. Pattimura",
    "Jl. Sutan Syahrir",
    "Jl. Veteran",
    "Jl. Brigjen Sutiyoso",
    "Jl. Stadion",
];

/// The agency (OPD) that usually takes a category's reports.
pub fn agency_for(category: &str) -> &'static str {
    match category {
        "infrastruktur" => "Dinas Pekerjaan Umum dan Penataan Ruang",
        "kesehatan" => "Dinas Kesehatan",
        "pendidikan" => "Dinas Pendidikan dan Kebudayaan",
        "kebersihan_lingkungan" => "Dinas Lingkungan Hidup",
        "keamanan_ketertiban" => "Satuan Polisi Pamong Praja",
        "administrasi_kependudukan" => "Dinas Kependudukan dan Pencatatan Sipil",
        "sosial" => "Dinas Sosial",
        "ekonomi_umkm" => "Dinas Koperasi, UKM, Perindustrian dan Perdagangan",
        "bencana" => "Badan Penanggulangan Bencana Daerah",
        _ => "Dinas Komunikasi dan Informatika",
    }
}

/// A kind of report as citizens bring it: kind, category, title and description, with
/// `{street}` and `{rt}` filled in.
pub struct ReportText {
    pub kind: &'static str,
    pub category: &'static str,
    pub title: &'static str,
    pub description: &'static str,
}

pub const REPORT_TEXTS: &[ReportText] = &[
    ReportText {
        kind: "complaint",
        category: "infrastruktur",
        title: "Lampu jalan padam di {street}",
        description: "Lampu penerangan jalan di {street} RT {rt} padam sejak pekan lalu. \
                      Warga khawatir melintas pada malam hari.",
    },
    ReportText {
        kind: "complaint",
        category: "infrastruktur",
        title: "Jalan berlubang di {street}",
        description: "Lubang di badan jalan {street} dekat RT {rt} makin lebar setelah \
                      hujan dan sudah membuat dua pengendara motor terjatuh.",
    },
    ReportText {
        kind: "complaint",
        category: "kebersihan_lingkungan",
        title: "Drainase tersumbat di {street}",
        description: "Saluran air di {street} RT {rt} tersumbat sampah sehingga air \
                      meluap ke jalan setiap hujan deras.",
    },
    ReportText {
        kind: "complaint",
        category: "kebersihan_lingkungan",
        title: "Sampah menumpuk di TPS {street}",
        description: "Sampah di TPS {street} belum diangkut selama empat hari dan mulai \
                      berbau. Mohon jadwal pengangkutan ditinjau.",
    },
    ReportText {
        kind: "aspiration",
        category: "kesehatan",
        title: "Usulan posyandu lansia di RT {rt}",
        description: "Warga RT {rt} sekitar {street} mengusulkan posyandu lansia sebulan \
                      sekali karena puskesmas cukup jauh.",
    },
    ReportText {
        kind: "information",
        category: "kesehatan",
        title: "Beberapa warga RT {rt} terkena demam berdarah",
        description: "Tiga warga RT {rt} di {street} dirawat karena demam berdarah. \
                      Warga meminta fogging dan penyuluhan PSN.",
    },
    ReportText {
        kind: "complaint",
        category: "pendidikan",
        title: "Atap ruang kelas SD bocor",
        description: "Atap dua ruang kelas SD di {street} bocor sehingga siswa dipindah \
                      ke perpustakaan saat hujan.",
    },
    ReportText {
        kind: "complaint",
        category: "keamanan_ketertiban",
        title: "Balap liar setiap malam di {street}",
        description: "Balap liar terjadi hampir setiap malam Minggu di {street} dan \
                      mengganggu istirahat warga RT {rt}.",
    },
    ReportText {
        kind: "question",
        category: "administrasi_kependudukan",
        title: "Jadwal perekaman KTP-el keliling",
        description: "Warga RT {rt} yang lanjut usia bertanya kapan perekaman KTP-el \
                      keliling datang ke kelurahan.",
    },
    ReportText {
        kind: "complaint",
        category: "sosial",
        title: "Lansia belum menerima bantuan sosial",
        description: "Dua lansia di RT {rt} dekat {street} terdaftar tetapi belum \
                      menerima bantuan sosial tahap ini.",
    },
    ReportText {
        kind: "aspiration",
        category: "ekonomi_umkm",
        title: "Usulan pelatihan pemasaran daring untuk UMKM",
        description: "Pelaku UMKM di sekitar {street} berharap ada pelatihan pemasaran \
                      daring dan pendampingan sertifikasi halal.",
    },
    ReportText {
        kind: "complaint",
        category: "pelayanan_publik",
        title: "Antrean panjang di kantor kelurahan",
        description: "Warga harus antre lebih dari dua jam untuk surat pengantar. \
                      Mohon ditambah loket atau layanan daring.",
    },
    ReportText {
        kind: "information",
        category: "bencana",
        title: "Genangan setinggi lutut di {street}",
        description: "Setelah hujan deras, {street} RT {rt} tergenang setinggi lutut \
                      dan beberapa rumah kemasukan air.",
    },
    ReportText {
        kind: "information",
        category: "lainnya",
        title: "Kerja bakti warga RT {rt}",
        description: "Warga RT {rt} mengadakan kerja bakti membersihkan saluran di \
                      {street} dan mengundang petugas kelurahan.",
    },
];

/// What government users write on a report's timeline.
pub const PUBLIC_ANSWERS: &[&str] = &[
    "Laporan sudah kami teruskan ke dinas terkait. Terima kasih atas informasinya.",
    "Petugas dijadwalkan meninjau lokasi minggu ini.",
    "Perbaikan masuk daftar pekerjaan bulan ini.",
];

pub const INTERNAL_NOTES: &[&str] = &[
    "Cek ketersediaan anggaran pemeliharaan.",
    "Koordinasikan dengan kecamatan sebelum turun ke lokasi.",
    "Laporan serupa pernah masuk; gabungkan penanganannya.",
];

pub const CITIZEN_REPLIES: &[&str] = &[
    "Warga menyampaikan terima kasih atas tindak lanjutnya.",
    "Menurut warga kondisinya belum berubah.",
    "Warga siap membantu saat petugas datang.",
];

pub const REJECTIONS: &[&str] = &[
    "Lokasi berada di luar kewenangan Pemerintah Kota Metro.",
    "Laporan ganda; penanganan mengikuti laporan sebelumnya.",
];

/// A rough centre of each kecamatan (WGS 84), around which its reports lie.
pub fn kecamatan_centre(kecamatan_code: &str) -> (f64, f64) {
    match kecamatan_code {
        "18.72.01" => (-5.1131, 105.3067),
        "18.72.02" => (-5.0880, 105.3000),
        "18.72.03" => (-5.1180, 105.2800),
        "18.72.04" => (-5.1050, 105.3300),
        _ => (-5.1450, 105.3150),
    }
}

pub const BULLETIN_TEXTS: &[(&str, &str, &str)] = &[
    (
        "kesehatan",
        "Jadwal imunisasi dan posyandu bulan ini",
        "Posyandu di setiap kelurahan buka pada pekan kedua. Bawa buku KIA.",
    ),
    (
        "pemerintahan",
        "Musrenbang kelurahan dibuka",
        "Warga dapat menyampaikan usulan pembangunan melalui KIM dan RT masing-masing.",
    ),
    (
        "bencana",
        "Waspada cuaca ekstrem",
        "BMKG memperkirakan hujan lebat disertai angin kencang. Bersihkan saluran air.",
    ),
    (
        "literasi",
        "Kenali hoaks sebelum berbagi",
        "Periksa sumber, tanggal dan foto sebelum meneruskan pesan berantai.",
    ),
    (
        "ekonomi",
        "Pendaftaran pelatihan UMKM",
        "Dinas membuka pelatihan pemasaran daring bagi pelaku UMKM Kota Metro.",
    ),
    (
        "pendidikan",
        "Penerimaan peserta didik baru",
        "Pendaftaran SD dan SMP negeri dibuka secara daring. Siapkan kartu keluarga.",
    ),
];
