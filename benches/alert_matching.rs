//! Matching an incoming CAP alert to KIMs, run by hand:
//!     cargo run --release --example alert_matching [ROUNDS]
//! Builds an alert of BMKG's largest shape (150 polygons, 3 000 points in all) drawn
//! over and around Kota Metro, and 500 KIM locations in the kota, then times, per
//! alert: reading the document (safe XML + CAP), matching it, and both. Prints
//! p50/p99/max over ROUNDS (default 200). The issue's target: ≤ 50 ms per alert.

use std::time::{Duration, Instant};

use geo::{Point, Rect, coord};
use kim_api::alert_sources::cap::read;
use kim_api::alert_sources::matching::{Kota, Matched, NamedRegion, PlacedKim, audience_of};
use kim_api::alert_sources::xml::parse;
use kim_api::regions::RegionLevel;

const POLYGONS: usize = 150;
const POINTS_PER_POLYGON: usize = 20;
const KIMS: usize = 500;

/// A small deterministic generator (no dependency for a benchmark's noise).
struct Lcg(u64);

impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A ring of `POINTS_PER_POLYGON` points (the last closes it) around a centre in a
/// box twice the kota's size, so that some polygons cover KIMs and most do not.
fn polygon(random: &mut Lcg) -> String {
    let (lat, lon) = (-5.40 + random.unit() * 0.6, 105.0 + random.unit() * 0.6);
    let radius = 0.005 + random.unit() * 0.02;
    let mut points: Vec<String> = (0..POINTS_PER_POLYGON - 1)
        .map(|step| {
            let angle = step as f64 / (POINTS_PER_POLYGON - 1) as f64 * std::f64::consts::TAU;
            let wobble = 0.7 + random.unit() * 0.6;
            format!(
                "{:.4},{:.4}",
                lat + radius * wobble * angle.sin(),
                lon + radius * wobble * angle.cos()
            )
        })
        .collect();
    points.push(points[0].clone());
    points.join(" ")
}

fn alert(random: &mut Lcg) -> String {
    let polygons: String = (0..POLYGONS)
        .map(|_| format!("<polygon>{}</polygon>", polygon(random)))
        .collect();
    format!(
        r#"<?xml version="1.0"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>bench-1</identifier><sender>cuaca.ekstrem@bmkg.go.id</sender>
  <sent>2026-12-07T10:00:00+07:00</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope>
  <info><language>id</language><category>Met</category><event>Hujan Lebat</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <headline>Hujan Lebat di Lampung</headline>
    <description>Hujan lebat di sebagian wilayah Lampung, khususnya di METRO PUSAT, METRO UTARA.</description>
    <area><areaDesc>Lampung</areaDesc>{polygons}</area>
  </info>
</alert>"#
    )
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{label:<22} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms",
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        percentile(&times, 1.0)
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(200);
    let mut random = Lcg(7);
    let document = alert(&mut random);
    let kims: Vec<PlacedKim> = (0..KIMS)
        .map(|id| PlacedKim {
            id: id as i64,
            point: Point::new(105.15 + random.unit() * 0.3, -5.25 + random.unit() * 0.3),
        })
        .collect();
    let regions = vec![
        NamedRegion {
            code: "18.72".into(),
            level: RegionLevel::Kota,
            parent_code: Some("18".into()),
            name: "Kota Metro".into(),
        },
        NamedRegion {
            code: "18.72.01".into(),
            level: RegionLevel::Kecamatan,
            parent_code: Some("18.72".into()),
            name: "Metro Pusat".into(),
        },
    ];
    let kota = Kota {
        extent: Rect::new(
            coord! { x: 105.15, y: -5.25 },
            coord! { x: 105.45, y: -4.95 },
        ),
        kims: &kims,
        regions: &regions,
    };
    let parsed = read(&parse(document.as_bytes()).expect("xml")).expect("alert");
    let points: usize = parsed.areas[0]
        .polygons
        .iter()
        .map(|polygon| polygon.exterior().0.len())
        .sum();
    let matched = match audience_of(&parsed, &kota) {
        Matched::Audience(audience) => format!("{} KIMs", audience.kim_ids.len()),
        Matched::Nobody(reason) => reason.to_owned(),
    };
    println!(
        "alert: {} bytes, {} polygons, {points} points; {KIMS} KIM locations; matched: {matched}; {rounds} rounds",
        document.len(),
        parsed.areas[0].polygons.len()
    );
    let (mut reading, mut matching, mut both) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        let alert = read(&parse(document.as_bytes()).expect("xml")).expect("alert");
        let read_in = started.elapsed();
        let matched_at = Instant::now();
        std::hint::black_box(audience_of(&alert, &kota));
        matching.push(matched_at.elapsed());
        reading.push(read_in);
        both.push(started.elapsed());
    }
    report("read (XML + CAP)", reading);
    report("match (500 KIMs)", matching);
    report("read + match", both);
}
