//! Graceful shutdown of the real binary: SIGTERM while a submission and an upload are
//! half sent, a live stream is open and a webhook delivery hangs at its receiver.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout};

use crate::helpers::{TestDatabase, backends};
use crate::receiver::{Receiver, Reply};
use crate::report_durability::{kim_api, seed_one_kim, sign_in};
use crate::reports::{json_of, report};

/// Longer than the test ever waits: a delivery sent again within it was given back,
/// not left to run out (the lease is twice the timeout and 2 s).
const WEBHOOK_TIMEOUT_MS: &str = "60000";
const GRACE_SECS: &str = "8";

struct Served {
    child: Child,
    base: String,
    address: String,
    logs: Lines<BufReader<ChildStdout>>,
}

impl Served {
    async fn start(dir: &TempDir, database: &TestDatabase) -> Served {
        let mut child = kim_api(dir, database)
            .env("SHUTDOWN_GRACE_SECS", GRACE_SECS)
            .env("WEBHOOK_TIMEOUT_MS", WEBHOOK_TIMEOUT_MS)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start kim-api");
        let mut logs = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let listening = logged(&mut logs, "kim-api listening").await;
        let port = listening["port"].as_u64().expect("port");
        Served {
            child,
            base: format!("http://127.0.0.1:{port}"),
            address: format!("127.0.0.1:{port}"),
            logs,
        }
    }
}

/// The next log entry whose message starts with `message`.
async fn logged(logs: &mut Lines<BufReader<ChildStdout>>, message: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = logs.next_line().await.expect("read the log") {
            let entry: Value = serde_json::from_str(&line).unwrap_or_default();
            if entry["message"]
                .as_str()
                .is_some_and(|text| text.starts_with(message))
            {
                return entry;
            }
        }
        panic!("the log ended before {message:?}");
    })
    .await
    .expect("logged in time")
}

/// A request written by hand on its own connection: the head and the first half of the
/// body now, the rest when the test says.
struct HalfSent {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl HalfSent {
    async fn begin(address: &str, head: &str, body: &[u8]) -> HalfSent {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let head = format!(
            "{head}Host: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("head");
        let half = body.len() / 2;
        stream.write_all(&body[..half]).await.expect("first half");
        stream.flush().await.expect("flush");
        HalfSent {
            stream,
            rest: body[half..].to_vec(),
        }
    }

    /// Sends the rest and reads the whole answer: its status and its text.
    async fn finish(mut self) -> (u16, String) {
        self.stream.write_all(&self.rest).await.expect("the rest");
        answer_of(self.stream).await
    }
}

/// Reads an answer to its end (the connection closes after it).
async fn answer_of(mut stream: TcpStream) -> (u16, String) {
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .expect("a whole answer, no reset");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP answer: {text:?}"));
    (status, text)
}

/// Waits until connecting is refused: the instance stopped accepting.
async fn no_longer_accepting(address: &str) {
    for _ in 0..500 {
        if TcpStream::connect(address).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{address} still accepts connections 10 s after SIGTERM");
}

/// Opens an upload of `length` bytes; answers its path.
async fn open_upload(base: &str, token: &str, length: usize) -> String {
    let opened = reqwest::Client::new()
        .post(format!("{base}/api/v1/uploads"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .send()
        .await
        .expect("open an upload");
    assert_eq!(opened.status().as_u16(), 201);
    opened.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// SIGTERM: the half-sent submission and upload finish with their normal answers (no
/// 5xx, no reset); the live stream ends cleanly with a `retry:` hint; the hanging
/// delivery's lease is given back, so a new instance sends it at once; the process
/// exits 0; what was acknowledged is there afterwards.
#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish_and_gives_back_leases() {
    for backend in backends() {
        let database = TestDatabase::create(backend);
        let dir = TempDir::new().expect("dir");
        let password = seed_one_kim(&dir, &database).await;
        let mut receiver = Receiver::start(&[Reply::Hang], Reply::Status(200));
        let mut first = Served::start(&dir, &database).await;
        let base = first.base.clone();
        let admin = sign_in(&base, "demo.admin", &password).await;
        let member = sign_in(&base, "anggota.kim1", &password).await;
        let subscribed = reqwest::Client::new()
            .post(format!("{base}/api/v1/webhooks"))
            .bearer_auth(&admin)
            .json(&json!({"url": receiver.url, "events": ["report.created"]}))
            .send()
            .await
            .expect("subscribe");
        json_of(subscribed, 201).await;
        let first_report = reqwest::Client::new()
            .post(format!("{base}/api/v1/reports"))
            .bearer_auth(&member)
            .json(&report("normal"))
            .send()
            .await
            .expect("submit");
        json_of(first_report, 201).await;
        let hanging = receiver.next().await;

        let mut stream = TcpStream::connect(&first.address).await.expect("connect");
        let stream_request = format!(
            "GET /api/v1/notifications/stream HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {member}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n",
            first.address
        );
        stream
            .write_all(stream_request.as_bytes())
            .await
            .expect("open the stream");
        let upload_bytes = vec![7u8; 64 * 1024];
        let upload = open_upload(&base, &member, upload_bytes.len()).await;
        let submission_body = serde_json::to_vec(&report("normal")).expect("json");
        let submission = HalfSent::begin(
            &first.address,
            &format!(
                "POST /api/v1/reports HTTP/1.1\r\nAuthorization: Bearer {member}\r\nContent-Type: application/json\r\nIdempotency-Key: saat-berhenti-1\r\n"
            ),
            &submission_body,
        )
        .await;
        let piece = HalfSent::begin(
            &first.address,
            &format!(
                "PATCH {upload} HTTP/1.1\r\nAuthorization: Bearer {member}\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
            ),
            &upload_bytes,
        )
        .await;

        let pid = first.child.id().expect("pid").to_string();
        let signalled = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(signalled.success());
        logged(&mut first.logs, "stopping").await;
        no_longer_accepting(&first.address).await;

        let (status, text) = submission.finish().await;
        assert_eq!(status, 201, "{backend:?}: {text}");
        assert!(
            text.to_ascii_lowercase().contains("connection: close"),
            "{text}"
        );
        let created: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).expect("a body"))
            .expect("the report");
        let (status, text) = piece.finish().await;
        assert_eq!(status, 204, "{backend:?}: {text}");
        let (status, streamed) = answer_of(stream).await;
        assert_eq!(status, 200);
        assert_eq!(
            streamed.matches("retry: ").count(),
            2,
            "the hint at the start and the one at the stop: {streamed}"
        );
        assert!(streamed.ends_with("0\r\n\r\n"), "a clean end: {streamed:?}");

        let stopped = logged(&mut first.logs, "stopped; leases given back").await;
        assert_eq!(stopped["deliveries"], 1, "{stopped}");
        let exited = tokio::time::timeout(Duration::from_secs(30), first.child.wait())
            .await
            .expect("it exits")
            .expect("exit status");
        assert!(exited.success(), "{exited:?}");

        let second = Served::start(&dir, &database).await;
        let resent = receiver.next_within(Duration::from_secs(20)).await;
        assert_eq!(resent.webhook_id(), hanging.webhook_id(), "{backend:?}");
        let id = created["id"].as_i64().expect("id");
        let kept = reqwest::Client::new()
            .get(format!("{}/api/v1/reports/{id}", second.base))
            .bearer_auth(&member)
            .send()
            .await
            .expect("read the report");
        assert_eq!(kept.status().as_u16(), 200, "{backend:?}");
        let offset = reqwest::Client::new()
            .head(format!("{}{upload}", second.base))
            .bearer_auth(&member)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("the upload's offset");
        assert_eq!(
            offset.headers()["upload-offset"],
            upload_bytes.len().to_string().as_str()
        );
    }
}
