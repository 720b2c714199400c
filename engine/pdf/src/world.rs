//! The typst world a document is typeset in: one generated source, the
//! embedded fonts, the standard library, and nothing else — no files, no
//! packages, no clock.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_layout::PagedDocument;

use crate::PdfError;
use crate::fonts;

/// The standard library, built once per process.
static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

/// Memoized results older than this many compilations are dropped after
/// each one, so a long-running server's memory stays bounded.
const CACHE_AGE: usize = 10;

struct DocumentWorld {
    main: Source,
}

fn main_id() -> Result<FileId, PdfError> {
    let path = VirtualPath::new("/document.typ").map_err(|e| PdfError::Typeset(format!("{e:?}")))?;
    Ok(RootedPath::new(VirtualRoot::Project, path).intern())
}

impl World for DocumentWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &fonts::embedded().book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() { Ok(self.main.clone()) } else { Err(FileError::AccessDenied) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            Ok(Bytes::from_string(self.main.text().to_string()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts::embedded().fonts.get(index).cloned()
    }

    fn today(&self, _: Option<typst::foundations::Duration>) -> Option<Datetime> {
        None
    }
}

/// Lays out typst markup into pages.
pub(crate) fn typeset(markup: &str) -> Result<PagedDocument, PdfError> {
    let world = DocumentWorld { main: Source::new(main_id()?, markup.to_string()) };
    let result = typst::compile::<PagedDocument>(&world);
    typst::comemo::evict(CACHE_AGE);
    result.output.map_err(|errors| PdfError::Typeset(messages_in(&world, &errors)))
}

/// Diagnostics as one line each, with the generated text they point at.
pub(crate) fn messages(markup: &str, errors: &[SourceDiagnostic]) -> String {
    match main_id() {
        Ok(id) => messages_in(&DocumentWorld { main: Source::new(id, markup.to_string()) }, errors),
        Err(e) => e.to_string(),
    }
}

fn messages_in(world: &DocumentWorld, errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|d| {
            let at = world
                .range(d.span)
                .and_then(|r| world.main.text().get(r))
                .map(|t| format!(" at `{}`", t.chars().take(80).collect::<String>()));
            format!("{}{}", d.message, at.unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join("; ")
}
