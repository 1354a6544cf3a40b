//! QR codes for registration links and activation URLs, drawn locally: no network, no
//! image service. [`svg`] is for web pages, [`terminal`] for command-line programs.

use qrcode::render::{svg as svg_render, unicode};
use qrcode::{EcLevel, QrCode};

use crate::{Error, Result};

/// The most text a code is made for (a registration link is far shorter).
pub const MAX_TEXT_BYTES: usize = 1024;

/// A standalone `<svg>` element showing `text` as a QR code, black on white with the
/// standard quiet zone, at least 200 px wide; it scales cleanly with CSS.
pub fn svg(text: &str) -> Result<String> {
    let code = encode(text)?;
    Ok(code
        .render::<svg_render::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg_render::Color("#000000"))
        .light_color(svg_render::Color("#ffffff"))
        .build())
}

/// `text` as a QR code drawn with Unicode half blocks (two modules per character row),
/// light modules as blocks so that it reads correctly on a dark terminal background,
/// with the quiet zone, one line per row ending in `\n`.
pub fn terminal(text: &str) -> Result<String> {
    let code = encode(text)?;
    let mut drawing = code
        .render::<unicode::Dense1x2>()
        // `Dense1x2::Dark` means "draw a block": swapped, dark modules stay blank.
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .build();
    drawing.push('\n');
    Ok(drawing)
}

fn encode(text: &str) -> Result<QrCode> {
    if text.is_empty() {
        return Err(Error::invalid("QR code text must not be empty"));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(Error::invalid(format!("QR code text is longer than {MAX_TEXT_BYTES} bytes")));
    }
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| Error::invalid(format!("cannot make a QR code: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:8790/_emulator/phone/8f6fa1ce3ef54f2f7f45f5ad553f8155";

    /// Reads a terminal drawing back into light/dark pixels (a block is light).
    fn pixels(drawing: &str) -> Vec<Vec<bool>> {
        let mut rows = Vec::new();
        for line in drawing.lines() {
            let (top, bottom): (Vec<bool>, Vec<bool>) = line
                .chars()
                .map(|c| match c {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    _ => (false, false),
                })
                .unzip();
            rows.push(top);
            rows.push(bottom);
        }
        rows
    }

    #[test]
    fn terminal_drawing_decodes_back_to_the_text() {
        let rows = pixels(&terminal(URL).unwrap());
        let scale = 4;
        let (w, h) = (rows[0].len() * scale, rows.len() * scale);
        // A scanner sees dark modules; the drawing shows light ones as blocks.
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
            if rows[y / scale].get(x / scale).copied().unwrap_or(true) { 255 } else { 0 }
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, URL);
    }

    #[test]
    fn svg_is_a_standalone_scalable_element() {
        let svg = svg(URL).unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("viewBox") && svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn empty_and_oversized_text_is_refused() {
        assert_eq!(svg("").unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(terminal(&"x".repeat(MAX_TEXT_BYTES + 1)).unwrap_err().code(), "INVALID_ARGUMENT");
    }
}
