//! The readers and the matcher on BMKG's real documents (`tests/fixtures/cap`).

use geo::{Point, Rect, coord};
use url::Url;

use super::cap::{MessageType, read};
use super::feed::{SourceDocument, classify};
use super::matching::{Kota, Matched, NamedRegion, PlacedKim, audience_of};
use super::xml::parse;
use crate::audience::AudienceScope;
use crate::bulletins::cap::Severity;
use crate::regions::RegionLevel;

const GORONTALO: &[u8] =
    include_bytes!("../../tests/fixtures/cap/bmkg-cap-id-CGT20260924002_alert.xml");
const NOWCAST_RSS: &[u8] = include_bytes!("../../tests/fixtures/cap/bmkg-nowcast-rss-id.xml");

fn metro_extent() -> Rect<f64> {
    Rect::new(
        coord! { x: 105.15, y: -5.25 },
        coord! { x: 105.45, y: -4.95 },
    )
}

fn regions() -> Vec<NamedRegion> {
    let region = |code: &str, level, parent: Option<&str>, name: &str| NamedRegion {
        code: code.to_owned(),
        level,
        parent_code: parent.map(str::to_owned),
        name: name.to_owned(),
    };
    vec![
        region("18.72", RegionLevel::Kota, Some("18"), "Kota Metro"),
        region(
            "18.72.01",
            RegionLevel::Kecamatan,
            Some("18.72"),
            "Metro Pusat",
        ),
        region(
            "18.72.01.1001",
            RegionLevel::Kelurahan,
            Some("18.72.01"),
            "Metro",
        ),
        region(
            "18.72.01.1002",
            RegionLevel::Kelurahan,
            Some("18.72.01"),
            "Imopuro",
        ),
        region(
            "18.72.02",
            RegionLevel::Kecamatan,
            Some("18.72"),
            "Metro Utara",
        ),
        region(
            "18.72.02.1001",
            RegionLevel::Kelurahan,
            Some("18.72.02"),
            "Banjarsari",
        ),
    ]
}

#[test]
fn bmkg_gorontalo_alert_is_read_and_concerns_nobody_here() {
    let alert = read(&parse(GORONTALO).expect("xml")).expect("alert");
    assert_eq!(alert.identifier, "2.49.0.1.360.0.2026.09.24.07.75.002");
    assert_eq!(alert.sender, "cuaca.ekstrem@bmkg.go.id");
    assert_eq!(
        alert.sent.offset().local_minus_utc(),
        8 * 3600,
        "+08:00 kept"
    );
    assert!(alert.actual);
    assert_eq!(alert.message_type, MessageType::Alert);
    assert_eq!(alert.severity, Severity::Moderate);
    assert_eq!(alert.areas.len(), 1);
    assert_eq!(alert.areas[0].polygons.len(), 4);
    let kims = [PlacedKim {
        id: 1,
        point: Point::new(105.3, -5.11),
    }];
    let regions = regions();
    let kota = Kota {
        extent: metro_extent(),
        kims: &kims,
        regions: &regions,
    };
    assert_eq!(
        audience_of(&alert, &kota),
        Matched::Nobody("the alert's areas lie outside Kota Metro")
    );
}

#[test]
fn bmkg_nowcast_rss_lists_its_cap_links() {
    let base = Url::parse("https://www.bmkg.go.id/alerts/nowcast/id/rss.xml").expect("url");
    let SourceDocument::Links(links) =
        classify(parse(NOWCAST_RSS).expect("xml"), &base).expect("feed")
    else {
        panic!("a feed");
    };
    let links: Vec<(&str, Option<&str>)> = links
        .iter()
        .map(|link| (link.url.as_str(), link.identifier.as_deref()))
        .collect();
    assert_eq!(
        links,
        [
            (
                "https://www.bmkg.go.id/alerts/nowcast/id/CGT20260924002_alert.xml",
                Some("2.49.0.1.360.0.2026.09.24.07.75.002")
            ),
            (
                "https://www.bmkg.go.id/alerts/nowcast/id/CLG20260924001_alert.xml",
                Some("2.49.0.1.360.0.2026.09.24.07.18.001")
            )
        ]
    );
}

/// Synthetic: BMKG's shape, drawn over Kota Metro.
fn metro_alert(polygon: &str, description: &str) -> super::cap::IncomingAlert {
    let document = format!(
        r#"<?xml version="1.0"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>synthetic-1</identifier><sender>cuaca.ekstrem@bmkg.go.id</sender>
  <sent>2026-12-01T10:00:00+07:00</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope>
  <info><language>id</language><category>Met</category><event>Hujan Lebat</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <headline>Hujan Lebat di Lampung</headline><description>{description}</description>
    <area><areaDesc>Lampung</areaDesc><polygon>{polygon}</polygon></area>
  </info>
</alert>"#
    );
    read(&parse(document.as_bytes()).expect("xml")).expect("alert")
}

#[test]
fn a_polygon_over_a_kim_addresses_it_and_names_are_the_fallback() {
    let regions = regions();
    let kims = [
        PlacedKim {
            id: 7,
            point: Point::new(105.26, -5.18),
        },
        PlacedKim {
            id: 8,
            point: Point::new(105.40, -5.00),
        },
    ];
    let kota = Kota {
        extent: metro_extent(),
        kims: &kims,
        regions: &regions,
    };
    let over_seven = "-5.20,105.25 -5.17,105.25 -5.17,105.28 -5.20,105.28 -5.20,105.25";
    let Matched::Audience(audience) = audience_of(&metro_alert(over_seven, "Hujan."), &kota) else {
        panic!("matched");
    };
    assert_eq!(
        (audience.scope, audience.kim_ids),
        (AudienceScope::Kims, vec![7])
    );

    // Over Kota Metro but no KIM: the description's names decide, accents and case aside.
    let empty_corner = "-5.24,105.16 -5.23,105.16 -5.23,105.17 -5.24,105.17 -5.24,105.16";
    let named = metro_alert(
        empty_corner,
        "Hujan lebat di sebagian wilayah Lampung, khususnya di METRÓ PUSAT, Metro Kibang.",
    );
    let Matched::Audience(audience) = audience_of(&named, &kota) else {
        panic!("matched by name");
    };
    assert_eq!(
        (audience.scope, audience.codes),
        (AudienceScope::Kecamatan, vec!["18.72.01".to_owned()]),
        "Metro Pusat, not the kelurahan Metro inside it nor Metro Kibang"
    );
    let both = metro_alert(empty_corner, "khususnya di Metro Utara, Imopuro");
    let Matched::Audience(audience) = audience_of(&both, &kota) else {
        panic!("matched by name");
    };
    assert_eq!(audience.scope, AudienceScope::Kelurahan);
    assert_eq!(audience.codes, ["18.72.01.1002", "18.72.02.1001"]);
    let nobody = metro_alert(empty_corner, "khususnya di Pekalongan");
    assert!(matches!(audience_of(&nobody, &kota), Matched::Nobody(_)));
}

#[test]
fn a_circle_takes_in_the_kims_within_its_radius() {
    let document = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
      <identifier>synthetic-circle</identifier><sender>bpbd@metrokota.example.id</sender>
      <sent>2026-12-07T10:00:00+07:00</sent><status>Actual</status><msgType>Alert</msgType>
      <scope>Public</scope>
      <info><category>Geo</category><event>Tanah longsor</event><urgency>Immediate</urgency>
        <severity>Severe</severity><certainty>Observed</certainty>
        <area><areaDesc>Sekitar titik longsor</areaDesc><circle>-5.0,105.4 2.5</circle></area>
      </info></alert>"#;
    let alert = read(&parse(document.as_bytes()).expect("xml")).expect("alert");
    let regions = regions();
    // 0.01° of latitude is about 1.1 km: one KIM inside the 2.5 km radius, one outside.
    let kims = [
        PlacedKim {
            id: 1,
            point: Point::new(105.4, -5.01),
        },
        PlacedKim {
            id: 2,
            point: Point::new(105.4, -5.04),
        },
    ];
    let kota = Kota {
        extent: metro_extent(),
        kims: &kims,
        regions: &regions,
    };
    let Matched::Audience(audience) = audience_of(&alert, &kota) else {
        panic!("matched");
    };
    assert_eq!(audience.kim_ids, [1]);
}
