//! The words of a notification, in English or Indonesian, made when it is read.

use super::model::{NotificationRow, NotificationType};
use crate::i18n::Lang;
use crate::reports::model::status_words;

/// The title and body of `row` in `lang`.
pub fn render(row: &NotificationRow, lang: Lang) -> (String, String) {
    let subject = &row.subject;
    match row.kind {
        NotificationType::ReportSubmitted => (
            lang.pick("New report", "Laporan baru").to_owned(),
            lang.pick(
                format!("Report {subject} was submitted and awaits verification."),
                format!("Laporan {subject} masuk dan menunggu verifikasi."),
            ),
        ),
        NotificationType::ReportStatusChanged => {
            let status = status_words(row.detail.as_deref().unwrap_or_default(), lang);
            (
                lang.pick("Report status changed", "Status laporan berubah")
                    .to_owned(),
                lang.pick(
                    format!("Report {subject} is now {status}."),
                    format!("Laporan {subject} kini {status}."),
                ),
            )
        }
        NotificationType::ReportCommented => (
            lang.pick("New reply to a report", "Tanggapan baru pada laporan")
                .to_owned(),
            lang.pick(
                format!("Report {subject} has a new public reply."),
                format!("Laporan {subject} mendapat tanggapan baru."),
            ),
        ),
        NotificationType::ReportOverdue => {
            let status = status_words(row.detail.as_deref().unwrap_or_default(), lang);
            (
                lang.pick("Report overdue", "Laporan melewati batas waktu")
                    .to_owned(),
                lang.pick(
                    format!("Report {subject} is still {status} past its due date."),
                    format!("Laporan {subject} masih {status} melewati batas waktunya."),
                ),
            )
        }
        NotificationType::SessionScheduled => (
            lang.pick("New mentoring session", "Sesi pembinaan baru")
                .to_owned(),
            lang.pick(
                format!("{subject}: nominate your members."),
                format!("{subject}: usulkan anggota Anda."),
            ),
        ),
        NotificationType::SessionStartingSoon => (
            lang.pick("Mentoring session tomorrow", "Sesi pembinaan besok")
                .to_owned(),
            lang.pick(
                format!("{subject} starts within a day."),
                format!("{subject} dimulai dalam sehari."),
            ),
        ),
        NotificationType::ConsultationOpened => (
            lang.pick("New consultation", "Konsultasi publik baru")
                .to_owned(),
            lang.pick(
                format!("{subject}: your KIM's answers are asked for."),
                format!("{subject}: jawaban KIM Anda ditunggu."),
            ),
        ),
        NotificationType::ConsultationClosingSoon => (
            lang.pick("Consultation closing", "Konsultasi segera ditutup")
                .to_owned(),
            lang.pick(
                format!("{subject} closes within a day."),
                format!("{subject} ditutup dalam sehari."),
            ),
        ),
        NotificationType::BulletinPublished => {
            let title = match row.urgent {
                true => lang.pick("Urgent bulletin", "Buletin mendesak"),
                false => lang.pick("New bulletin", "Buletin baru"),
            };
            (title.to_owned(), subject.clone())
        }
    }
}
