//! Every XML answer (Open311 in `.xml`, the Atom feed) stays well-formed for a strict
//! parser, even when the database holds characters XML 1.0 forbids; and the text
//! policy refuses those characters on the way in, in JSON and in Open311 forms.

use diesel::prelude::*;
use kim_api::db::schema::{bulletins, report_categories, reports};
use serde_json::json;

use crate::helpers::{on_each_backend, problem, token};
use crate::python::run_script;
use crate::reports::{id_of, json_of, report, submit, town};

const HOSTILE: &str = "awal\u{FFFE}tengah\u{FFFF}\u{1}\u{1FFFF}akhir";

#[tokio::test]
async fn xml_outputs_parse_strictly_whatever_the_database_holds() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let created = submit(&app, token(&t.member_a), &report("normal")).await;
        let report_id = id_of(&created);
        let tracking = created["tracking_code"].as_str().expect("code").to_owned();
        let draft = json_of(
            app.post_as(
                "/api/v1/bulletins",
                token(&t.admin),
                &json!({"title": "Waspada banjir", "body": "Isi.", "category": "bencana",
                        "priority": "urgent", "audience": {"scope": "public"}}),
            )
            .await,
            201,
        )
        .await;
        let bulletin_id = id_of(&draft);
        json_of(
            app.post_as(
                &format!("/api/v1/bulletins/{bulletin_id}/publish"),
                token(&t.admin),
                &json!({}),
            )
            .await,
            200,
        )
        .await;
        app.db
            .write(move |conn| {
                diesel::update(reports::table.find(report_id))
                    .set((
                        reports::description.eq(HOSTILE),
                        reports::address.eq(Some(HOSTILE)),
                    ))
                    .execute(conn)?;
                diesel::update(bulletins::table.find(bulletin_id))
                    .set((bulletins::title.eq(HOSTILE), bulletins::body.eq(HOSTILE)))
                    .execute(conn)?;
                diesel::update(
                    report_categories::table.filter(report_categories::code.eq("infrastruktur")),
                )
                .set((
                    report_categories::name.eq(HOSTILE),
                    report_categories::description.eq(Some(HOSTILE)),
                ))
                .execute(conn)?;
                Ok(())
            })
            .await
            .expect("store hostile text");

        let mut documents = serde_json::Map::new();
        for path in [
            "/open311/v2/discovery.xml".to_owned(),
            "/open311/v2/services.xml".to_owned(),
            "/open311/v2/services/infrastruktur.xml".to_owned(),
            "/open311/v2/requests.xml".to_owned(),
            format!("/open311/v2/requests/{report_id}.xml"),
            format!("/open311/v2/tokens/{tracking}.xml"),
            "/api/v1/bulletins/feed.atom".to_owned(),
        ] {
            let response = app.get(&path).await;
            let status = response.status().as_u16();
            let text = response.text().await.expect("body");
            assert_eq!(status, 200, "{path}: {text}");
            documents.insert(path, json!(text));
        }
        let requests = documents["/open311/v2/requests.xml"]
            .as_str()
            .unwrap_or_default();
        assert!(
            requests.contains("awal\u{FFFD}tengah"),
            "the stored text is shown, its forbidden characters replaced: {requests}"
        );
        let Some(parsed) = run_script("strict_xml.py", &serde_json::Value::Object(documents))
        else {
            return;
        };
        assert_eq!(parsed.lines().count(), 7, "{parsed}");
    })
    .await;
}

#[tokio::test]
async fn noncharacters_are_refused_in_json_and_in_open311_forms() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        for bad in ["judul\u{FFFE}", "judul\u{FDD0}", "judul\u{10FFFF}"] {
            let mut body = report("normal");
            body["title"] = json!(bad);
            // The body's text is checked as it is read, before any field is judged.
            let refused = problem(
                app.post_as("/api/v1/reports", token(&t.member_a), &body)
                    .await,
                400,
            )
            .await;
            assert_eq!(refused["errors"][0]["field"], "title", "{refused}");
            assert_eq!(
                refused["errors"][0]["code"], "invalid_character",
                "{refused}"
            );
        }
        let category = problem(
            app.post_as(
                "/api/v1/report-categories",
                token(&t.admin),
                &json!({"code": "jalan", "name": "Jalan\u{FFFF}"}),
            )
            .await,
            400,
        )
        .await;
        assert_eq!(
            category["errors"][0]["code"], "invalid_character",
            "{category}"
        );

        let (_, _, api_key) = crate::open311::api_key(&app, token(&t.admin)).await;
        let api_key = api_key.as_str();
        let response = app
            .client
            .post(app.url("/open311/v2/requests.json"))
            .form(&[
                ("api_key", api_key),
                ("service_code", "infrastruktur"),
                ("attribute[kelurahan_code]", "18.72.01.1001"),
                ("lat", "-5.1131"),
                ("long", "105.3067"),
                ("description", "Jalan rusak\u{FFFE}"),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(response.status().as_u16(), 400);
        let errors: serde_json::Value = response.json().await.expect("json");
        assert!(
            errors[0]["description"]
                .as_str()
                .is_some_and(|text| text.contains("description")),
            "{errors}"
        );
        let listed = app.get("/open311/v2/requests.json").await;
        let listed: serde_json::Value = listed.json().await.expect("json");
        assert_eq!(listed.as_array().map(Vec::len), Some(0), "nothing stored");
    })
    .await;
}
