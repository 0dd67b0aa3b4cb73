//! Early warnings in (SPEC §12): alert sources polled by the server, BMKG's real
//! documents (tests/fixtures/cap) and synthetic Kota Metro alerts in BMKG's shape,
//! served by a local publisher with ETags.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cap_publisher::Publisher;
use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::reports::json_of;

const GORONTALO: &str = include_str!("../fixtures/cap/bmkg-cap-id-CGT20260924002_alert.xml");
const NOWCAST_RSS: &str = include_str!("../fixtures/cap/bmkg-nowcast-rss-id.xml");
const BMKG: &str = "cuaca.ekstrem@bmkg.go.id";
/// Inside the synthetic kelurahan 18.72.01.1001 (KIM Alpha's).
const OVER_ALPHA: &str = "-5.20,105.25 -5.17,105.25 -5.17,105.28 -5.20,105.28 -5.20,105.25";
/// A corner of Kota Metro where no KIM stands.
const EMPTY_CORNER: &str = "-5.24,105.16 -5.23,105.16 -5.23,105.17 -5.24,105.17 -5.24,105.16";

/// A SYNTHETIC alert (not issued by BMKG) in the shape of BMKG's nowcasts.
struct Synthetic<'a> {
    identifier: &'a str,
    msg_type: &'a str,
    references: Option<&'a str>,
    status: &'a str,
    severity: &'a str,
    headline: &'a str,
    description: &'a str,
    polygon: &'a str,
    expires_in_hours: i64,
}

impl Default for Synthetic<'_> {
    fn default() -> Self {
        Synthetic {
            identifier: "2.49.0.1.360.0.2026.12.07.99.18.001",
            msg_type: "Alert",
            references: None,
            status: "Actual",
            severity: "Severe",
            headline: "Hujan Lebat disertai Petir di Kota Metro",
            description: "Hujan lebat disertai petir akan terjadi di sebagian wilayah Lampung.",
            polygon: OVER_ALPHA,
            expires_in_hours: 3,
        }
    }
}

fn cap_time(at: chrono::DateTime<chrono::Utc>) -> String {
    let wib = chrono::FixedOffset::east_opt(7 * 3600).expect("offset");
    at.with_timezone(&wib)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

impl Synthetic<'_> {
    fn xml(&self) -> String {
        let now = kim_api::clock::now();
        let references = self
            .references
            .map(|identifier| {
                format!(
                    "<references>{BMKG},{identifier},{}</references>",
                    cap_time(now)
                )
            })
            .unwrap_or_default();
        format!(
            r#"<?xml version="1.0" ?>
<?xml-stylesheet type="text/xsl" href="/cap/nowcast-cap-style.xsl"?>
<!-- SYNTHETIC test alert, not issued by BMKG -->
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>{BMKG}</sender>
  <sent>{sent}</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {references}
  <info>
    <language>id</language>
    <category>Met</category>
    <event>Hujan Lebat dan Petir</event>
    <urgency>Immediate</urgency>
    <severity>{severity}</severity>
    <certainty>Observed</certainty>
    <effective>{sent}</effective>
    <expires>{expires}</expires>
    <senderName>Badan Meteorologi Klimatologi dan Geofisika</senderName>
    <headline>{headline}</headline>
    <description>{description}</description>
    <area>
      <areaDesc>Lampung</areaDesc>
      <polygon>{polygon}</polygon>
    </area>
  </info>
</alert>"#,
            identifier = self.identifier,
            sent = cap_time(now),
            status = self.status,
            msg_type = self.msg_type,
            severity = self.severity,
            expires = cap_time(now + chrono::Duration::hours(self.expires_in_hours)),
            headline = self.headline,
            description = self.description,
            polygon = self.polygon,
        )
    }
}

/// BMKG's real feed with its links pointed at the local publisher.
fn publisher_feed(publisher: &Publisher) -> String {
    NOWCAST_RSS.replace(
        "https://www.bmkg.go.id/alerts/nowcast/id/",
        &publisher.url("/alerts/nowcast/id/"),
    )
}

async fn create_source(app: &TestApp, admin: &str, body: Value) -> Value {
    json_of(
        app.post_as("/api/v1/alert-sources", admin, &body).await,
        201,
    )
    .await
}

/// The source's poll log once it holds `count` polls (the poller runs every 2 s; there
/// is nothing to await but the log itself).
async fn polls(app: &TestApp, admin: &str, source: &Value, count: usize) -> Vec<Value> {
    let path = format!("/api/v1/alert-sources/{}/polls", source["id"]);
    for _ in 0..600 {
        let page = json_of(app.get_as(&path, admin).await, 200).await;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        if data.len() >= count {
            return data;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("source {} was not polled {count} times", source["id"]);
}

/// Moves the clock past the source's interval, so that it is due again.
fn next_interval(app: &TestApp) {
    app.advance_clock(chrono::Duration::seconds(61));
}

async fn bulletin(app: &TestApp, admin: &str, id: &Value) -> Value {
    json_of(
        app.get_as(&format!("/api/v1/bulletins/{id}"), admin).await,
        200,
    )
    .await
}

#[tokio::test]
async fn gov_admins_manage_sources_and_bad_input_is_refused() {
    on_each_backend(async |app| {
        let t = crate::helpers::town(&app).await;
        let admin = token(&t.admin);
        let source = create_source(
            &app,
            admin,
            json!({"url": "https://www.bmkg.go.id/alerts/nowcast/id/rss.xml", "active": false}),
        )
        .await;
        assert_eq!(source["poll_interval_secs"], 300);
        assert_eq!(source["min_severity"], "moderate");
        assert_eq!(source["mode"], "draft");
        assert_eq!(source["active"], false);
        let path = format!("/api/v1/alert-sources/{}", source["id"]);

        for (body, field) in [
            (json!({"url": "ftp://bmkg.go.id/rss.xml"}), "url"),
            (
                json!({"url": "https://bmkg.go.id/a", "poll_interval_secs": 10}),
                "poll_interval_secs",
            ),
            (
                json!({"url": "https://bmkg.go.id/a", "poll_interval_secs": 90000}),
                "poll_interval_secs",
            ),
        ] {
            let refused = problem(
                app.post_as("/api/v1/alert-sources", admin, &body).await,
                422,
            )
            .await;
            assert_eq!(refused["errors"][0]["field"], field, "{refused}");
        }
        for body in [
            json!({"url": "https://bmkg.go.id/a", "mode": "sometimes"}),
            json!({"url": "https://bmkg.go.id/a", "colour": "red"}),
            json!({"poll_interval_secs": 60}),
        ] {
            problem(
                app.post_as("/api/v1/alert-sources", admin, &body).await,
                400,
            )
            .await;
        }
        for user in [&t.officer, &t.board_a, &t.member_a] {
            problem(app.get_as("/api/v1/alert-sources", token(user)).await, 403).await;
            problem(
                app.post_as(
                    "/api/v1/alert-sources",
                    token(user),
                    &json!({"url": "https://bmkg.go.id/a"}),
                )
                .await,
                403,
            )
            .await;
        }
        problem(app.get("/api/v1/alert-sources").await, 401).await;
        problem(
            app.get_as("/api/v1/alert-sources", "forged.token.value")
                .await,
            401,
        )
        .await;
        problem(app.get_as("/api/v1/alert-sources/999999", admin).await, 404).await;
        problem(
            app.get_as("/api/v1/alert-sources?colour=red", admin).await,
            400,
        )
        .await;

        let listed = json_of(app.get_as("/api/v1/alert-sources", admin).await, 200).await;
        assert_eq!(listed["data"][0]["id"], source["id"]);
        let changed = app
            .client
            .patch(app.url(&path))
            .bearer_auth(admin)
            .header("If-Match", "\"1\"")
            .json(&json!({"mode": "publish", "min_severity": "severe"}))
            .send()
            .await
            .expect("send");
        let changed = json_of(changed, 200).await;
        assert_eq!(
            (changed["mode"].as_str(), changed["version"].as_i64()),
            (Some("publish"), Some(2))
        );
        let stale = app
            .client
            .patch(app.url(&path))
            .bearer_auth(admin)
            .header("If-Match", "\"1\"")
            .json(&json!({"active": true}))
            .send()
            .await
            .expect("send");
        problem(stale, 412).await;
        let polls = json_of(app.get_as(&format!("{path}/polls"), admin).await, 200).await;
        assert_eq!(polls["data"], json!([]), "an inactive source is not polled");
        let deleted = app
            .client
            .delete(app.url(&path))
            .bearer_auth(admin)
            .send()
            .await
            .expect("send");
        assert_eq!(deleted.status().as_u16(), 204);
        problem(app.get_as(&path, admin).await, 404).await;
    })
    .await;
}

#[tokio::test]
async fn bmkg_nowcast_feed_is_read_and_its_gorontalo_alert_skipped_with_the_reason() {
    on_each_backend(async |app| {
        let t = crate::helpers::town(&app).await;
        let admin = token(&t.admin);
        let mut publisher = Publisher::start();
        // BMKG's real feed and alert; the feed's links point at the local publisher.
        publisher.put("/alerts/nowcast/id/rss.xml", publisher_feed(&publisher));
        publisher.put("/alerts/nowcast/id/CGT20260924002_alert.xml", GORONTALO);
        let source = create_source(
            &app,
            admin,
            json!({"url": publisher.url("/alerts/nowcast/id/rss.xml"), "min_severity": "minor"}),
        )
        .await;
        let poll = &polls(&app, admin, &source, 1).await[0];
        assert_eq!(poll["outcome"], "fetched", "{poll}");
        assert_eq!(poll["http_status"], 200);
        assert_eq!(
            (poll["alerts_seen"].as_i64(), poll["skipped"].as_i64()),
            (Some(2), Some(2))
        );
        let items = poll["items"].as_array().expect("items");
        assert_eq!(
            items[0]["identifier"],
            "2.49.0.1.360.0.2026.09.24.07.75.002"
        );
        assert_eq!(
            items[0]["reason"], "the alert's areas lie outside Kota Metro",
            "{poll}"
        );
        assert_eq!(items[1]["reason"], "the alert's URL answered 404");
        assert_eq!(poll["created"], 0, "nothing made");

        // The feed changes (a new ETag); the alert it lists under a known `guid` is not
        // fetched again, the one that failed is.
        publisher.requested();
        let feed = publisher_feed(&publisher);
        publisher.put("/alerts/nowcast/id/rss.xml", feed);
        app.advance_clock(chrono::Duration::seconds(301));
        let poll = &polls(&app, admin, &source, 2).await[0];
        let items = poll["items"].as_array().expect("items");
        assert_eq!(items[0]["reason"], "already taken in", "{poll}");
        assert_eq!(
            items[0]["identifier"],
            "2.49.0.1.360.0.2026.09.24.07.75.002"
        );
        assert_eq!(
            publisher.requested(),
            [
                "/alerts/nowcast/id/rss.xml",
                "/alerts/nowcast/id/CLG20260924001_alert.xml"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_polygon_over_a_kim_publishes_then_updates_and_cancels_its_bulletin() {
    on_each_backend(async |app| {
        let t = crate::helpers::town(&app).await;
        let admin = token(&t.admin);
        let placed = json!({"location": {"latitude": -5.185, "longitude": 105.265}});
        json_of(app.patch_as(&format!("/api/v1/kims/{}", t.kim_a), admin, &placed).await, 200).await;
        let publisher = Publisher::start();
        let first = Synthetic::default();
        publisher.put("/alert.xml", first.xml());
        let source = create_source(
            &app,
            admin,
            json!({"url": publisher.url("/alert.xml"), "mode": "publish", "poll_interval_secs": 60}),
        )
        .await;
        let poll = &polls(&app, admin, &source, 1).await[0];
        assert_eq!(poll["created"], 1, "{poll}");
        let id = poll["items"][0]["bulletin_id"].clone();
        let made = bulletin(&app, admin, &id).await;
        assert_eq!(made["status"], "published");
        assert_eq!((made["priority"].as_str(), made["category"].as_str()), (Some("urgent"), Some("bencana")));
        assert_eq!(made["audience"], json!({"scope": "kims", "codes": [], "kim_ids": [t.kim_a]}));
        assert_eq!(made["source"], source["id"]);
        assert_eq!(made["cap_identifier"], first.identifier);
        assert_eq!((made["severity"].as_str(), made["cap_category"].as_str()), (Some("severe"), Some("met")));
        // KIM Alpha sees it; KIM Gamma, outside the polygon, does not.
        json_of(app.get_as(&format!("/api/v1/bulletins/{id}"), token(&t.member_a)).await, 200).await;
        problem(app.get_as(&format!("/api/v1/bulletins/{id}"), token(&t.member_c)).await, 404).await;

        // Unchanged: a conditional GET answered 304, nothing made.
        next_interval(&app);
        let poll = &polls(&app, admin, &source, 2).await[0];
        assert_eq!((poll["outcome"].as_str(), poll["http_status"].as_i64()), (Some("not_modified"), Some(304)), "{poll}");

        let update = Synthetic {
            identifier: "2.49.0.1.360.0.2026.12.07.99.18.002",
            msg_type: "Update",
            references: Some(first.identifier),
            headline: "Hujan Lebat meluas di Kota Metro",
            ..Synthetic::default()
        };
        publisher.put("/alert.xml", update.xml());
        next_interval(&app);
        let poll = &polls(&app, admin, &source, 3).await[0];
        assert_eq!((poll["updated"].as_i64(), poll["items"][0]["bulletin_id"].clone()), (Some(1), id.clone()), "{poll}");
        assert_eq!(bulletin(&app, admin, &id).await["title"], "Hujan Lebat meluas di Kota Metro");

        let cancel = Synthetic {
            identifier: "2.49.0.1.360.0.2026.12.07.99.18.003",
            msg_type: "Cancel",
            references: Some(update.identifier),
            ..Synthetic::default()
        };
        publisher.put("/alert.xml", cancel.xml());
        next_interval(&app);
        let poll = &polls(&app, admin, &source, 4).await[0];
        assert_eq!(poll["archived"], 1, "{poll}");
        assert_eq!(bulletin(&app, admin, &id).await["status"], "archived");
        // Served again (a new ETag, the same alert): already taken in.
        publisher.put("/alert.xml", cancel.xml());
        next_interval(&app);
        let poll = &polls(&app, admin, &source, 5).await[0];
        assert_eq!(poll["items"][0]["reason"], "already taken in", "{poll}");
    })
    .await;
}

#[tokio::test]
async fn names_in_the_description_draft_mode_the_minimum_severity_and_expiry() {
    on_each_backend(async |app| {
        let t = crate::helpers::town(&app).await;
        let admin = token(&t.admin);
        let publisher = Publisher::start();
        let named = Synthetic {
            polygon: EMPTY_CORNER,
            description: "Hujan lebat akan terjadi di sebagian wilayah Lampung, khususnya di METRO PUSAT, METRO KIBANG.",
            ..Synthetic::default()
        };
        let minor = Synthetic {
            identifier: "synthetic-minor",
            severity: "Minor",
            ..Synthetic::default()
        };
        let exercise = Synthetic {
            identifier: "synthetic-exercise",
            status: "Exercise",
            ..Synthetic::default()
        };
        let feed = format!(
            "<rss version=\"2.0\"><channel><title>SYNTHETIC</title>{}</channel></rss>",
            ["/named.xml", "/minor.xml", "/exercise.xml"]
                .iter()
                .map(|path| format!("<item><link>{path}</link></item>"))
                .collect::<String>()
        );
        publisher.put("/rss.xml", feed);
        publisher.put("/named.xml", named.xml());
        publisher.put("/minor.xml", minor.xml());
        publisher.put("/exercise.xml", exercise.xml());
        let source = create_source(&app, admin, json!({"url": publisher.url("/rss.xml")})).await;
        let poll = &polls(&app, admin, &source, 1).await[0];
        let items = poll["items"].as_array().expect("items");
        assert_eq!(items[0]["outcome"], "created", "{poll}");
        assert_eq!(items[1]["reason"], "severity minor is below the source's minimum moderate");
        assert_eq!(items[2]["reason"], "not an Actual alert (a test, an exercise or a draft)");
        let draft = bulletin(&app, admin, &items[0]["bulletin_id"]).await;
        assert_eq!(draft["status"], "draft", "draft mode: an officer publishes");
        assert_eq!(draft["audience"], json!({"scope": "kecamatan", "codes": ["18.72.01"], "kim_ids": []}));
        // Members see nothing until it is published.
        let id = draft["id"].clone();
        problem(app.get_as(&format!("/api/v1/bulletins/{id}"), token(&t.member_a)).await, 404).await;
        let published = app
            .client
            .post(app.url(&format!("/api/v1/bulletins/{id}/publish")))
            .bearer_auth(token(&t.officer))
            .send()
            .await
            .expect("send");
        json_of(published, 200).await;
        json_of(app.get_as(&format!("/api/v1/bulletins/{id}"), token(&t.member_b)).await, 200).await;
        // Past its expiry the alert's bulletin is archived by the poller (read from the
        // database: the tokens have expired too).
        app.advance_clock(chrono::Duration::hours(4));
        let id = id.as_i64().expect("id");
        for _ in 0..600 {
            let status: String = app
                .db
                .read(move |conn| {
                    use diesel::prelude::*;
                    use kim_api::db::schema::bulletins;
                    Ok(bulletins::table.find(id).select(bulletins::status).first(conn)?)
                })
                .await
                .expect("status");
            if status == "archived" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the expired alert's bulletin was not archived");
    })
    .await;
}

#[tokio::test]
async fn hostile_and_broken_documents_are_refused_with_the_reason() {
    on_each_backend(async |app| {
        let t = crate::helpers::town(&app).await;
        let admin = token(&t.admin);
        let publisher = Publisher::start();
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<alert>&lol1;</alert>"#;
        let external = r#"<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><alert>&xxe;</alert>"#;
        let oversize = format!("<rss>{}</rss>", " ".repeat(3 * 1024 * 1024));
        for (path, body, reason) in [
            ("/laughs.xml", laughs.to_owned(), "document type (DTD)"),
            ("/external.xml", external.to_owned(), "document type (DTD)"),
            ("/oversize.xml", oversize, "larger than"),
            ("/html.xml", "<html><body>Maintenance</body></html>".to_owned(), "found <html>"),
            ("/broken.xml", "<alert><identifier>x</alert>".to_owned(), "not well-formed"),
        ] {
            publisher.put(path, body);
            let source = create_source(&app, admin, json!({"url": publisher.url(path)})).await;
            let poll = &polls(&app, admin, &source, 1).await[0];
            assert_eq!(poll["outcome"], "failed", "{path}: {poll}");
            let error = poll["error"].as_str().expect("a reason");
            assert!(error.contains(reason), "{path}: {error}");
        }
        // The service is still serving.
        json_of(app.get("/health/ready").await, 200).await;
    })
    .await;
}

/// Both instances' pollers, run at once and awaited (their background loops race them
/// too: the claim decides).
async fn poll_on_both(first: &TestApp, second: &TestApp) {
    let poller = || {
        std::sync::Arc::new(kim_api::alert_sources::poll::AlertPoller {
            sender: kim_api::outbound::sender::Sender::new(Duration::from_secs(10), true)
                .expect("sender"),
            shutdown: kim_api::shutdown::Shutdown::new(),
        })
    };
    let (a, b) = tokio::join!(
        kim_api::alert_sources::poll::poll_due(&first.db, poller()),
        kim_api::alert_sources::poll::poll_due(&second.db, poller()),
    );
    a.expect("first instance polled");
    b.expect("second instance polled");
}

#[tokio::test]
async fn two_instances_poll_a_source_once_per_interval() {
    on_each_backend(async |app| {
        let t = crate::helpers::town(&app).await;
        let admin = token(&t.admin);
        let second = crate::helpers::spawn_instance(&app, |_| {}).await;
        let mut publisher = Publisher::start();
        publisher.put("/alert.xml", Synthetic::default().xml());
        let source = create_source(
            &app,
            admin,
            json!({"url": publisher.url("/alert.xml"), "poll_interval_secs": 60, "mode": "publish"}),
        )
        .await;
        poll_on_both(&app, &second).await;
        // Whichever instance claimed it, the claim moved the next poll a minute on: on the
        // service's clock nothing is due again, so one poll is all there will be.
        let log = polls(&second, admin, &source, 1).await;
        assert_eq!(log.len(), 1, "one poll in the interval: {log:?}");
        assert_eq!(publisher.requested(), ["/alert.xml"]);

        next_interval(&app);
        poll_on_both(&app, &second).await;
        let log = polls(&app, admin, &source, 2).await;
        assert_eq!(log.len(), 2, "one more poll in the next interval: {log:?}");
        assert_eq!(publisher.requested(), ["/alert.xml"]);
    })
    .await;
}

/// The interval bounds in the document are the ones enforced (and the migration's).
#[test]
fn documented_poll_interval_bounds_are_the_enforced_ones() {
    let document: Value = serde_json::from_str(&kim_api::routes::openapi_json()).expect("json");
    let (shortest, longest) = kim_api::alert_sources::model::POLL_INTERVAL_SECS;
    for schema in ["NewAlertSourceRequest", "AlertSourceChanges", "AlertSource"] {
        let field = &document["components"]["schemas"][schema]["properties"]["poll_interval_secs"];
        assert_eq!(field["minimum"], shortest, "{schema}: {field}");
        assert_eq!(field["maximum"], longest, "{schema}: {field}");
    }
    let migration =
        include_str!("../../migrations/postgres/2026-12-07-000037_alert_sources/up.sql");
    assert!(migration.contains(&format!("BETWEEN {shortest} AND {longest}")));
}
