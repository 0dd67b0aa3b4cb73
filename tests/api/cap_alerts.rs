//! Urgent bulletins as CAP 1.2 alerts (SPEC §12): every document validates against the
//! OASIS schema and CAP's §3 rules (tests/python/cap_validate.py), an edit is an
//! Update and archiving a Cancel, each referencing the earlier messages, and an alert
//! is shown to whoever could see its bulletin.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, on_each_backend, problem, token};
use crate::places::import_boundaries;
use crate::python;
use crate::reports::{json_of, town};

/// The CAP document of bulletin `id` as `caller` (anonymous with `None`) gets it.
async fn alert_of(app: &TestApp, id: i64, caller: Option<&TestUser>) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(&format!("/api/v1/bulletins/{id}.cap")));
    if let Some(user) = caller {
        request = request.bearer_auth(token(user));
    }
    request.send().await.expect("get")
}

async fn cap_text(response: reqwest::Response) -> String {
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/cap+xml");
    response.text().await.expect("text")
}

/// The document checked by the schema and the §3 rules; its elements by name.
fn validated(document: &str) -> Option<Value> {
    let checked = python::run_script("cap_validate.py", &json!({"documents": [document]}))?;
    let checked: Value = serde_json::from_str(&checked).expect("json");
    let checked = checked[0].clone();
    assert_eq!(checked["errors"], json!([]), "{document}");
    Some(checked)
}

async fn draft(app: &TestApp, admin: &TestUser, body: Value) -> i64 {
    let created = json_of(
        app.post_as("/api/v1/bulletins", token(admin), &body).await,
        201,
    )
    .await;
    created["id"].as_i64().expect("id")
}

async fn act(app: &TestApp, admin: &TestUser, id: i64, action: &str) -> Value {
    json_of(
        app.post_as(
            &format!("/api/v1/bulletins/{id}/{action}"),
            token(admin),
            &json!({}),
        )
        .await,
        200,
    )
    .await
}

#[tokio::test]
async fn an_urgent_bulletin_is_an_alert_then_an_update_then_a_cancel() {
    // The Python environment first: made while connections wait, they would go stale.
    let _ = python::enabled().then(python::python);
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = draft(&app, &t.admin, json!({
            "title": "Banjir di Metro Pusat", "body": "Air setinggi 50 cm di Jl. Ahmad Yani & sekitarnya <segera>.",
            "category": "bencana", "priority": "urgent", "audience": {"scope": "public"},
            "event": "Banjir", "instruction": "Hindari Jl. Ahmad Yani.", "severity": "extreme",
        }))
        .await;
        // A draft is no alert yet.
        problem(alert_of(&app, id, Some(&t.admin)).await, 404).await;
        let published = act(&app, &t.admin, id, "publish").await;
        assert_eq!(published["event"], "Banjir");
        assert_eq!(published["severity"], "extreme");
        assert_eq!(published["urgency"], Value::Null);

        let alert = cap_text(alert_of(&app, id, None).await).await;
        let Some(checked) = validated(&alert) else { return };
        let fields = &checked["alert"];
        assert_eq!(fields["msgType"], "Alert");
        assert_eq!(fields["scope"], "Public");
        assert_eq!(fields["sender"], "kim@metrokota.example.id");
        assert_eq!(fields["identifier"], format!("kim-api.bulletin.{id}.1"));
        assert!(fields["sent"].as_str().expect("sent").ends_with("+07:00"), "{fields}");
        assert_eq!(fields["event"], "Banjir");
        assert_eq!(fields["severity"], "Extreme");
        // Left out: the category's defaults.
        assert_eq!(fields["urgency"], "Immediate");
        assert_eq!(fields["category"], "Safety");
        assert_eq!(fields["responseType"], "Prepare");
        assert_eq!(fields["instruction"], "Hindari Jl. Ahmad Yani.");
        assert_eq!(fields["description"], "Air setinggi 50 cm di Jl. Ahmad Yani & sekitarnya <segera>.");
        assert_eq!(fields["web"], app.url(&format!("/api/v1/bulletins/{id}")));
        assert_eq!(checked["areas"][0]["areaDesc"], "Kota Metro");
        assert_eq!(checked["areas"][0]["geocodes"], json!([["KEMENDAGRI", "18.72"]]));
        // The same document by content negotiation.
        let negotiated = app
            .client
            .get(app.url(&format!("/api/v1/bulletins/{id}")))
            .header("Accept", "application/cap+xml")
            .send()
            .await
            .expect("get");
        assert_eq!(cap_text(negotiated).await, alert);

        let edited = app
            .client
            .patch(app.url(&format!("/api/v1/bulletins/{id}")))
            .bearer_auth(token(&t.admin))
            .header("If-Match", format!("\"{}\"", published["version"]))
            .json(&json!({"title": "Banjir meluas di Metro Pusat", "urgency": "expected"}))
            .send()
            .await
            .expect("patch");
        assert_eq!(edited.status().as_u16(), 200);
        let update = cap_text(alert_of(&app, id, None).await).await;
        let checked = validated(&update).expect("validated");
        let fields = &checked["alert"];
        assert_eq!(fields["msgType"], "Update");
        assert_eq!(fields["identifier"], format!("kim-api.bulletin.{id}.2"));
        assert_eq!(fields["headline"], "Banjir meluas di Metro Pusat");
        assert_eq!(fields["urgency"], "Expected");
        let first = format!("kim@metrokota.example.id,kim-api.bulletin.{id}.1,");
        assert!(fields["references"].as_str().expect("references").starts_with(&first), "{fields}");

        act(&app, &t.admin, id, "archive").await;
        // Archived, the bulletin leaves the public's lists, but its Cancel is still
        // answered to those who saw the alert.
        let cancel = cap_text(alert_of(&app, id, None).await).await;
        let checked = validated(&cancel).expect("validated");
        let fields = &checked["alert"];
        assert_eq!(fields["msgType"], "Cancel");
        assert_eq!(fields["identifier"], format!("kim-api.bulletin.{id}.3"));
        let references: Vec<&str> = fields["references"].as_str().expect("references").split(' ').collect();
        assert_eq!(references.len(), 2, "{references:?}");
        assert!(references[1].contains(&format!("kim-api.bulletin.{id}.2,")));
    })
    .await;
}

#[tokio::test]
async fn a_kims_only_alert_is_restricted_drawn_by_its_areas_and_shown_to_its_readers() {
    let _ = python::enabled().then(python::python);
    on_each_backend(async |app| {
        let t = town(&app).await;
        import_boundaries(&app).await;
        let id = draft(
            &app,
            &t.admin,
            json!({
                "title": "Angin kencang", "body": "Waspada pohon tumbang.", "category": "keamanan",
                "priority": "urgent", "audience": {"scope": "kecamatan", "codes": ["18.72.01"]},
            }),
        )
        .await;
        act(&app, &t.admin, id, "publish").await;
        // Not public: anonymous readers and KIMs outside the audience get nothing.
        problem(alert_of(&app, id, None).await, 404).await;
        problem(alert_of(&app, id, Some(&t.member_c)).await, 404).await;
        let alert = cap_text(alert_of(&app, id, Some(&t.member_a)).await).await;
        let Some(checked) = validated(&alert) else {
            return;
        };
        assert_eq!(checked["alert"]["scope"], "Restricted");
        assert!(checked["alert"]["restriction"].is_string());
        assert_eq!(checked["alert"]["category"], "Security");
        let area = &checked["areas"][0];
        assert_eq!(area["areaDesc"], "Metro Pusat");
        assert_eq!(area["geocodes"], json!([["KEMENDAGRI", "18.72.01"]]));
        assert_eq!(
            area["polygons"],
            json!(["-5.2,105.25 -5.2,105.28 -5.05,105.28 -5.05,105.25 -5.2,105.25"])
        );

        // A published bulletin that is not urgent is no alert; making it urgent is.
        let normal = draft(
            &app,
            &t.admin,
            json!({
                "title": "Posyandu", "body": "Jadwal posyandu.", "category": "kesehatan",
                "audience": {"scope": "public"},
            }),
        )
        .await;
        let published = act(&app, &t.admin, normal, "publish").await;
        problem(alert_of(&app, normal, None).await, 404).await;
        let urgent = app
            .client
            .patch(app.url(&format!("/api/v1/bulletins/{normal}")))
            .bearer_auth(token(&t.admin))
            .header("If-Match", format!("\"{}\"", published["version"]))
            .json(&json!({"priority": "urgent"}))
            .send()
            .await
            .expect("patch");
        assert_eq!(urgent.status().as_u16(), 200);
        let alert = cap_text(alert_of(&app, normal, None).await).await;
        let checked = validated(&alert).expect("validated");
        assert_eq!(checked["alert"]["msgType"], "Alert");
        assert_eq!(checked["alert"]["category"], "Health");
        problem(alert_of(&app, 999_999, None).await, 404).await;
    })
    .await;
}

#[tokio::test]
async fn cap_fields_are_checked() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let base = json!({"title": "Banjir", "body": "Air naik.", "category": "bencana",
                          "priority": "urgent", "audience": {"scope": "public"}});
        for (field, value, status, code) in [
            ("urgency", json!("soon"), 400, ""),
            ("cap_category", json!("Met"), 400, ""),
            ("response_type", json!("run"), 400, ""),
            ("event", json!("B".repeat(101)), 422, "invalid_length"),
            ("event", json!(""), 422, "invalid_length"),
            (
                "instruction",
                json!("I".repeat(2001)),
                422,
                "invalid_length",
            ),
        ] {
            let mut body = base.clone();
            body[field] = value;
            let refused = problem(
                app.post_as("/api/v1/bulletins", token(&t.admin), &body)
                    .await,
                status,
            )
            .await;
            if status == 422 {
                assert_eq!(refused["errors"][0]["field"], field, "{refused}");
                assert_eq!(refused["errors"][0]["code"], code, "{refused}");
            }
        }
        // `null` returns a field to its default.
        let mut body = base.clone();
        body["event"] = json!("Banjir bandang");
        body["response_type"] = json!("all_clear");
        let id = draft(&app, &t.admin, body).await;
        let current = json_of(
            app.get_as(&format!("/api/v1/bulletins/{id}"), token(&t.admin))
                .await,
            200,
        )
        .await;
        assert_eq!(current["response_type"], "all_clear");
        let cleared = app
            .client
            .patch(app.url(&format!("/api/v1/bulletins/{id}")))
            .bearer_auth(token(&t.admin))
            .header("If-Match", format!("\"{}\"", current["version"]))
            .json(&json!({"event": null}))
            .send()
            .await
            .expect("patch");
        let cleared: Value = cleared.json().await.expect("json");
        assert_eq!(cleared["event"], Value::Null);
        assert_eq!(cleared["response_type"], "all_clear");
    })
    .await;
}

#[tokio::test]
async fn the_alert_feed_lists_current_public_alerts_and_a_readers_restricted_ones() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let public = draft(
            &app,
            &t.admin,
            json!({
                "title": "Banjir", "body": "Air naik.", "category": "bencana",
                "priority": "urgent", "audience": {"scope": "public"},
            }),
        )
        .await;
        let restricted = draft(
            &app,
            &t.admin,
            json!({
                "title": "Angin kencang", "body": "Waspada.", "category": "keamanan",
                "priority": "urgent", "audience": {"scope": "kecamatan", "codes": ["18.72.01"]},
            }),
        )
        .await;
        let normal = draft(
            &app,
            &t.admin,
            json!({
                "title": "Posyandu", "body": "Jadwal.", "category": "kesehatan",
                "audience": {"scope": "public"},
            }),
        )
        .await;
        let expiring = draft(
            &app,
            &t.admin,
            json!({
                "title": "Jalan ditutup", "body": "Sementara.", "category": "infrastruktur",
                "priority": "urgent", "audience": {"scope": "public"},
                "expires_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(),
            }),
        )
        .await;
        let archived = draft(
            &app,
            &t.admin,
            json!({
                "title": "Kebakaran", "body": "Sudah padam.", "category": "bencana",
                "priority": "urgent", "audience": {"scope": "public"},
            }),
        )
        .await;
        for id in [public, restricted, normal, expiring, archived] {
            act(&app, &t.admin, id, "publish").await;
        }
        act(&app, &t.admin, archived, "archive").await;
        let listed = async |caller: Option<&TestUser>| {
            let mut request = app.client.get(app.url("/api/v1/alerts.atom"));
            if let Some(user) = caller {
                request = request.bearer_auth(token(user));
            }
            let answer = request.send().await.expect("get");
            assert_eq!(answer.status().as_u16(), 200);
            assert_eq!(
                answer.headers()["content-type"],
                "application/atom+xml; charset=utf-8"
            );
            let feed = atom_syndication::Feed::read_from(&answer.bytes().await.expect("body")[..])
                .expect("atom");
            feed.entries()
                .iter()
                .map(|entry| {
                    let link = &entry.links()[0];
                    assert_eq!(link.mime_type(), Some("application/cap+xml"));
                    link.href().to_owned()
                })
                .collect::<Vec<_>>()
        };
        let cap = |id: i64| app.url(&format!("/api/v1/bulletins/{id}.cap"));
        let mut anonymous = listed(None).await;
        anonymous.sort();
        let mut expected = vec![cap(public), cap(expiring)];
        expected.sort();
        assert_eq!(anonymous, expected);
        let member = listed(Some(&t.member_a)).await;
        assert!(member.contains(&cap(restricted)), "{member:?}");
        assert!(!listed(Some(&t.member_c)).await.contains(&cap(restricted)));
        // Expired, an alert leaves the feed.
        app.advance_clock(chrono::Duration::hours(2));
        assert_eq!(listed(None).await, vec![cap(public)]);
    })
    .await;
}

/// Simultaneous edits of one published urgent bulletin, each under the bulletin's lock,
/// issue one CAP `Update` apiece, numbered without a gap or a repeat (the identifier of
/// a message is its number).
#[tokio::test]
async fn simultaneous_edits_issue_one_numbered_update_each() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = draft(
            &app,
            &t.admin,
            json!({
            "title": "Banjir", "body": "Air naik.", "category": "bencana", "priority": "urgent",
            "audience": {"scope": "public"}}),
        )
        .await;
        act(&app, &t.admin, id, "publish").await;
        let edits = (0..8).map(|n| {
            app.client
                .patch(app.url(&format!("/api/v1/bulletins/{id}")))
                .bearer_auth(token(&t.admin))
                .json(&json!({"body": format!("Air naik, laporan {n}.")}))
                .send()
        });
        for answered in futures_util::future::join_all(edits).await {
            assert_eq!(answered.expect("send").status().as_u16(), 200);
        }
        let messages: Vec<(i32, String)> = app
            .db
            .read(move |conn| {
                use diesel::prelude::*;
                use kim_api::db::schema::bulletin_alerts;
                Ok(bulletin_alerts::table
                    .filter(bulletin_alerts::bulletin_id.eq(id))
                    .order(bulletin_alerts::seq)
                    .select((bulletin_alerts::seq, bulletin_alerts::msg_type))
                    .load(conn)?)
            })
            .await
            .expect("messages");
        let numbers: Vec<i32> = messages.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(numbers, (1..=9).collect::<Vec<_>>(), "{messages:?}");
        assert_eq!(messages[0].1, "Alert");
        assert!(
            messages[1..].iter().all(|(_, kind)| kind == "Update"),
            "{messages:?}"
        );
    })
    .await;
}
