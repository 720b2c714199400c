//! integritas documents as PDF, typeset in-process: the HTML page a pack's
//! template renders is translated into typst markup ([`markup`]) and
//! typeset by the typst compiler with fonts compiled into the binary.
//!
//! Architecture invariants:
//! - This crate is the only one that names typst; the engine never
//!   depends on it (a server or CLI that never prints a PDF does not pay
//!   for it beyond linking).
//! - Typesetting reads no file, no clock and no network: the typst world
//!   holds one generated source and the embedded fonts, nothing else. The
//!   same HTML and page give the same PDF bytes.
//! - Text from a document can never become typst code: every run of it
//!   is a string literal (see [`markup`]).
//! - Every letter of the bundled packs' languages (Cyrillic with Ђ Љ Њ Ћ
//!   Џ, Latin with č ć đ š ž, ș ț with the comma below) has a glyph in
//!   the text family in every style, or (six Cyrillic letters in bold
//!   italic) in the fallback family's face of that style
//!   ([`fonts::COVERED`], checked by a test).

pub mod fonts;
pub mod html;
pub mod markup;
mod world;

use integritas_core::page::PageSetup;

/// Why a document could not be made into a PDF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The typesetter refused the generated source: a bug of the
    /// translation, never of the document's data (the messages name the
    /// place in the generated source).
    #[error("the document could not be typeset: {0}")]
    Typeset(String),
    /// Typesetting worked but writing the PDF failed.
    #[error("the PDF could not be written: {0}")]
    Export(String),
}

/// Typesets a rendered document (a whole HTML page, as
/// `integritas_core::engine::Engine::render_document` returns it) on `page`
/// into the bytes of a PDF, fonts embedded.
///
/// Blocks for tens to hundreds of milliseconds (a 13-column register of a
/// few pages); an async caller runs it on a blocking thread.
pub fn pdf(html: &str, page: &PageSetup) -> Result<Vec<u8>, PdfError> {
    let source = markup::translate(html, *page);
    pdf_from_markup(&source)
}

/// Typesets typst markup made by [`markup::translate`] (exposed for tests
/// and for inspecting what a document becomes).
pub fn pdf_from_markup(source: &str) -> Result<Vec<u8>, PdfError> {
    let document = world::typeset(source)?;
    let options = typst_pdf::PdfOptions::default();
    typst_pdf::pdf(&document, &options).map_err(|errors| PdfError::Export(world::messages(source, &errors)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use integritas_core::page::{Orientation, PageSetup, PaperSize};

    const PAGE: &str = "<!DOCTYPE html><html lang=\"ro\"><head><title>Plan „Aluniș”</title></head><body>\
        <div class=\"draft-mark\">PROIECT</div><h1>Măsuri</h1>\
        <p>\"] #panic() $x$ // [a](b) \\ ș ț Ș Ț ă î â — Ђорђе Љиљана Његош Џемал Ћосић; Đukić Šćepanović</p>\
        <table><thead><tr><th>Nr.</th><th>Măsura</th></tr></thead><tbody><tr><td>1.1</td><td>Adoptarea declarației</td></tr></tbody></table>\
        </body></html>";

    #[test]
    fn a_page_typesets_on_its_paper_the_same_every_time() {
        let landscape = PageSetup { size: PaperSize::A4, orientation: Orientation::Landscape };
        let first = pdf(PAGE, &landscape).expect("typesets");
        assert!(first.starts_with(b"%PDF-"));
        // A4 is 210 × 297 mm: 841.89 × 595.28 points lying down.
        assert!(String::from_utf8_lossy(&first).contains("/MediaBox[0 0 841.8898 595.2756]"));
        // No clock, no file: the same page gives the same bytes.
        assert_eq!(pdf(PAGE, &landscape).expect("typesets"), first);
        let portrait = pdf(PAGE, &PageSetup::default()).expect("typesets");
        assert!(String::from_utf8_lossy(&portrait).contains("/MediaBox[0 0 595.2756 841.8898]"));
    }
}
