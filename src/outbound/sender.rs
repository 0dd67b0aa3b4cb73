//! Sends one signed delivery and says how it went. Every address a target's name
//! resolves to is checked with [`is_public`] by the client's own resolver, and the
//! client connects only to the addresses that passed: a name that resolved to a public
//! address when checked cannot be re-pointed at the city's network before the
//! connection (DNS rebinding). Redirects and proxies are not followed for the same
//! reason.

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use url::{Host, Url};

use super::target::is_public;

/// Bytes of a receiver's answer read before the connection is dropped: the status is
/// all that counts, and a receiver must not make the service hold its output.
pub const RESPONSE_CAP: usize = 64 * 1024;

/// What one attempt ended with.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Option<u16>,
    pub latency: Duration,
    pub error: Option<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
            && self
                .status
                .is_some_and(|status| (200..300).contains(&status))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("resolves only to loopback, link-local or private addresses")]
struct PrivateTarget;

/// The system resolver, keeping only the addresses deliveries may reach.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = resolved
                .filter(|address| allow_private || is_public(address.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(PrivateTarget) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
}

impl Sender {
    pub fn new(timeout: Duration, allow_private: bool) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver { allow_private }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("kim-api/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender {
            client,
            allow_private,
            timeout,
        })
    }

    /// POSTs `body` with `headers` to `url`; never fails, the outcome says what happened.
    pub async fn send(&self, url: &str, headers: HeaderMap, body: Vec<u8>) -> Outcome {
        let started = Instant::now();
        let result = match self.refusal(url) {
            Some(refusal) => Err(refusal),
            None => self.post(url, headers, body).await,
        };
        let latency = started.elapsed();
        match result {
            Ok(status) => Outcome {
                status: Some(status),
                latency,
                error: (!(200..300).contains(&status))
                    .then(|| format!("the receiver answered {status}")),
            },
            Err(error) => Outcome {
                status: None,
                latency,
                error: Some(error),
            },
        }
    }

    /// Addresses written in the URL never reach the resolver, so they are checked here.
    fn refusal(&self, url: &str) -> Option<String> {
        let url = match Url::parse(url) {
            Ok(url) => url,
            Err(error) => return Some(format!("the target URL does not parse: {error}")),
        };
        if url.scheme() != "https" && !self.allow_private {
            return Some("refused: deliveries go over https only".to_owned());
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return None,
        };
        (!self.allow_private && !is_public(literal)).then(|| format!("refused: {PrivateTarget}"))
    }

    async fn post(&self, url: &str, headers: HeaderMap, body: Vec<u8>) -> Result<u16, String> {
        let mut request = self.client.post(url);
        if !headers.contains_key(CONTENT_TYPE) {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let mut response = request
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|error| self.explain(&error))?;
        let status = response.status().as_u16();
        let mut read = 0;
        while read <= RESPONSE_CAP {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) => break,
                // The status has arrived; an answer cut short does not undo it.
                Err(_) => break,
            }
        }
        Ok(status)
    }

    /// The reason for an attempt's record, without the URL (it may carry a token).
    fn explain(&self, error: &reqwest::Error) -> String {
        let mut source = error.source();
        while let Some(cause) = source {
            if cause.downcast_ref::<PrivateTarget>().is_some() {
                return format!("refused: {PrivateTarget}");
            }
            source = cause.source();
        }
        if error.is_timeout() {
            return format!("no answer within {} ms", self.timeout.as_millis());
        }
        let what = if error.is_connect() {
            "could not connect"
        } else {
            "the request failed"
        };
        match error.source() {
            Some(cause) => format!("{what}: {cause}"),
            None => what.to_owned(),
        }
    }
}

/// What a conditional GET answered: `304` with no body, or the body, whole.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Vec<u8>,
}

/// The validators of an earlier answer, sent back so that an unchanged document is
/// answered `304 Not Modified`.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Sender {
    /// GETs `url` under the same rules as deliveries (https, public addresses, no
    /// redirects, the timeout), reading at most `max_bytes` of the body: a longer one
    /// is an error, not a truncated document.
    pub async fn fetch(
        &self,
        url: &str,
        validators: &Validators,
        max_bytes: usize,
    ) -> Result<Fetched, String> {
        use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
        if let Some(refusal) = self.refusal(url) {
            return Err(refusal);
        }
        let mut request = self.client.get(url);
        if let Some(etag) = &validators.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &validators.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified);
        }
        let mut response = request.send().await.map_err(|error| self.explain(&error))?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value: &HeaderValue| value.to_str().ok())
                .map(str::to_owned)
        };
        let (status, etag, last_modified) = (
            response.status().as_u16(),
            header(ETAG),
            header(LAST_MODIFIED),
        );
        let mut body = Vec::new();
        if status == 200 {
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|error| self.explain(&error))?
            {
                if body.len() + chunk.len() > max_bytes {
                    return Err(format!("the answer is larger than {max_bytes} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Fetched {
            status,
            etag,
            last_modified,
            body,
        })
    }
}
