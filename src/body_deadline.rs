//! A deadline on reading a request's body. A client that sends headers announcing a
//! body and then trickles it (or nothing) would hold a worker's request, a connection
//! and its buffers for as long as it likes; past the deadline the body stream fails,
//! whatever extractor reads it, and the answer is `408` with the connection closed.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::dev::{Payload, ServiceRequest};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::Bytes;
use futures_util::Stream;

/// How long reading one request body may take (`BODY_READ_TIMEOUT_SECS`).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub Duration);

/// Set when a request's body missed its deadline: the answer becomes `408`.
#[derive(Debug, Clone, Default)]
pub struct Missed(Arc<AtomicBool>);

impl Missed {
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Puts `deadline` on the body of `req`, if it has one; answers what to ask afterwards.
pub fn guard(req: &mut ServiceRequest, deadline: Duration) -> Option<Missed> {
    let headers = req.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|length| length.trim() != "0");
    if !has_body {
        return None;
    }
    let missed = Missed::default();
    let inner = req.take_payload();
    let timed = TimedBody {
        inner,
        deadline: Box::pin(tokio::time::sleep(deadline)),
        missed: missed.clone(),
    };
    let payload: Payload = Payload::Stream {
        payload: Box::pin(timed),
    };
    req.set_payload(payload);
    Some(missed)
}

struct TimedBody {
    inner: Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
    missed: Missed,
}

impl Stream for TimedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.missed.happened() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(next) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(next);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.missed.0.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            )))));
        }
        Poll::Pending
    }
}
