//! The yardstick for `benches/load.sh`: a bare actix-web JSON handler, no middleware,
//! no database. `BIND_ADDR` (default 127.0.0.1:18090) and `HTTP_WORKERS` (default 1).

use actix_web::{App, HttpServer, get, web};
use serde::Serialize;

#[derive(Serialize)]
struct Greeting {
    id: i64,
    username: &'static str,
    role: &'static str,
}

#[get("/json")]
async fn json() -> web::Json<Greeting> {
    web::Json(Greeting {
        id: 1,
        username: "admin",
        role: "gov_admin",
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:18090".into());
    let workers = std::env::var("HTTP_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    HttpServer::new(|| App::new().service(json))
        .workers(workers)
        .bind(addr)?
        .run()
        .await
}
