//! The paper a document prints on: a size and an orientation, declared per
//! document in a pack's manifest (`page: Page(size: "A4", orientation:
//! Landscape)`), printed as CSS `@page` in the HTML and used as is by the
//! PDF typesetter.
//!
//! API boundary: [`PageSetup`] is plain data; the PDF crate reads its
//! dimensions and nothing else, so a new paper size is added here only.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A `page:` as written in `pack.ron`. The size is text so that a wrong one
/// is a lint diagnostic naming the document (E506), not a RON parse error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Page", deny_unknown_fields)]
pub struct PageDecl {
    /// One of [`PaperSize::ALL`] (by name, case-insensitive); A4 when absent.
    #[serde(default = "default_size")]
    pub size: String,
    #[serde(default)]
    pub orientation: Orientation,
}

fn default_size() -> String {
    PaperSize::A4.name().to_string()
}

/// Which way up the paper is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Orientation {
    #[default]
    Portrait,
    Landscape,
}

/// The paper sizes a pack may ask for: the ISO sizes offices print on and
/// the two North American ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PaperSize {
    A3,
    #[default]
    A4,
    A5,
    Letter,
    Legal,
}

impl PaperSize {
    pub const ALL: [PaperSize; 5] = [PaperSize::A3, PaperSize::A4, PaperSize::A5, PaperSize::Letter, PaperSize::Legal];

    /// The name a pack writes and CSS understands.
    pub fn name(self) -> &'static str {
        match self {
            PaperSize::A3 => "A3",
            PaperSize::A4 => "A4",
            PaperSize::A5 => "A5",
            PaperSize::Letter => "Letter",
            PaperSize::Legal => "Legal",
        }
    }

    /// Width and height in millimetres, portrait.
    pub fn portrait_mm(self) -> (f64, f64) {
        match self {
            PaperSize::A3 => (297.0, 420.0),
            PaperSize::A4 => (210.0, 297.0),
            PaperSize::A5 => (148.0, 210.0),
            PaperSize::Letter => (215.9, 279.4),
            PaperSize::Legal => (215.9, 355.6),
        }
    }
}

impl std::str::FromStr for PaperSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        PaperSize::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            let known: Vec<&str> = PaperSize::ALL.iter().map(|p| p.name()).collect();
            format!("`{s}` is not a paper size integritas knows; it knows: {}", known.join(", "))
        })
    }
}

/// A checked page: the paper and which way up it is. A4 portrait by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PageSetup {
    pub size: PaperSize,
    pub orientation: Orientation,
}

impl PageSetup {
    /// Checks a declaration (the reason, in one sentence, when its size is unknown).
    pub fn from_decl(decl: &PageDecl) -> Result<PageSetup, String> {
        Ok(PageSetup { size: decl.size.parse()?, orientation: decl.orientation })
    }

    /// Width and height in millimetres, as the paper lies.
    pub fn dimensions_mm(self) -> (f64, f64) {
        let (w, h) = self.size.portrait_mm();
        match self.orientation {
            Orientation::Portrait => (w, h),
            Orientation::Landscape => (h, w),
        }
    }

    pub fn is_landscape(self) -> bool {
        self.orientation == Orientation::Landscape
    }

    /// The value of CSS `@page { size: … }`: `A4`, `A4 landscape`.
    pub fn css(self) -> String {
        match self.orientation {
            Orientation::Portrait => self.size.name().to_string(),
            Orientation::Landscape => format!("{} landscape", self.size.name()),
        }
    }
}

impl fmt::Display for PageSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let way = match self.orientation {
            Orientation::Portrait => "portrait",
            Orientation::Landscape => "landscape",
        };
        write!(f, "{} {way}", self.size.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(written: &str, expect: Result<(&str, (f64, f64)), &str>) {
        let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let decl: PageDecl = options.from_str(written).expect("parses");
        let got = PageSetup::from_decl(&decl).map(|p| (p.css(), p.dimensions_mm()));
        let got = got.as_ref().map(|(css, mm)| (css.as_str(), *mm)).map_err(String::as_str);
        match (got, expect) {
            (Ok(g), Ok(e)) => assert_eq!(g, e, "{written}"),
            (Err(g), Err(e)) => assert!(g.contains(e), "{written}: {g}"),
            (g, e) => panic!("{written}: got {g:?}, expected {e:?}"),
        }
    }

    #[test]
    fn pages_as_written() {
        check("Page()", Ok(("A4", (210.0, 297.0))));
        check("Page(orientation: Landscape)", Ok(("A4 landscape", (297.0, 210.0))));
        check("Page(size: \"a3\", orientation: Landscape)", Ok(("A3 landscape", (420.0, 297.0))));
        check("Page(size: \"Letter\")", Ok(("Letter", (215.9, 279.4))));
        check(
            "Page(size: \"B5\")",
            Err("`B5` is not a paper size integritas knows; it knows: A3, A4, A5, Letter, Legal"),
        );
    }
}
