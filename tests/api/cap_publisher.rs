//! A CAP publisher for tests: a real HTTP server on loopback serving documents the
//! test puts (each with its own ETag, answering `If-None-Match` with 304, unknown paths
//! with 404) and recording every request's path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use tokio::sync::mpsc;

#[derive(Default)]
struct Documents {
    by_path: HashMap<String, (String, String)>,
    versions: u64,
}

struct Shared {
    documents: Mutex<Documents>,
    requests: mpsc::UnboundedSender<String>,
}

pub struct Publisher {
    base: String,
    shared: Arc<Shared>,
    requests: mpsc::UnboundedReceiver<String>,
    _server: actix_web::dev::ServerHandle,
}

impl Publisher {
    pub fn start() -> Publisher {
        let (sender, requests) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            documents: Mutex::new(Documents::default()),
            requests: sender,
        });
        let data = web::Data::from(shared.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(serve))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Publisher {
            base: format!("http://127.0.0.1:{port}"),
            shared,
            requests,
            _server: handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Serves `body` at `path` from now on, under a new ETag.
    pub fn put(&self, path: &str, body: impl Into<String>) {
        let mut documents = self.shared.documents.lock().expect("documents");
        documents.versions += 1;
        let etag = format!("\"v{}\"", documents.versions);
        documents
            .by_path
            .insert(path.to_owned(), (etag, body.into()));
    }

    /// Paths requested and not yet taken.
    pub fn requested(&mut self) -> Vec<String> {
        let mut taken = Vec::new();
        while let Ok(path) = self.requests.try_recv() {
            taken.push(path);
        }
        taken
    }
}

async fn serve(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let path = req.path().to_owned();
    let _ = shared.requests.send(path.clone());
    let found = shared
        .documents
        .lock()
        .expect("documents")
        .by_path
        .get(&path)
        .cloned();
    let Some((etag, body)) = found else {
        return HttpResponse::NotFound().finish();
    };
    let unchanged = req
        .headers()
        .get("if-none-match")
        .and_then(|value| value.to_str().ok())
        == Some(etag.as_str());
    if unchanged {
        return HttpResponse::NotModified()
            .insert_header(("ETag", etag))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header(("ETag", etag))
        .content_type("application/xml")
        .body(body)
}
