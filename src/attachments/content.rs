//! What an accepted file must be beyond its first bytes: an image decodes completely
//! (a PNG signature in front of HTML is no PNG), and a PDF carries no active content
//! (JavaScript, launch actions, embedded files), looked for in every object, those
//! inside compressed object streams included.

use std::io::Cursor;
use std::path::Path;

use image::{ImageFormat, ImageReader, Limits};
use lopdf::{Document, Object};

use super::sniff::FileKind;
use crate::error::ApiError;

/// Largest image accepted, in pixels (a 40-megapixel photo); larger ones are refused
/// from their header, before any pixel memory is allocated.
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;

/// Checks the stored part file at `path`, of kind `kind`. CPU-bound: run off the
/// async workers.
pub fn check(path: &Path, kind: FileKind) -> Result<(), ApiError> {
    let bytes = std::fs::read(path).map_err(ApiError::internal)?;
    match kind {
        FileKind::Jpeg => decodes(&bytes, ImageFormat::Jpeg),
        FileKind::Png => decodes(&bytes, ImageFormat::Png),
        FileKind::Webp => decodes(&bytes, ImageFormat::WebP),
        FileKind::Pdf => inert_pdf(&bytes),
    }
}

fn decodes(bytes: &[u8], format: ImageFormat) -> Result<(), ApiError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 4);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|_| unreadable())?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(too_many_pixels());
    }
    image::DynamicImage::from_decoder(decoder).map_err(|_| unreadable())?;
    Ok(())
}

/// Names that make a PDF act rather than show: scripts, launching programs, files
/// carried inside it.
const ACTIVE: [&[u8]; 6] = [
    b"JS",
    b"JavaScript",
    b"Launch",
    b"EmbeddedFile",
    b"EmbeddedFiles",
    b"RichMedia",
];

fn inert_pdf(bytes: &[u8]) -> Result<(), ApiError> {
    let document = Document::load_mem(bytes).map_err(|_| unreadable())?;
    if document.objects.values().any(is_active) {
        return Err(active_pdf());
    }
    Ok(())
}

/// Whether `object`, or anything written inside it, names active content: `/JS …`,
/// `/EmbeddedFiles …` or a file specification's `/EF` as keys; `/S /JavaScript`,
/// `/S /Launch`, `/Type /EmbeddedFile` as values.
fn is_active(object: &Object) -> bool {
    let named_active = |name: &[u8]| ACTIVE.contains(&name);
    let dictionary_active = |dictionary: &lopdf::Dictionary| {
        dictionary
            .iter()
            .any(|(key, value)| named_active(key) || key.as_slice() == b"EF" || is_active(value))
    };
    match object {
        Object::Name(name) => named_active(name),
        Object::Array(items) => items.iter().any(is_active),
        Object::Dictionary(dictionary) => dictionary_active(dictionary),
        Object::Stream(stream) => dictionary_active(&stream.dict),
        _ => false,
    }
}

fn unreadable() -> ApiError {
    ApiError::unprocessable(
        "unreadable_file",
        "The file does not read completely as the type its content claims.",
        "Berkas tidak dapat dibaca utuh sesuai jenis yang ditunjukkan isinya.",
        Vec::new(),
    )
}

fn too_many_pixels() -> ApiError {
    ApiError::unprocessable(
        "image_too_large",
        format!("Images of at most {MAX_IMAGE_PIXELS} pixels are accepted."),
        format!("Gambar paling banyak {MAX_IMAGE_PIXELS} piksel yang diterima."),
        Vec::new(),
    )
}

fn active_pdf() -> ApiError {
    ApiError::unprocessable(
        "unsafe_file",
        "PDFs with JavaScript, launch actions or embedded files are refused.",
        "PDF yang memuat JavaScript, aksi peluncuran, atau berkas tertanam ditolak.",
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";

    fn code_of(result: Result<(), ApiError>) -> Option<&'static str> {
        result.err().map(|error| error.code())
    }

    #[test]
    fn a_plain_pdf_passes_and_active_ones_do_not() {
        assert!(inert_pdf(PDF).is_ok());
        let script = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R /OpenAction 3 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n3 0 obj <</S /JavaScript /JS (app.alert(1))>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";
        assert_eq!(code_of(inert_pdf(script)), Some("unsafe_file"));
        let launch = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R /OpenAction <</S /Launch /F (calc.exe)>> >> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";
        assert_eq!(code_of(inert_pdf(launch)), Some("unsafe_file"));
        assert_eq!(
            code_of(inert_pdf(b"%PDF-1.4\n<script>")),
            Some("unreadable_file")
        );
    }

    #[test]
    fn an_image_must_decode_completely() {
        assert_eq!(
            code_of(decodes(
                b"\x89PNG\r\n\x1a\n<script>alert(1)</script>",
                ImageFormat::Png
            )),
            Some("unreadable_file")
        );
    }
}
