use serde_json::Value;

use crate::helpers::{TestApp, on_each_backend, problem};

async fn page(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    response.json().await.expect("json")
}

fn codes(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|row| row["code"].as_str().expect("code").to_owned())
        .collect()
}

/// Follows `next_cursor` to the end; returns every code in order.
async fn walk(app: &TestApp, path: &str) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    let mut pages = 0;
    let mut next = path.to_owned();
    loop {
        let body = page(app, &next).await;
        pages += 1;
        all.extend(codes(&body));
        match body["next_cursor"].as_str() {
            Some(cursor) => {
                let separator = if path.contains('?') { '&' } else { '?' };
                next = format!("{path}{separator}cursor={cursor}");
            }
            None => return (all, pages),
        }
    }
}

#[tokio::test]
async fn regions_are_seeded_and_paged_by_code() {
    on_each_backend(async |app| {
        let first = page(&app, "/api/v1/regions").await;
        assert_eq!(
            first["data"].as_array().map(Vec::len),
            Some(20),
            "default limit is 20"
        );
        assert_eq!(
            first["data"][0],
            serde_json::json!({
                "code": "18", "level": "provinsi", "parent_code": null, "name": "Lampung"
            })
        );

        let (all, pages) = walk(&app, "/api/v1/regions?limit=10").await;
        assert_eq!(pages, 3);
        assert_eq!(
            all.len(),
            29,
            "1 provinsi, 1 kota, 5 kecamatan, 22 kelurahan"
        );
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(all, sorted, "pages are in code order without repeats");

        let (exact, pages) = walk(&app, "/api/v1/regions?limit=29").await;
        assert_eq!(
            (exact.len(), pages),
            (29, 1),
            "an exactly full page has no next cursor"
        );
    })
    .await;
}

#[tokio::test]
async fn regions_filter_by_level_and_parent() {
    on_each_backend(async |app| {
        let kecamatan = codes(&page(&app, "/api/v1/regions?level=kecamatan").await);
        assert_eq!(
            kecamatan,
            ["18.72.01", "18.72.02", "18.72.03", "18.72.04", "18.72.05"]
        );

        let metro_pusat = page(&app, "/api/v1/regions?parent=18.72.01").await;
        let names: Vec<&str> = metro_pusat["data"]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|row| row["name"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "Metro",
                "Hadimulyo Timur",
                "Imopuro",
                "Hadimulyo Barat",
                "Yosomulyo"
            ]
        );

        let (kelurahan, _) = walk(&app, "/api/v1/regions?level=kelurahan&limit=7").await;
        assert_eq!(kelurahan.len(), 22);

        let none = page(&app, "/api/v1/regions?level=kelurahan&parent=18.72").await;
        assert_eq!(none["data"], serde_json::json!([]));
        assert_eq!(none["next_cursor"], Value::Null);
    })
    .await;
}

#[tokio::test]
async fn bad_list_parameters_are_400_problems_naming_the_field() {
    on_each_backend(async |app| {
        let cases = [
            ("/api/v1/regions?level=desa", "level", "unknown_value"),
            ("/api/v1/regions?parent=99.99", "parent", "unknown_region"),
            ("/api/v1/regions?province=18", "province", "unknown_field"),
            ("/api/v1/regions?limit=0", "limit", "out_of_range"),
            ("/api/v1/regions?limit=101", "limit", "out_of_range"),
            ("/api/v1/regions?limit=ten", "limit", "invalid_type"),
            ("/api/v1/regions?limit=-1", "limit", "invalid_type"),
            (
                "/api/v1/regions?cursor=not-a-cursor",
                "cursor",
                "invalid_cursor",
            ),
            (
                "/api/v1/report-categories?active=maybe",
                "active",
                "invalid_type",
            ),
            (
                "/api/v1/report-categories?cursor=eyJ4Ijo",
                "cursor",
                "invalid_cursor",
            ),
        ];
        for (path, field, code) in cases {
            let body = problem(app.get(path).await, 400).await;
            assert_eq!(body["code"], "invalid_query", "{path}");
            assert_eq!(body["errors"][0]["field"], field, "{path}: {body}");
            assert_eq!(body["errors"][0]["code"], code, "{path}: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn report_categories_are_seeded_and_filterable() {
    on_each_backend(async |app| {
        let (all, _) = walk(&app, "/api/v1/report-categories?limit=4").await;
        for expected in [
            "infrastruktur",
            "kesehatan",
            "pendidikan",
            "kebersihan_lingkungan",
            "keamanan_ketertiban",
            "administrasi_kependudukan",
            "sosial",
            "ekonomi_umkm",
            "lainnya",
        ] {
            assert!(
                all.iter().any(|code| code == expected),
                "{expected} missing from {all:?}"
            );
        }
        let active = page(&app, "/api/v1/report-categories?active=true&limit=100").await;
        assert_eq!(active["data"].as_array().map(Vec::len), Some(all.len()));
        let first = &active["data"][0];
        assert_eq!(first["active"], true);
        assert_eq!(first["version"], 1);
        assert!(
            first["created_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{first}"
        );

        let retired = page(&app, "/api/v1/report-categories?active=false").await;
        assert_eq!(retired["data"], serde_json::json!([]));
    })
    .await;
}
