//! The receiver of `benches/webhooks.sh`: takes deliveries, notes for each the time
//! from its event (the body's `timestamp`, written in the committing transaction) to
//! its arrival, and answers the figures at `GET /stats`; `POST /reset` starts over.
//! `BIND_ADDR` (default 127.0.0.1:18491).

use std::sync::Mutex;
use std::time::Instant;

use actix_web::{App, HttpResponse, HttpServer, web};

#[derive(Default)]
struct Seen {
    latencies_ms: Vec<f64>,
    first: Option<Instant>,
    last: Option<Instant>,
}

async fn receive(body: web::Bytes, seen: web::Data<Mutex<Seen>>) -> HttpResponse {
    let arrived = chrono::Utc::now();
    let at = Instant::now();
    let event: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(_) => return HttpResponse::BadRequest().finish(),
    };
    let Some(occurred) = event["timestamp"]
        .as_str()
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
    else {
        return HttpResponse::BadRequest().finish();
    };
    let latency = (arrived - occurred.with_timezone(&chrono::Utc)).as_seconds_f64() * 1000.0;
    let mut seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    seen.latencies_ms.push(latency);
    seen.first.get_or_insert(at);
    seen.last = Some(at);
    HttpResponse::NoContent().finish()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn stats(seen: web::Data<Mutex<Seen>>) -> HttpResponse {
    let seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut sorted = seen.latencies_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let span = match (seen.first, seen.last) {
        (Some(first), Some(last)) => (last - first).as_secs_f64(),
        _ => 0.0,
    };
    HttpResponse::Ok().json(serde_json::json!({
        "count": sorted.len(),
        "p50_ms": percentile(&sorted, 50.0),
        "p99_ms": percentile(&sorted, 99.0),
        "max_ms": sorted.last().copied().unwrap_or(0.0),
        "per_second": if span > 0.0 { sorted.len() as f64 / span } else { 0.0 },
    }))
}

async fn reset(seen: web::Data<Mutex<Seen>>) -> HttpResponse {
    *seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Seen::default();
    HttpResponse::NoContent().finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:18491".into());
    let seen = web::Data::new(Mutex::new(Seen::default()));
    HttpServer::new(move || {
        App::new()
            .app_data(seen.clone())
            .route("/stats", web::get().to(stats))
            .route("/reset", web::post().to(reset))
            .route("/hook", web::post().to(receive))
    })
    .workers(1)
    .bind(addr)?
    .run()
    .await
}
