//! CSV for spreadsheets (SPEC §8): officers export lists and open them in Excel or
//! LibreOffice. Files are UTF-8 with a byte-order mark (Excel reads them as UTF-8 only
//! with one) and a header row; they are streamed a chunk of rows at a time, so memory
//! stays flat however long the list.
//!
//! Text that people typed is written so a spreadsheet never runs it: a cell starting
//! with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's
//! advice against CSV injection). Numbers and dates the service writes itself are left
//! alone.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use futures_util::Stream;

use crate::error::ApiError;

pub const CSV: &str = "text/csv; charset=utf-8; header=present";
const BYTE_ORDER_MARK: &str = "\u{feff}";

/// A moment as written in exports: UTC, RFC 3339, whole seconds.
pub fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One row of cells, built field by field.
#[derive(Debug, Default)]
pub struct CsvRow(Vec<String>);

impl CsvRow {
    /// Text from people: neutralised against formulas.
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.0.push(neutralised(value));
        self
    }

    pub fn optional_text(&mut self, value: Option<&str>) -> &mut Self {
        self.text(value.unwrap_or_default())
    }

    /// A value the service formats itself (numbers, dates, codes, enums).
    pub fn value(&mut self, value: impl ToString) -> &mut Self {
        self.0.push(value.to_string());
        self
    }

    pub fn optional_value(&mut self, value: Option<impl ToString>) -> &mut Self {
        self.0
            .push(value.map(|value| value.to_string()).unwrap_or_default());
        self
    }
}

fn neutralised(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// `rows` as CSV lines, with the header first when `header` is given.
pub fn encode(header: Option<&[&str]>, rows: &[CsvRow]) -> Result<Bytes, ApiError> {
    let mut buffer = Vec::with_capacity(256 * (rows.len() + 1));
    if header.is_some() {
        buffer.extend_from_slice(BYTE_ORDER_MARK.as_bytes());
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(buffer);
    let failed = |error: csv::Error| ApiError::internal(format!("CSV encoding failed: {error}"));
    if let Some(header) = header {
        writer.write_record(header).map_err(failed)?;
    }
    for row in rows {
        writer.write_record(&row.0).map_err(failed)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|error| ApiError::internal(format!("CSV encoding failed: {error}")))
}

/// A `200` streaming `body` as the CSV file `filename`.
pub fn answer<S>(filename: &str, body: S) -> HttpResponse
where
    S: Stream<Item = Result<Bytes, ApiError>> + 'static,
{
    HttpResponse::Ok()
        .content_type(CSV)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_never_starts_a_formula() {
        for (typed, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+62 812", "'+62 812"),
            ("-1+1", "'-1+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("Lampu padam", "Lampu padam"),
            ("", ""),
        ] {
            assert_eq!(neutralised(typed), written);
        }
    }

    #[test]
    fn quotes_commas_and_line_breaks_stay_in_their_cell() {
        let mut row = CsvRow::default();
        row.text("Jalan \"Sudirman\", RT 1\nRW 2").value(-5.1131);
        let bytes = encode(Some(&["a", "b"]), &[row]).unwrap_or_default();
        let text = String::from_utf8(bytes.to_vec()).unwrap_or_default();
        assert_eq!(
            text,
            "\u{feff}a,b\r\n\"Jalan \"\"Sudirman\"\", RT 1\nRW 2\",-5.1131\r\n"
        );
    }
}
