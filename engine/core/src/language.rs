//! Language tags (BCP 47, RFC 5646) as packs, locales and users name
//! languages: `sr-Latn`, `sr-Cyrl`, `cnr`, `ro`, `en`.
//!
//! Only the well-formedness a pack author can get wrong is checked: the
//! shape of each subtag, and that a two-letter language is an ISO 639-1
//! code (a country code such as `me` written as a language is the usual
//! slip). Three-letter languages (ISO 639-2/3, e.g. `cnr`) are taken as
//! written.

/// ISO 639-1 two-letter language codes.
const ISO_639_1: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy \
da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io \
is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na \
nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss \
st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

/// Why a tag is not a well-formed language tag, or `None` when it is.
pub fn problem(tag: &str) -> Option<String> {
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or_default();
    let alpha = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic());
    match language.len() {
        2 if alpha(language) => {
            if !ISO_639_1.split_whitespace().any(|code| code.eq_ignore_ascii_case(language)) {
                return Some(format!("`{language}` is not an ISO 639-1 language code (is it a country code?)"));
            }
        }
        3 if alpha(language) => {}
        _ => return Some(format!("`{language}` is not a language subtag (two or three letters)")),
    }
    for (i, part) in parts.enumerate() {
        let script = part.len() == 4 && alpha(part) && i == 0;
        let region = (part.len() == 2 && alpha(part)) || (part.len() == 3 && part.chars().all(|c| c.is_ascii_digit()));
        let variant = (5..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
            || (part.len() == 4 && part.starts_with(|c: char| c.is_ascii_digit()));
        if !(script || region || variant) {
            return Some(format!("`{part}` is not a script, region or variant subtag"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_packs_use_are_well_formed_and_country_codes_are_not_languages() {
        for good in ["sr-Latn", "sr-Cyrl", "cnr", "ro", "en", "en-GB", "sr-Latn-RS", "de-CH-1996"] {
            assert_eq!(problem(good), None, "{good}");
        }
        for (bad, why) in [
            ("me", "`me` is not an ISO 639-1 language code (is it a country code?)"),
            ("serbian", "`serbian` is not a language subtag (two or three letters)"),
            ("sr_Latn", "`sr_Latn` is not a language subtag (two or three letters)"),
            ("sr-L", "`L` is not a script, region or variant subtag"),
        ] {
            assert_eq!(problem(bad).as_deref(), Some(why), "{bad}");
        }
    }
}
