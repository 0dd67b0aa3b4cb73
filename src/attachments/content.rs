//! What an accepted file must be beyond its first bytes, and what of it is kept.
//!
//! - An image decodes completely (a PNG signature in front of HTML is no PNG), within
//!   a pixel and a memory budget checked from its header; its EXIF orientation is
//!   applied and then only its pixels are kept, re-encoded: no EXIF (GPS position,
//!   camera, owner's name), XMP, IPTC, ICC, comments or embedded thumbnail survives, so
//!   a photo identifies its sender no more than its report's privacy allows.
//! - A PDF carries no active content (JavaScript, launch actions, embedded files),
//!   looked for in every object, those inside compressed object streams included; its
//!   document information and XMP metadata (author, creator, producer) are removed.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits};
use lopdf::{Document, Object};

use super::sniff::FileKind;
use crate::error::ApiError;

/// Largest image accepted, in pixels (a 40-megapixel photo); larger ones are refused
/// from their header, before any pixel memory is allocated.
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;
/// What a decoder may allocate: the pixels of the largest image at 4 bytes each.
const MAX_DECODER_BYTES: u64 = MAX_IMAGE_PIXELS * 4;
/// JPEG quality of re-encoded photos: no visible loss at phone-photo sizes.
const JPEG_QUALITY: u8 = 85;

/// Long side of the `thumb` variant of an image, in pixels: a list on a phone.
pub const THUMB_PIXELS: u32 = 320;
/// Long side of the `preview` variant: a phone's or a dashboard's full view.
pub const PREVIEW_PIXELS: u32 = 1280;
/// JPEG quality of the variants: small over slow networks, still clear.
const VARIANT_QUALITY: u8 = 80;

/// What is stored of an accepted file: the cleaned file, and for an image its smaller
/// variants.
pub struct Kept {
    pub file: Vec<u8>,
    pub variants: Vec<VariantFile>,
}

/// A smaller copy of an image, for slow networks.
pub struct VariantFile {
    pub variant: Variant,
    pub kind: FileKind,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

crate::text_enum! {
    /// The smaller copies every image gets.
    pub enum Variant {
        /// At most [`THUMB_PIXELS`] on the long side.
        Thumb = "thumb",
        /// At most [`PREVIEW_PIXELS`] on the long side.
        Preview = "preview",
    }
}

impl Variant {
    const fn long_side(self) -> u32 {
        match self {
            Variant::Thumb => THUMB_PIXELS,
            Variant::Preview => PREVIEW_PIXELS,
        }
    }
}

/// Checks `bytes`, a received file of kind `kind`, and answers what is stored: the
/// cleaned file and, for an image, its variants. CPU-bound: run off the async workers.
pub fn clean(bytes: &[u8], kind: FileKind) -> Result<Kept, ApiError> {
    let format = match kind {
        FileKind::Jpeg => ImageFormat::Jpeg,
        FileKind::Png => ImageFormat::Png,
        FileKind::Webp => ImageFormat::WebP,
        FileKind::Pdf => {
            return Ok(Kept {
                file: clean_pdf(bytes)?,
                variants: Vec::new(),
            });
        }
    };
    let image = decode(bytes, format)?;
    let file = reencode(&image, kind)?;
    let mut variants = Vec::with_capacity(Variant::ALL.len());
    // Largest first: each smaller one is made from the one before, not the original.
    let mut source = image;
    for variant in Variant::ALL.iter().rev() {
        let long_side = variant.long_side();
        if source.width().max(source.height()) > long_side {
            // Area averaging: a fraction of a filtered resize's time on a 12-megapixel
            // photo, and as clear for a picture this much smaller.
            source = source.thumbnail(long_side, long_side);
        }
        variants.push(encode_variant(&source, *variant)?);
    }
    variants.reverse();
    Ok(Kept { file, variants })
}

/// `image` as JPEG at `quality`: grey stays grey, everything else becomes RGB (JPEG
/// holds nothing else; CMYK was converted by the decoder). `jpeg-encoder`, with its
/// AVX2 paths, writes a 12-megapixel photo in a fraction of `image`'s own encoder's time.
fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, ApiError> {
    let width = u16::try_from(image.width()).map_err(|_| too_many_pixels())?;
    let height = u16::try_from(image.height()).map_err(|_| too_many_pixels())?;
    let mut out = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    let encoded = match image {
        DynamicImage::ImageLuma8(grey) => {
            encoder.encode(grey.as_raw(), width, height, jpeg_encoder::ColorType::Luma)
        }
        DynamicImage::ImageRgb8(rgb) => {
            encoder.encode(rgb.as_raw(), width, height, jpeg_encoder::ColorType::Rgb)
        }
        other => encoder.encode(
            other.to_rgb8().as_raw(),
            width,
            height,
            jpeg_encoder::ColorType::Rgb,
        ),
    };
    encoded.map_err(ApiError::internal)?;
    Ok(out)
}

/// `image` as a variant: JPEG, or PNG where it has transparency JPEG would lose.
fn encode_variant(image: &DynamicImage, variant: Variant) -> Result<VariantFile, ApiError> {
    let mut bytes = Vec::new();
    let kind = if image.color().has_alpha() {
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .map_err(ApiError::internal)?;
        FileKind::Png
    } else {
        bytes = encode_jpeg(image, VARIANT_QUALITY)?;
        FileKind::Jpeg
    };
    Ok(VariantFile {
        variant,
        kind,
        width: image.width(),
        height: image.height(),
        bytes,
    })
}

/// The pixels of an image, upright: its EXIF orientation applied.
fn decode(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage, ApiError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODER_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| unreadable())?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(too_many_pixels());
    }
    // Unreadable EXIF is no orientation, not an unreadable image: the pixels decide.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|_| unreadable())?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// `image` encoded as `kind` with nothing but its pixels.
fn reencode(image: &DynamicImage, kind: FileKind) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let written = match kind {
        FileKind::Jpeg => return encode_jpeg(image, JPEG_QUALITY),
        FileKind::Png => image.write_to(&mut Cursor::new(&mut out), ImageFormat::Png),
        FileKind::Webp => {
            // The encoder writes 8-bit RGB(A) or grey; wider PNG-style pixels are narrowed.
            let narrowed;
            let pixels: &DynamicImage = match image {
                DynamicImage::ImageRgb8(_)
                | DynamicImage::ImageRgba8(_)
                | DynamicImage::ImageLuma8(_)
                | DynamicImage::ImageLumaA8(_) => image,
                other => {
                    narrowed = DynamicImage::ImageRgba8(other.to_rgba8());
                    &narrowed
                }
            };
            image::codecs::webp::WebPEncoder::new_lossless(&mut out).write_image(
                pixels.as_bytes(),
                pixels.width(),
                pixels.height(),
                pixels.color().into(),
            )
        }
        FileKind::Pdf => return Err(ApiError::internal("a PDF is no image")),
    };
    written.map_err(ApiError::internal)?;
    Ok(out)
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

/// Keys under which a PDF keeps who made it: XMP metadata on any object, and
/// applications' private data.
const IDENTIFYING: [&[u8]; 2] = [b"Metadata", b"PieceInfo"];

/// The PDF without its document information and metadata, refused if it is active.
fn clean_pdf(bytes: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut document = Document::load_mem(bytes).map_err(|_| unreadable())?;
    if document.objects.values().any(is_active) {
        return Err(active_pdf());
    }
    document.trailer.remove(b"Info");
    for object in document.objects.values_mut() {
        let dictionary = match object {
            Object::Dictionary(dictionary) => dictionary,
            Object::Stream(stream) => &mut stream.dict,
            _ => continue,
        };
        for key in IDENTIFYING {
            dictionary.remove(key);
        }
    }
    // The information dictionary and the XMP streams are now unreferenced: drop them.
    document.prune_objects();
    let mut out = Vec::new();
    document.save_to(&mut out).map_err(|_| unreadable())?;
    Ok(out)
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

    fn code_of<T>(result: Result<T, ApiError>) -> Option<&'static str> {
        result.err().map(|error| error.code())
    }

    #[test]
    fn a_plain_pdf_passes_and_active_ones_do_not() {
        assert!(clean_pdf(PDF).is_ok());
        let script = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R /OpenAction 3 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n3 0 obj <</S /JavaScript /JS (app.alert(1))>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";
        assert_eq!(code_of(clean_pdf(script)), Some("unsafe_file"));
        let launch = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R /OpenAction <</S /Launch /F (calc.exe)>> >> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";
        assert_eq!(code_of(clean_pdf(launch)), Some("unsafe_file"));
        assert_eq!(
            code_of(clean_pdf(b"%PDF-1.4\n<script>")),
            Some("unreadable_file")
        );
    }

    #[test]
    fn a_pdf_loses_its_document_information_and_metadata() {
        let signed = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R /Metadata 4 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n3 0 obj <</Author (Budi Santoso) /Creator (Kantor Kelurahan) /Producer (PhoneScan 2.1)>> endobj\n4 0 obj <</Type /Metadata /Subtype /XML /Length 40>> stream\n<x:xmpmeta>Budi Santoso</x:xmpmeta>    \nendstream endobj\ntrailer <</Root 1 0 R /Info 3 0 R>>\n%%EOF\n";
        let cleaned = clean_pdf(signed).expect("a plain PDF is kept");
        let text = String::from_utf8_lossy(&cleaned);
        for trace in [
            "Budi",
            "Kantor",
            "PhoneScan",
            "/Info",
            "/Metadata",
            "xmpmeta",
        ] {
            assert!(!text.contains(trace), "{trace} survived: {text}");
        }
        let reread = Document::load_mem(&cleaned).expect("still a PDF");
        assert!(reread.catalog().is_ok());
    }

    #[test]
    fn an_image_must_decode_completely() {
        assert_eq!(
            code_of(decode(
                b"\x89PNG\r\n\x1a\n<script>alert(1)</script>",
                ImageFormat::Png
            )),
            Some("unreadable_file")
        );
    }

    #[test]
    fn a_header_claiming_too_many_pixels_is_refused_before_decoding() {
        // A PNG header for 50 000 × 50 000 pixels and nothing behind it.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        let header = [
            &50_000u32.to_be_bytes()[..],
            &50_000u32.to_be_bytes(),
            &[8, 2, 0, 0, 0],
        ]
        .concat();
        let mut crc_input = b"IHDR".to_vec();
        crc_input.extend_from_slice(&header);
        png.extend_from_slice(&header);
        png.extend_from_slice(&crc32fast::hash(&crc_input).to_be_bytes());
        // One empty zlib stream as image data, and the end.
        let data = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(b"IDAT");
        png.extend_from_slice(&data);
        png.extend_from_slice(
            &crc32fast::hash(&[b"IDAT".as_slice(), &data].concat()).to_be_bytes(),
        );
        png.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
        let refused = decode(&png, ImageFormat::Png)
            .err()
            .map(|error| error.code());
        assert_eq!(refused, Some("image_too_large"));
    }
}
