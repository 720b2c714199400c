//! The heat map of a risk register as SVG: the pack's grid (probability ×
//! impact, as its scoring configuration declares the scales), each cell
//! coloured by the level its score falls in (the pack's bands and
//! colours), holding the number of its risks and linking to them.
//!
//! Accessible: the picture has a title and a description; every cell that
//! holds risks is a link whose accessible name says where it is, how many
//! risks it holds (and which) and their level; text on a cell is black or
//! white, whichever contrasts more with the cell's colour. Colours are
//! presentation attributes, not styles, so the pages' CSP holds.

/// Text or an attribute value made safe in markup.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One band of scores with its colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// The pack's value word (`visok`).
    pub name: String,
    /// Its label in the page's language.
    pub label: String,
    pub min: i64,
    pub max: i64,
    /// `#rrggbb`.
    pub colour: String,
}

/// What the map shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Probability values, lowest first (the map's rows, drawn bottom-up).
    pub probability: Vec<i64>,
    /// Impact values, lowest first (the map's columns, left to right).
    pub impact: Vec<i64>,
    pub probability_title: String,
    pub impact_title: String,
    /// Risk ids in each cell: `risks[row][column]`, row 0 the lowest probability.
    pub risks: Vec<Vec<Vec<String>>>,
    pub bands: Vec<Band>,
}

impl Grid {
    /// The band a score falls in.
    pub fn band(&self, score: i64) -> Option<&Band> {
        self.bands.iter().find(|b| (b.min..=b.max).contains(&score))
    }

    pub fn count(&self, row: usize, column: usize) -> usize {
        self.risks.get(row).and_then(|r| r.get(column)).map_or(0, Vec::len)
    }
}

/// The accessible name of a cell: (probability, impact, risk ids, level label).
pub type CellName<'a> = &'a dyn Fn(i64, i64, &[String], &str) -> String;

/// The words of the map in the page's language.
pub struct Words<'a> {
    pub title: String,
    pub description: String,
    /// The accessible name of a cell: (probability, impact, risk ids, level label).
    pub cell: CellName<'a>,
}

/// Colours a pack's levels are shown in when it sets none: a neutral ramp
/// from light to dark, by the level's place (lowest first).
pub const FALLBACK: [&str; 5] = ["#dce9f5", "#a9c9e8", "#6b9fd1", "#2f6fae", "#123f6e"];

/// A fallback colour for level `index` of `count`.
pub fn fallback_colour(index: usize, count: usize) -> String {
    let step = if count <= 1 { 0 } else { index * (FALLBACK.len() - 1) / (count - 1) };
    FALLBACK[step.min(FALLBACK.len() - 1)].to_string()
}

fn channel(hex: &str, at: usize) -> f64 {
    let value = hex.get(at..at + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).unwrap_or(0);
    let c = f64::from(value) / 255.0;
    if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

/// WCAG relative luminance of `#rrggbb`.
pub fn luminance(colour: &str) -> f64 {
    let hex = colour.trim_start_matches('#');
    0.2126 * channel(hex, 0) + 0.7152 * channel(hex, 2) + 0.0722 * channel(hex, 4)
}

/// WCAG contrast ratio of two colours.
pub fn contrast(a: &str, b: &str) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    let (hi, lo) = if x > y { (x, y) } else { (y, x) };
    (hi + 0.05) / (lo + 0.05)
}

/// Black or white, whichever reads better on `background`.
pub fn text_colour(background: &str) -> &'static str {
    if contrast(background, "#000000") >= contrast(background, "#ffffff") { "#000000" } else { "#ffffff" }
}

/// The map as an inline `<svg>`; `link(row, column)` is the address of a
/// cell's risks (rows and columns zero-based, row 0 the lowest probability).
pub fn svg(grid: &Grid, words: &Words<'_>, link: &dyn Fn(usize, usize) -> String) -> String {
    let rows = grid.probability.len();
    let columns = grid.impact.len();
    let cell = if rows.max(columns) > 6 { 36 } else { 56 };
    let (left, top, bottom) = (64, 8, 56);
    let width = left + columns * cell + 8;
    let height = top + rows * cell + bottom;
    let mut out = String::with_capacity(4096 + rows * columns * 300);
    out.push_str(&format!(
        r#"<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="group" aria-labelledby="heatmap-title heatmap-desc">"#
    ));
    out.push_str(&format!(
        r#"<title id="heatmap-title">{}</title><desc id="heatmap-desc">{}</desc>"#,
        html_escape(&words.title),
        html_escape(&words.description)
    ));
    for (r, p) in grid.probability.iter().enumerate() {
        // The highest probability is drawn on top.
        let y = top + (rows - 1 - r) * cell;
        out.push_str(&format!(
            r##"<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" font-size="13" fill="#1b1f24" aria-hidden="true">{p}</text>"##,
            left - 6,
            y + cell / 2
        ));
        for (c, i) in grid.impact.iter().enumerate() {
            let x = left + c * cell;
            let band = grid.band(p * i);
            let colour = band.map_or("#ffffff", |b| b.colour.as_str());
            let ink = text_colour(colour);
            let ids = grid.risks.get(r).and_then(|row| row.get(c)).map_or(&[][..], Vec::as_slice);
            let name = (words.cell)(*p, *i, ids, band.map_or("", |b| b.label.as_str()));
            let rect = format!(
                r##"<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{colour}" stroke="#ffffff" stroke-width="2"/>"##
            );
            if ids.is_empty() {
                out.push_str(&format!(
                    r#"<g class="cell" data-probability="{p}" data-impact="{i}" data-count="0" data-level="{}">{rect}<title>{}</title></g>"#,
                    html_escape(band.map_or("", |b| b.name.as_str())),
                    html_escape(&name)
                ));
            } else {
                out.push_str(&format!(
                    r#"<a class="cell" href="{}" aria-label="{}" data-probability="{p}" data-impact="{i}" data-count="{}" data-level="{}" data-risks="{}">{rect}<text x="{}" y="{}" text-anchor="middle" dominant-baseline="middle" font-size="{}" font-weight="700" fill="{ink}" aria-hidden="true">{}</text></a>"#,
                    html_escape(&link(r, c)),
                    html_escape(&name),
                    ids.len(),
                    html_escape(band.map_or("", |b| b.name.as_str())),
                    html_escape(&ids.join(" ")),
                    x + cell / 2,
                    y + cell / 2,
                    if cell > 40 { 18 } else { 14 },
                    ids.len()
                ));
            }
        }
    }
    let axis_y = top + rows * cell;
    for (c, i) in grid.impact.iter().enumerate() {
        out.push_str(&format!(
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="13" fill="#1b1f24" aria-hidden="true">{i}</text>"##,
            left + c * cell + cell / 2,
            axis_y + 18
        ));
    }
    out.push_str(&format!(
        r##"<text x="{}" y="{}" text-anchor="middle" font-size="14" fill="#1b1f24" aria-hidden="true">{}</text>"##,
        left + columns * cell / 2,
        axis_y + 44,
        html_escape(&grid.impact_title)
    ));
    out.push_str(&format!(
        r##"<text x="14" y="{}" text-anchor="middle" font-size="14" fill="#1b1f24" transform="rotate(-90 14 {})" aria-hidden="true">{}</text>"##,
        top + rows * cell / 2,
        top + rows * cell / 2,
        html_escape(&grid.probability_title)
    ));
    out.push_str("</svg>");
    out
}

/// A small square of a colour, for legends and level badges.
pub fn swatch(colour: &str) -> String {
    format!(
        r##"<svg class="swatch" width="14" height="14" viewBox="0 0 14 14" aria-hidden="true" focusable="false"><rect width="14" height="14" rx="2" fill="{}" stroke="#4a5560"/></svg>"##,
        html_escape(colour)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(side: i64) -> Grid {
        let values: Vec<i64> = (1..=side).collect();
        let n = values.len();
        let mut risks = vec![vec![Vec::new(); n]; n];
        risks[2][4].push("R1".to_string());
        risks[2][4].push("R2".to_string());
        risks[0][0].push("R3".to_string());
        Grid {
            probability: values.clone(),
            impact: values,
            probability_title: "P".into(),
            impact_title: "I".into(),
            risks,
            bands: vec![
                Band { name: "low".into(), label: "Low".into(), min: 1, max: 15, colour: "#2e7d32".into() },
                Band { name: "mid".into(), label: "Mid".into(), min: 16, max: 48, colour: "#f9a825".into() },
                Band { name: "high".into(), label: "High".into(), min: 49, max: 100, colour: "#c62828".into() },
            ],
        }
    }

    fn words() -> Words<'static> {
        Words {
            title: "Heat map".into(),
            description: "Risks by cell".into(),
            cell: &|p, i, ids, level| format!("P {p}, I {i}: {} ({}) {level}", ids.len(), ids.join(", ")),
        }
    }

    #[test]
    fn a_ten_by_ten_map_has_a_hundred_cells_with_the_packs_colours() {
        let svg = svg(&grid(10), &words(), &|r, c| format!("?cell={r}-{c}"));
        assert_eq!(svg.matches(r#"class="cell""#).count(), 100);
        assert_eq!(svg.matches("<a ").count(), 2, "only cells with risks are links");
        // P 3 × I 5 = 15: low; the two risks are there, named.
        assert!(svg.contains(r#"href="?cell=2-4" aria-label="P 3, I 5: 2 (R1, R2) Low" data-probability="3" data-impact="5" data-count="2" data-level="low" data-risks="R1 R2""#), "{svg}");
        // P 10 × I 10 = 100: high, drawn in the pack's colour.
        assert!(svg.contains(r##"data-probability="10" data-impact="10" data-count="0" data-level="high"><rect x="388" y="8" width="36" height="36" fill="#c62828""##), "{svg}");
        assert!(svg.contains(r#"<title id="heatmap-title">Heat map</title>"#));
    }

    #[test]
    fn text_on_a_cell_contrasts() {
        assert_eq!(text_colour("#c62828"), "#ffffff");
        assert_eq!(text_colour("#f9a825"), "#000000");
        assert_eq!(text_colour("#2e7d32"), "#ffffff");
        for colour in ["#2e7d32", "#f9a825", "#c62828"] {
            assert!(contrast(colour, text_colour(colour)) >= 4.5, "{colour}");
        }
        for colour in FALLBACK {
            assert!(contrast(colour, text_colour(colour)) >= 4.5, "{colour}");
        }
    }

    #[test]
    fn words_are_escaped() {
        let mut g = grid(5);
        g.impact_title = "<script>".into();
        let svg = svg(&g, &words(), &|_, _| "?a=1&b=2".into());
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("?a=1&amp;b=2"));
    }

    #[test]
    fn fallback_colours_run_from_light_to_dark() {
        assert_eq!(fallback_colour(0, 3), FALLBACK[0]);
        assert_eq!(fallback_colour(2, 3), FALLBACK[4]);
        assert_eq!(fallback_colour(0, 1), FALLBACK[0]);
    }
}
