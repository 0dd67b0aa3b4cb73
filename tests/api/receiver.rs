//! A webhook receiver for tests: a real HTTP server on loopback that records every
//! request and answers as the test plans (a status, or never).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use tokio::sync::mpsc;

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Keeps the request open and never answers.
    Hang,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// The body as sent, for binary ones (an encrypted push message).
    pub raw: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    pub fn webhook_id(&self) -> &str {
        &self.headers["webhook-id"]
    }
}

struct Plan {
    replies: Mutex<VecDeque<Reply>>,
    then: Reply,
    seen: mpsc::UnboundedSender<Received>,
}

pub struct Receiver {
    pub url: String,
    seen: mpsc::UnboundedReceiver<Received>,
    _server: actix_web::dev::ServerHandle,
}

impl Receiver {
    /// Answers with `first` in order, then with `then` for every later request.
    pub fn start(first: &[Reply], then: Reply) -> Self {
        let (sender, seen) = mpsc::unbounded_channel();
        let plan = web::Data::new(Plan {
            replies: Mutex::new(first.iter().copied().collect()),
            then,
            seen: sender,
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(plan.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks/kim"),
            seen,
            _server: handle,
        }
    }

    /// The next request, waiting for it at most `within`.
    pub async fn next_within(&mut self, within: Duration) -> Received {
        tokio::time::timeout(within, self.seen.recv())
            .await
            .expect("a delivery arrived in time")
            .expect("the receiver runs")
    }

    pub async fn next(&mut self) -> Received {
        self.next_within(Duration::from_secs(30)).await
    }

    /// Requests already received and not yet taken.
    pub fn drain(&mut self) -> Vec<Received> {
        let mut taken = Vec::new();
        while let Ok(received) = self.seen.try_recv() {
            taken.push(received);
        }
        taken
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, plan: web::Data<Plan>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let reply = plan
        .replies
        .lock()
        .expect("plan")
        .pop_front()
        .unwrap_or(plan.then);
    let _ = plan.seen.send(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        raw: body.to_vec(),
    });
    match reply {
        Reply::Status(status) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a status"))
                .finish()
        }
        Reply::Hang => std::future::pending().await,
    }
}
