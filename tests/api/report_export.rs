//! Reports as CSV for officers: the list's filters and access, personal data only as
//! the role may see it, no timeline text, cells that cannot start a formula, and every
//! row of a long list once, in order, across the chunks it is streamed in.

use std::collections::HashSet;

use diesel::prelude::*;
use kim_api::db::schema::reports as report_rows;
use serde_json::{Value, json};

use crate::demo_data::seeded;
use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::reports::{id_of, json_of, move_to, report, submit, town};

const BOM: &str = "\u{feff}";

/// The export as header and records, checking the file's framing on the way.
async fn export(app: &TestApp, who: &str, query: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let response = app
        .get_as(&format!("/api/v1/reports/export.csv{query}"), who)
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8; header=present"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment; filename=\"laporan-")
    );
    let text = response.text().await.expect("body");
    let body = text.strip_prefix(BOM).expect("a UTF-8 byte-order mark");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader
        .records()
        .map(|record| {
            record
                .expect("a well-formed record")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    (header, records)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|column| column == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[tokio::test]
async fn officers_export_what_they_may_see_and_nothing_a_spreadsheet_would_run() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let mut formula = report("normal");
        formula["title"] = json!("=HYPERLINK(\"http://jahat.example\",\"klik\")");
        formula["description"] = json!("Baris satu, \"kutip\"\nbaris dua; @SUM(A1)");
        formula["reporter_name"] = json!("-Budi");
        let first = submit(&app, token(&t.member_a), &formula).await;
        let anonymous = submit(&app, token(&t.member_a), &report("anonymous")).await;
        let mut elsewhere = report("confidential");
        elsewhere["kelurahan_code"] = json!("18.72.01.1002");
        elsewhere["latitude"] = json!(null);
        elsewhere["longitude"] = json!(null);
        let confidential = submit(&app, token(&t.member_b), &elsewhere).await;
        let moved = move_to(
            &app,
            token(&t.officer),
            id_of(&anonymous),
            json!({"status": "verified", "note": "Dicek", "assigned_agency": "Dinas PUPR"}),
        )
        .await;
        assert_eq!(moved.status().as_u16(), 200);
        for (visibility, body) in [
            ("internal", "CATATAN-INTERNAL-RAHASIA"),
            ("public", "Jawaban-publik-untuk-warga"),
        ] {
            let added = app
                .post_as(
                    &format!("/api/v1/reports/{}/comments", id_of(&first)),
                    token(&t.officer),
                    &json!({"body": body, "visibility": visibility}),
                )
                .await;
            assert_eq!(added.status().as_u16(), 201);
        }

        let (header, rows) = export(&app, token(&t.admin), "").await;
        assert_eq!(header[0], "id");
        let ids: Vec<i64> = rows.iter().map(|row| row[0].parse().expect("id")).collect();
        assert_eq!(
            ids,
            [id_of(&confidential), id_of(&anonymous), id_of(&first)],
            "newest first, confidential included for gov"
        );
        let cell = |row: &Vec<String>, name: &str| row[column(&header, name)].clone();
        let formula_row = &rows[2];
        assert_eq!(
            cell(formula_row, "title"),
            "'=HYPERLINK(\"http://jahat.example\",\"klik\")"
        );
        assert_eq!(
            cell(formula_row, "description"),
            "Baris satu, \"kutip\"\nbaris dua; @SUM(A1)",
            "a cell that does not start a formula is kept as typed"
        );
        assert_eq!(cell(formula_row, "reporter_name"), "'-Budi");
        assert_eq!(cell(formula_row, "reporter_contact"), "'+6281234567890");
        assert_eq!(
            cell(formula_row, "latitude"),
            "-5.1131",
            "numbers are left alone"
        );
        assert_eq!(cell(&rows[1], "status"), "verified");
        assert_eq!(cell(&rows[1], "assigned_agency"), "Dinas PUPR");
        assert_eq!(cell(&rows[1], "reporter_name"), "Siti Rahayu", "gov_admin");
        assert_eq!(cell(&rows[0], "latitude"), "");

        let (_, seen_by_officer) = export(&app, token(&t.officer), "").await;
        let anonymous_row = &seen_by_officer[1];
        assert_eq!(cell(anonymous_row, "reporter_name"), "");
        assert_eq!(cell(anonymous_row, "reporter_contact"), "");
        assert_eq!(cell(&seen_by_officer[2], "reporter_name"), "'-Budi");

        let whole = app
            .get_as("/api/v1/reports/export.csv", token(&t.admin))
            .await
            .text()
            .await
            .expect("body");
        assert!(!whole.contains("CATATAN-INTERNAL-RAHASIA"));
        assert!(!whole.contains("Jawaban-publik-untuk-warga"));

        let (_, verified) = export(&app, token(&t.officer), "?status=verified").await;
        assert_eq!(verified.len(), 1);
        let (_, in_1002) = export(&app, token(&t.officer), "?kelurahan_code=18.72.01.1002").await;
        assert_eq!(in_1002.len(), 1);
        let (header_only, none) = export(&app, token(&t.officer), "?status=resolved").await;
        assert!(none.is_empty());
        assert_eq!(header_only.len(), 26);
    })
    .await;
}

#[tokio::test]
async fn only_gov_exports_and_bad_filters_are_problems() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        submit(&app, token(&t.member_a), &report("normal")).await;
        for who in [
            token(&t.board_a),
            token(&t.member_a),
            t.writer.as_str(),
            t.reader.as_str(),
        ] {
            problem(app.get_as("/api/v1/reports/export.csv", who).await, 403).await;
        }
        problem(app.get("/api/v1/reports/export.csv").await, 401).await;
        for (query, field) in [
            ("status=selesai", "status"),
            ("cursor=abc", "cursor"),
            ("limit=5", "limit"),
            ("updated_since=abc", "updated_since"),
            ("from=kemarin", "from"),
        ] {
            let body = problem(
                app.get_as(
                    &format!("/api/v1/reports/export.csv?{query}"),
                    token(&t.admin),
                )
                .await,
                400,
            )
            .await;
            assert_eq!(body["errors"][0]["field"], field, "{query}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_long_export_has_every_report_once_in_order() {
    on_each_backend(async |app| {
        let data_dir = tempfile::TempDir::new().expect("temporary directory");
        let (_, password) = seeded(
            &app,
            data_dir.path(),
            &["--kims", "3", "--reports", "2345", "--bulletins", "1"],
        );
        let admin = app.session("demo.admin", &password).await.access_token;
        let (header, rows) = export(&app, &admin, "").await;
        let (id, created) = (column(&header, "id"), column(&header, "created_at"));
        let stored: i64 = app
            .db
            .read(|conn| Ok(report_rows::table.count().get_result::<i64>(conn)?))
            .await
            .expect("count");
        assert_eq!(rows.len() as i64, stored);
        assert_eq!(stored, 2345);
        let keys: Vec<(String, i64)> = rows
            .iter()
            .map(|row| (row[created].clone(), row[id].parse().expect("id")))
            .collect();
        let unique: HashSet<i64> = keys.iter().map(|(_, id)| *id).collect();
        assert_eq!(unique.len(), keys.len(), "no report twice");
        assert!(
            keys.windows(2).all(|pair| pair[0] >= pair[1]),
            "newest first throughout"
        );
        let listed: Value = json_of(app.get_as("/api/v1/reports?limit=1", &admin).await, 200).await;
        assert_eq!(listed["data"][0]["id"].as_i64(), Some(keys[0].1));
    })
    .await;
}
