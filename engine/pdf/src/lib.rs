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
//! - Every character of Serbian (Latin and Cyrillic), Montenegrin and
//!   Romanian (ș ț with the comma below) has a glyph in the first font
//!   tried ([`fonts::COVERED`], checked by a test).

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
