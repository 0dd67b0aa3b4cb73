//! The mail citizens get, in Indonesian, and its sending. A mail shows no more than the
//! public tracking page: for a confidential report its status and dates only, never a
//! comment's words. Its words are written when the change is fanned out; the links
//! (tracking page, unsubscribe, feedback) are added when it is sent.

use std::sync::Arc;

use diesel::prelude::*;
use futures_util::StreamExt;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use super::links::{self, Purpose};
use super::model::{self, MailKind};
use crate::config::MailSettings;
use crate::crypto::PersonalDataCipher;
use crate::db::schema::{mail_outbox, report_subscriptions, report_timeline, reports};
use crate::db::{Db, DbConnection, now};
use crate::error::ApiError;
use crate::events::EventType;
use crate::i18n::Lang;
use crate::reports::TimelineVisibility;
use crate::reports::model::{
    CommentedPayload, MovedPayload, Privacy, ReportRow, ReportStatus, status_words,
};
use crate::reports::tracking::TrackingCode;

/// Mails claimed at once by one instance.
const BATCH: i64 = 20;
const PARALLEL: usize = 4;
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// Attempts before a mail the relay keeps deferring is dropped (about a day).
const MAX_ATTEMPTS: i32 = 10;
/// How often each instance looks for mail to send.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(2);

fn code_of(report: &ReportRow) -> String {
    TrackingCode::from_stored(&report.tracking_code).shown()
}

/// The confirmation mail of a new subscription.
pub fn confirmation(report: &ReportRow) -> (String, String) {
    let code = code_of(report);
    (
        format!("Konfirmasi: kabar laporan {code}"),
        format!(
            "Ada permintaan agar alamat surel ini dikabari perkembangan laporan {code}.\n\n\
             Jika itu Anda, buka tautan konfirmasi di bawah. Jika bukan, abaikan surel ini: \
             tanpa konfirmasi tidak ada surel lain yang dikirim."
        ),
    )
}

/// Queues the mail an outbox event tells a report's followers, if it tells them any:
/// a status change, or a public comment. Runs where the notifications are decided.
pub fn tell_followers(
    conn: &mut DbConnection,
    event_type: &str,
    report_id: i64,
    payload: &str,
) -> Result<(), ApiError> {
    let moved = event_type == EventType::ReportStatusChanged.as_str();
    let commented = event_type == EventType::ReportCommented.as_str();
    if !moved && !commented {
        return Ok(());
    }
    let Some(report) = crate::reports::model::find(conn, report_id)? else {
        return Ok(());
    };
    let code = code_of(&report);
    let confidential = report.privacy == Privacy::Confidential;
    let (kind, subject, body) = if moved {
        let Ok(MovedPayload { to }) = serde_json::from_str(payload) else {
            return Ok(());
        };
        let words = status_words(to.as_str(), Lang::Id);
        let mut body = format!("Status laporan {code} kini: {words}.");
        let kind = if to == ReportStatus::Resolved {
            body.push_str(
                "\n\nApakah penyelesaiannya memuaskan? Jawab dalam 10 hari lewat tautan \
                 tanggapan di bawah; jika tidak memuaskan, laporan dibuka kembali.",
            );
            MailKind::Resolved
        } else {
            MailKind::Update
        };
        (kind, format!("Laporan {code}: {words}"), body)
    } else {
        let Ok(comment) = serde_json::from_str::<CommentedPayload>(payload) else {
            return Ok(());
        };
        if comment.visibility != TimelineVisibility::Public {
            return Ok(());
        }
        let body = if confidential {
            format!(
                "Ada tanggapan baru pada laporan {code}. Laporan ini rahasia, jadi isinya \
                 tidak dikirim lewat surel."
            )
        } else {
            let words: Option<String> = report_timeline::table
                .find(comment.entry_id)
                .select(report_timeline::body)
                .first::<Option<String>>(conn)
                .optional()?
                .flatten();
            format!(
                "Tanggapan baru pada laporan {code}:\n\n{}",
                words.unwrap_or_default()
            )
        };
        (
            MailKind::Update,
            format!("Laporan {code}: tanggapan baru"),
            body,
        )
    };
    model::queue_to_followers(conn, report_id, kind, &subject, &body)?;
    Ok(())
}

/// Sends queued mail through the configured relay.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    cipher: PersonalDataCipher,
    /// The service's public address, for the links.
    base: String,
}

impl Mailer {
    pub fn new(
        settings: &MailSettings,
        cipher: PersonalDataCipher,
        base: String,
    ) -> Result<Self, String> {
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.smtp_url.expose_secret())
                .map_err(|error| error.to_string())?
                .timeout(Some(std::time::Duration::from_secs(30)))
                .build();
        let from = settings
            .from
            .parse()
            .map_err(|error: lettre::address::AddressError| error.to_string())?;
        Ok(Mailer {
            transport,
            from,
            cipher,
            base,
        })
    }

    fn link(&self, subscription: i64, purpose: Purpose) -> String {
        let token = links::token(&self.cipher, subscription, purpose);
        let action = match purpose {
            Purpose::Confirm => "confirm",
            Purpose::Unsubscribe => "unsubscribe",
            Purpose::Feedback => "feedback",
        };
        format!("{}/api/v1/report-subscriptions/{token}/{action}", self.base)
    }

    /// The whole message of `queued`, links included.
    fn message(&self, queued: &Queued) -> Result<Message, String> {
        let to: Mailbox = self
            .cipher
            .decrypt(&queued.email_ciphertext)
            .map_err(|error| error.to_string())?
            .parse()
            .map_err(|error: lettre::address::AddressError| error.to_string())?;
        let unsubscribe = self.link(queued.subscription_id, Purpose::Unsubscribe);
        let mut body = queued.body.clone();
        match queued.kind {
            MailKind::Confirmation => {
                body.push_str(&format!(
                    "\n\nKonfirmasi: {}",
                    self.link(queued.subscription_id, Purpose::Confirm)
                ));
            }
            MailKind::Resolved => {
                body.push_str(&format!(
                    "\n\nTanggapan: {}",
                    self.link(queued.subscription_id, Purpose::Feedback)
                ));
            }
            MailKind::Update => {}
        }
        body.push_str(&format!(
            "\n\nPerkembangan laporan: {}/api/v1/reports/track/{}\n\
             Berhenti berlangganan: {unsubscribe}\n",
            self.base, queued.tracking_code
        ));
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&queued.subject)
            .header(ContentType::TEXT_PLAIN)
            // RFC 2369 and RFC 8058: the mail program offers one-click unsubscribing.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{unsubscribe}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ))
            .body(body)
            .map_err(|error| error.to_string())
    }
}

/// One claimed mail with what it takes to send it.
struct Queued {
    id: i64,
    attempts: i32,
    subscription_id: i64,
    kind: MailKind,
    subject: String,
    body: String,
    email_ciphertext: String,
    tracking_code: String,
}

/// What became of one attempt.
enum Settlement {
    Sent,
    Retry,
    Dropped,
}

/// Sends what is due; how many mails the relay took.
pub async fn send_due(db: &Db, mailer: Arc<Mailer>) -> Result<usize, ApiError> {
    let due = db.read(due).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let claimed = db.write(move |conn| claim(conn, due)).await?;
    let settled: Vec<(Queued, Settlement)> = futures_util::stream::iter(claimed)
        .map(|queued| {
            let mailer = mailer.clone();
            async move {
                let settlement = send(&mailer, &queued).await;
                (queued, settlement)
            }
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let sent = settled
        .iter()
        .filter(|(_, settlement)| matches!(settlement, Settlement::Sent))
        .count();
    db.write(move |conn| {
        for (queued, settlement) in &settled {
            settle(conn, queued, settlement)?;
        }
        Ok(())
    })
    .await?;
    Ok(sent)
}

async fn send(mailer: &Mailer, queued: &Queued) -> Settlement {
    let message = match mailer.message(queued) {
        Ok(message) => message,
        Err(reason) => {
            tracing::warn!(mail = queued.id, %reason, "a mail cannot be made");
            return Settlement::Dropped;
        }
    };
    match mailer.transport.send(message).await {
        Ok(_) => Settlement::Sent,
        Err(error) if error.is_permanent() => {
            // The relay's words may quote the address: only the code is logged.
            tracing::warn!(mail = queued.id, status = ?error.status(), "the relay refused a mail");
            Settlement::Dropped
        }
        Err(error) => {
            tracing::info!(mail = queued.id, status = ?error.status(), "a mail will be retried");
            Settlement::Retry
        }
    }
}

fn due(conn: &mut DbConnection) -> Result<Vec<i64>, ApiError> {
    Ok(mail_outbox::table
        .filter(mail_outbox::next_attempt_at.le(now()))
        .order(mail_outbox::id)
        .limit(BATCH)
        .select(mail_outbox::id)
        .load(conn)?)
}

/// Claims those of `due` no other instance claimed meanwhile, in one statement.
fn claim(conn: &mut DbConnection, due: Vec<i64>) -> Result<Vec<Queued>, ApiError> {
    let stamp = now();
    let claimed: Vec<i64> = diesel::update(
        mail_outbox::table
            .filter(mail_outbox::id.eq_any(&due))
            .filter(mail_outbox::next_attempt_at.le(stamp)),
    )
    .set((
        mail_outbox::next_attempt_at.eq(stamp + LEASE),
        mail_outbox::attempts.eq(mail_outbox::attempts + 1),
    ))
    .returning(mail_outbox::id)
    .get_results(conn)?;
    let rows = mail_outbox::table
        .inner_join(report_subscriptions::table.inner_join(reports::table))
        .filter(mail_outbox::id.eq_any(&claimed))
        .select((
            mail_outbox::id,
            mail_outbox::attempts,
            mail_outbox::subscription_id,
            mail_outbox::kind,
            mail_outbox::subject,
            mail_outbox::body,
            report_subscriptions::email_ciphertext,
            reports::tracking_code,
        ))
        .load::<(i64, i32, i64, MailKind, String, String, String, String)>(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, attempts, subscription_id, kind, subject, body, email_ciphertext, code)| Queued {
                id,
                attempts,
                subscription_id,
                kind,
                subject,
                body,
                email_ciphertext,
                tracking_code: TrackingCode::from_stored(&code).shown(),
            },
        )
        .collect())
}

fn settle(
    conn: &mut DbConnection,
    queued: &Queued,
    settlement: &Settlement,
) -> Result<(), ApiError> {
    let mail = mail_outbox::table.find(queued.id);
    match settlement {
        Settlement::Retry if queued.attempts < MAX_ATTEMPTS => {
            diesel::update(mail)
                .set(mail_outbox::next_attempt_at.eq(now() + backoff(queued.attempts)))
                .execute(conn)?;
        }
        Settlement::Sent | Settlement::Retry | Settlement::Dropped => {
            diesel::delete(mail).execute(conn)?;
        }
    }
    Ok(())
}

/// A minute after the first failure, doubling to at most four hours.
fn backoff(attempts: i32) -> chrono::Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(8);
    chrono::Duration::minutes(2_i64.pow(doublings)).min(chrono::Duration::hours(4))
}
