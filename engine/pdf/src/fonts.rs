//! The fonts documents are set in, compiled into the binary (from
//! `typst-assets`, under the SIL Open Font License): Libertinus Serif for
//! text, New Computer Modern and DejaVu Sans Mono as fallbacks. No system
//! font is ever read, so a PDF looks the same on every install.

use std::sync::LazyLock;

use typst::foundations::Bytes;
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;

/// The family text is set in; [`COVERED`] holds for it alone.
pub const TEXT_FAMILY: &str = "Libertinus Serif";

/// Letters every document's language needs, which the text family must
/// have (a test checks each): Serbian Cyrillic, and Latin with the
/// diacritics of Serbian, Montenegrin (ś ź too) and Romanian — ș ț and Ș Ț
/// with the comma below, and the cedilla forms older texts use.
pub const COVERED: &str = concat!(
    "АБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШабвгдђежзијклљмнњопрстћуфхцчџш",
    "ČĆĐŠŽčćđšžŚŹśź",
    "ĂÂÎȘȚăâîșțŞŢşţ",
    "„“”‚‘’«»–—…§€°",
);

/// The embedded fonts and their book, read once per process.
pub struct Embedded {
    pub book: LazyHash<FontBook>,
    pub fonts: Vec<Font>,
}

static EMBEDDED: LazyLock<Embedded> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
    Embedded { book: LazyHash::new(FontBook::from_fonts(&fonts)), fonts }
});

/// The fonts compiled into the binary.
pub fn embedded() -> &'static Embedded {
    &EMBEDDED
}

/// The characters of `text` that some face of the text family (regular,
/// bold, italic…) lacks.
pub fn missing(text: &str) -> Vec<char> {
    let faces: Vec<&Font> = embedded().fonts.iter().filter(|f| f.info().family == TEXT_FAMILY).collect();
    text.chars().filter(|c| faces.is_empty() || faces.iter().any(|f| !f.info().coverage.contains(*c as u32))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_face_has_every_letter_the_languages_need() {
        assert!(embedded().fonts.iter().any(|f| f.info().family == TEXT_FAMILY), "no {TEXT_FAMILY}");
        assert_eq!(missing(COVERED), Vec::<char>::new());
    }
}
