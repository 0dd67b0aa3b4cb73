//! What is kept of an uploaded photo or PDF: pixels only, upright, and a PDF without
//! its author. A phone photo attached to an anonymous report must not name, place or
//! describe the phone of the one who sent it.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::attachments::{PDF, form, jpeg, upload_to};
use crate::helpers::{TestApp, on_each_backend, problem, token};
use crate::reports::{id_of, json_of, report, submit, town};

/// What a phone writes into its photos, all of it identifying.
const TRACES: [&str; 5] = ["KIMPHONE", "Galaksi", "Budi Santoso", "Exif", "xmpmeta"];

/// A TIFF/EXIF block as phones write it: make, model, owner, orientation 6 (turn
/// 90° clockwise to show) and a GPS position in Kota Metro.
fn exif() -> Vec<u8> {
    fn entry(out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        out.extend_from_slice(&tag.to_be_bytes());
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&value);
    }
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    let strings: [&[u8]; 3] = [b"KIMPHONE\0", b"Galaksi A5\0", b"Budi Santoso\0"];
    // IFD0: 5 entries at 8; GPS IFD after it: 2 entries; then the data area.
    let ifd0_len = 2 + 5 * 12 + 4;
    let gps_at = 8 + ifd0_len;
    let gps_len = 2 + 2 * 12 + 4;
    let mut data_at = (gps_at + gps_len) as u32;
    let mut data = Vec::new();
    let mut out = b"MM\0\x2a\0\0\0\x08".to_vec();
    out.extend_from_slice(&5u16.to_be_bytes());
    let mut offsets = Vec::new();
    for text in strings {
        offsets.push(data_at + data.len() as u32);
        data.extend_from_slice(text);
    }
    let latitude_at = data_at + data.len() as u32;
    for (numerator, denominator) in [(5u32, 1u32), (6, 1), (47, 1)] {
        data.extend_from_slice(&numerator.to_be_bytes());
        data.extend_from_slice(&denominator.to_be_bytes());
    }
    entry(
        &mut out,
        0x010F,
        ASCII,
        strings[0].len() as u32,
        offsets[0].to_be_bytes(),
    );
    entry(
        &mut out,
        0x0110,
        ASCII,
        strings[1].len() as u32,
        offsets[1].to_be_bytes(),
    );
    entry(&mut out, 0x0112, SHORT, 1, [0, 6, 0, 0]);
    entry(
        &mut out,
        0x013B,
        ASCII,
        strings[2].len() as u32,
        offsets[2].to_be_bytes(),
    );
    entry(&mut out, 0x8825, LONG, 1, (gps_at as u32).to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut out, 0x0001, ASCII, 2, *b"S\0\0\0");
    entry(&mut out, 0x0002, RATIONAL, 3, latitude_at.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    data_at = out.len() as u32;
    assert_eq!(data_at as usize, gps_at + gps_len);
    out.extend_from_slice(&data);
    out
}

/// 40 × 20 pixels, the left half red and the right half blue, as a sensor stores them
/// before the orientation says how to show them.
fn sideways() -> image::RgbImage {
    image::RgbImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            image::Rgb([220, 20, 20])
        } else {
            image::Rgb([20, 20, 220])
        }
    })
}

/// A phone photo: [`sideways`] as JPEG with [`exif`] and an XMP packet, in APP1s.
pub(crate) fn phone_jpeg() -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&sideways())
        .expect("encode a JPEG");
    let mut segments = Vec::new();
    for payload in [
        [b"Exif\0\0".as_slice(), &exif()].concat(),
        b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Budi Santoso</x:xmpmeta>".to_vec(),
    ] {
        segments.extend_from_slice(&[0xFF, 0xE1]);
        segments.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        segments.extend_from_slice(&payload);
    }
    [&plain[..2], &segments, &plain[2..]].concat()
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32fast::hash(&[kind.as_slice(), data].concat()).to_be_bytes());
    out
}

/// [`sideways`] as PNG with text, international text and EXIF chunks after `IHDR`.
fn annotated_png() -> Vec<u8> {
    let mut plain = Vec::new();
    image::DynamicImage::ImageRgb8(sideways())
        .write_to(
            &mut std::io::Cursor::new(&mut plain),
            image::ImageFormat::Png,
        )
        .expect("encode a PNG");
    let after_header = 8 + 25;
    let extra = [
        png_chunk(b"tEXt", b"Author\0Budi Santoso"),
        png_chunk(b"iTXt", b"Source\0\0\0\0\0KIMPHONE Galaksi A5"),
        png_chunk(b"eXIf", &exif()),
    ]
    .concat();
    [&plain[..after_header], &extra, &plain[after_header..]].concat()
}

/// [`sideways`] as an extended WebP (`VP8X`) carrying an `EXIF` chunk.
fn annotated_webp() -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut plain)
        .encode(sideways().as_raw(), 40, 20, image::ExtendedColorType::Rgb8)
        .expect("encode a WebP");
    let image_chunk = &plain[12..];
    let mut vp8x = vec![0x08, 0, 0, 0];
    vp8x.extend_from_slice(&39u32.to_le_bytes()[..3]);
    vp8x.extend_from_slice(&19u32.to_le_bytes()[..3]);
    let mut chunks = b"VP8X".to_vec();
    chunks.extend_from_slice(&(vp8x.len() as u32).to_le_bytes());
    chunks.extend_from_slice(&vp8x);
    chunks.extend_from_slice(image_chunk);
    let exif = exif();
    chunks.extend_from_slice(b"EXIF");
    chunks.extend_from_slice(&(exif.len() as u32).to_le_bytes());
    chunks.extend_from_slice(&exif);
    if exif.len() % 2 == 1 {
        chunks.push(0);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&((chunks.len() + 4) as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    out
}

/// The markers of a JPEG's segments, up to the image data.
pub(crate) fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
    let mut markers = Vec::new();
    let mut at = 2;
    while at + 4 <= bytes.len() && bytes[at] == 0xFF {
        let marker = bytes[at + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        at += 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
    }
    markers
}

/// The chunk types of a PNG.
fn png_chunks(bytes: &[u8]) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        chunks.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
        at += 12 + length;
    }
    chunks
}

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Uploads `content` to `report` and downloads what was kept, checking that the
/// attachment describes the kept bytes.
async fn kept(app: &TestApp, report: i64, who: &str, name: &str, content: &[u8]) -> Vec<u8> {
    let path = format!("/api/v1/reports/{report}/attachments");
    let response = upload_to(
        app,
        &path,
        who,
        form(name, "application/octet-stream", content),
        None,
    )
    .await;
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let attachment: Value = json_of(response, 201).await;
    let download = app.get_as(&location, who).await;
    assert_eq!(download.status().as_u16(), 200);
    let bytes = download.bytes().await.expect("bytes").to_vec();
    assert_eq!(attachment["size_bytes"], bytes.len());
    assert_eq!(
        attachment["sha256"],
        Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>(),
        "the listed hash is the kept file's"
    );
    bytes
}

/// Upright: taller than wide, red on top (the sensor's left), blue below.
fn assert_upright(bytes: &[u8]) {
    let image = image::load_from_memory(bytes).expect("an image").to_rgb8();
    assert_eq!(image.dimensions(), (20, 40), "the orientation is applied");
    let top = image.get_pixel(10, 5);
    let bottom = image.get_pixel(10, 35);
    assert!(top[0] > 150 && top[2] < 100, "red on top: {top:?}");
    assert!(bottom[2] > 150 && bottom[0] < 100, "blue below: {bottom:?}");
}

#[tokio::test]
async fn a_phone_photo_keeps_its_pixels_upright_and_nothing_that_identifies_its_sender() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = id_of(&submit(&app, token(&t.member_a), &report("anonymous")).await);
        let who = token(&t.member_a);

        let photo = phone_jpeg();
        assert!(
            TRACES.iter().all(|trace| contains(&photo, trace)),
            "the test photo carries them"
        );
        let kept_photo = kept(&app, id, who, "IMG_20261206.jpg", &photo).await;
        assert_upright(&kept_photo);
        // SOI is not listed; APP0 (JFIF), quantisation, frame, Huffman tables, scan only.
        let markers = jpeg_markers(&kept_photo);
        assert!(
            markers
                .iter()
                .all(|m| matches!(m, 0xE0 | 0xDB | 0xC0 | 0xC4 | 0xDA)),
            "segments kept: {markers:02x?}"
        );

        let png = annotated_png();
        let kept_png = kept(&app, id, who, "peta.png", &png).await;
        let chunks = png_chunks(&kept_png);
        assert!(
            chunks
                .iter()
                .all(|c| matches!(c.as_str(), "IHDR" | "PLTE" | "IDAT" | "IEND")),
            "chunks kept: {chunks:?}"
        );
        assert_upright(&kept_png);

        let webp = annotated_webp();
        let kept_webp = kept(&app, id, who, "foto.webp", &webp).await;
        assert!(!contains(&kept_webp, "EXIF") && !contains(&kept_webp, "VP8X"));
        assert_upright(&kept_webp);

        for bytes in [&kept_photo, &kept_png, &kept_webp] {
            for trace in TRACES {
                assert!(!contains(bytes, trace), "{trace} survived");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn what_does_not_decode_whole_is_refused_and_a_pdf_loses_its_author() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = id_of(&submit(&app, token(&t.member_a), &report("anonymous")).await);
        let who = token(&t.member_a);
        let path = format!("/api/v1/reports/{id}/attachments");
        let send = async |name: &str, content: &[u8]| {
            upload_to(&app, &path, who, form(name, "image/png", content), None).await
        };

        let photo = jpeg();
        let truncated = &photo[..photo.len() / 2];
        let refused = problem(send("potong.jpg", truncated).await, 422).await;
        assert_eq!(refused["code"], "unreadable_file");

        // A 50 000 × 50 000 PNG header in a file of under a kilobyte: refused from the
        // header, before the decoder allocates anything.
        let header = [&50_000u32.to_be_bytes()[..], &50_000u32.to_be_bytes(), &[8, 2, 0, 0, 0]].concat();
        let bomb = [
            b"\x89PNG\r\n\x1a\n".as_slice(),
            &png_chunk(b"IHDR", &header),
            &png_chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
            &png_chunk(b"IEND", b""),
        ]
        .concat();
        assert!(bomb.len() < 1024);
        let refused = problem(send("bom.png", &bomb).await, 422).await;
        assert_eq!(refused["code"], "image_too_large");

        // A photo with a web page after its end: what is kept is the photo alone.
        let polyglot = [photo.as_slice(), b"<html><script>alert(1)</script></html>"].concat();
        let kept_polyglot = kept(&app, id, who, "foto.jpg", &polyglot).await;
        assert!(!contains(&kept_polyglot, "<script>"));

        let signed = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n3 0 obj <</Author (Budi Santoso) /Producer (KIMPHONE Scanner)>> endobj\ntrailer <</Root 1 0 R /Info 3 0 R>>\n%%EOF\n";
        let kept_pdf = kept(&app, id, who, "surat.pdf", signed).await;
        assert!(kept_pdf.starts_with(b"%PDF-"));
        for trace in ["Budi Santoso", "KIMPHONE", "/Author"] {
            assert!(!contains(&kept_pdf, trace), "{trace} survived");
        }
        let plain = kept(&app, id, who, "kosong.pdf", PDF).await;
        assert!(plain.starts_with(b"%PDF-"));

        let shown = json_of(app.get_as(&format!("/api/v1/reports/{id}"), who).await, 200).await;
        assert_eq!(shown["attachments"].as_array().map(Vec::len), Some(3), "nothing refused was kept");
    })
    .await;
}

/// A photo as a phone takes it, 4:3, with detail a thumbnail must not need.
fn big_photo(width: u32, height: u32) -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
    });
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92)
        .encode_image(&pixels)
        .expect("encode a JPEG");
    bytes
}

#[tokio::test]
async fn images_get_small_variants_for_slow_networks_and_pdfs_none() {
    on_each_backend(async |app| {
        let t = town(&app).await;
        let id = id_of(&submit(&app, token(&t.member_a), &report("normal")).await);
        let who = token(&t.member_a);
        let path = format!("/api/v1/reports/{id}/attachments");
        let photo = big_photo(1600, 1200);
        let added = json_of(
            upload_to(
                &app,
                &path,
                who,
                form("jalan.jpg", "image/jpeg", &photo),
                None,
            )
            .await,
            201,
        )
        .await;
        let variants = added["variants"].as_array().expect("variants").clone();
        let described: Vec<(String, i64, i64)> = variants
            .iter()
            .map(|v| {
                (
                    v["variant"].as_str().unwrap_or_default().to_owned(),
                    v["width"].as_i64().unwrap_or_default(),
                    v["height"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            described,
            [
                ("thumb".to_owned(), 320, 240),
                ("preview".to_owned(), 1280, 960)
            ]
        );
        let file = format!("{path}/{}", added["id"]);
        let original = app.get_as(&file, who).await.bytes().await.expect("bytes");
        for (variant, listed) in ["thumb", "preview"].iter().zip(&variants) {
            let download = app.get_as(&format!("{file}?variant={variant}"), who).await;
            assert_eq!(download.status().as_u16(), 200);
            assert_eq!(download.headers()["content-type"], "image/jpeg");
            let disposition = download.headers()["content-disposition"]
                .to_str()
                .expect("ascii")
                .to_owned();
            assert!(
                disposition.contains(&format!("jalan-{variant}.jpg")),
                "{disposition}"
            );
            let bytes = download.bytes().await.expect("bytes");
            assert_eq!(Some(bytes.len() as i64), listed["size_bytes"].as_i64());
            let image = image::load_from_memory(&bytes).expect("an image");
            assert_eq!(
                (i64::from(image.width()), i64::from(image.height())),
                (
                    listed["width"].as_i64().unwrap_or_default(),
                    listed["height"].as_i64().unwrap_or_default()
                )
            );
            assert!(!contains(&bytes, "Exif"));
        }
        // Smaller in bytes too (how much is measured in benches/, not asserted here).
        let sizes: Vec<i64> = variants
            .iter()
            .filter_map(|v| v["size_bytes"].as_i64())
            .collect();
        assert!(
            sizes[0] < sizes[1] && sizes[1] < original.len() as i64,
            "{sizes:?}"
        );
        // The list shows the same variants; a PDF has none, an unknown one is refused.
        let listed = json_of(app.get_as(&path, who).await, 200).await;
        assert_eq!(listed["data"][0]["variants"], added["variants"]);
        let pdf = json_of(
            upload_to(
                &app,
                &path,
                who,
                form("surat.pdf", "application/pdf", PDF),
                None,
            )
            .await,
            201,
        )
        .await;
        assert_eq!(pdf["variants"], serde_json::json!([]));
        problem(
            app.get_as(&format!("{path}/{}?variant=thumb", pdf["id"]), who)
                .await,
            404,
        )
        .await;
        problem(app.get_as(&format!("{file}?variant=huge"), who).await, 400).await;

        // Removing the photo removes its variants from the store too.
        let removed = app
            .send(reqwest::Method::DELETE, &file, Some(who), None)
            .await;
        assert_eq!(removed.status().as_u16(), 204);
        let left = app.storage.keys().await.expect("keys");
        assert_eq!(left.len(), 1, "only the PDF stays: {left:?}");
    })
    .await;
}
