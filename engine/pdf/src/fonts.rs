//! The fonts documents are set in, compiled into the binary (from
//! `typst-assets`, under the SIL Open Font License): Libertinus Serif for
//! text, New Computer Modern and DejaVu Sans Mono as fallbacks. No system
//! font is ever read, so a PDF looks the same on every install.

use std::sync::LazyLock;

use typst::foundations::Bytes;
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;

/// The family text is set in.
pub const TEXT_FAMILY: &str = "Libertinus Serif";

/// Letters the bundled packs' languages need, each of which must print in
/// every style (a test checks): Cyrillic with Ђ Ј Љ Њ Ћ Џ, Latin with
/// č ć đ š ž ś ź, and ă â î ș ț with the comma below (and the cedilla forms
/// older texts use), and the punctuation of their documents.
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

/// The family typst takes a letter from when the text family's face lacks it.
pub const FALLBACK_FAMILY: &str = "New Computer Modern";

/// The characters of `text` that a face of the text family (regular,
/// bold, italic…) lacks and the fallback family's face of the same style
/// and weight lacks too: letters that would print as boxes. Empty for
/// [`COVERED`], which a test checks. (Libertinus's bold italic lacks
/// Ђ ђ љ њ ћ џ; typst takes them from New Computer Modern's.)
pub fn missing(text: &str) -> Vec<char> {
    let fonts = &embedded().fonts;
    let faces: Vec<&Font> = fonts.iter().filter(|f| f.info().family == TEXT_FAMILY).collect();
    if faces.is_empty() {
        return text.chars().collect();
    }
    let mut lacking: Vec<char> = Vec::new();
    for face in faces {
        let variant = face.info().variant;
        let fallback = fonts.iter().find(|f| {
            f.info().family == FALLBACK_FAMILY
                && f.info().variant.style == variant.style
                && f.info().variant.weight == variant.weight
        });
        for c in text.chars() {
            let has = |f: &Font| f.info().coverage.contains(c as u32);
            if !has(face) && !fallback.is_some_and(has) && !lacking.contains(&c) {
                lacking.push(c);
            }
        }
    }
    lacking
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_letter_the_languages_need_has_a_glyph_in_every_style() {
        assert!(embedded().fonts.iter().any(|f| f.info().family == TEXT_FAMILY), "no {TEXT_FAMILY}");
        assert_eq!(missing(COVERED), Vec::<char>::new());
        // A letter no embedded face has is reported, so the check can fail.
        assert_eq!(missing("Ж\u{10FFFD}"), ['\u{10FFFD}']);
    }
}
