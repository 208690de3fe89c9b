//! XSD simple-type checks for the built-in types kernel-4 uses, mimicking libxml2 2.9's lexical rules.

/// A simple type from kernel-4, with the message libxml2 gives when a value fails it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Simple {
    /// xs:string / xs:anySimpleType: anything goes.
    Str,
    /// nonemptycontentStringType: xs:string with minLength 1.
    NonEmpty,
    /// yearType: xs:token with pattern `[\d]{4}`.
    Year,
    /// xs:language.
    Language,
    /// The xml:lang attribute: xs:language or the empty string.
    XmlLang,
    /// xml:space.
    XmlSpace,
    /// xs:anyURI.
    Uri,
    /// longitudeType / latitudeType: xs:float within ±limit.
    Float(f32),
    /// A kernel-4 controlled list (xs:string enumeration, whitespace preserved).
    Enum(&'static [&'static str]),
}

/// Why a value is not of its type, in libxml2's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejected(pub(crate) String);

/// `Ok` when `valid`, else the message `why` gives.
fn judged(valid: bool, why: impl FnOnce() -> String) -> Result<(), Rejected> {
    if valid {
        Ok(())
    } else {
        Err(Rejected(why()))
    }
}

pub(crate) fn check(ty: Simple, value: &str) -> Result<(), Rejected> {
    match ty {
        Simple::Str => Ok(()),
        Simple::NonEmpty => judged(!value.is_empty(), || {
            "[facet 'minLength'] The value has a length of '0'; this underruns the allowed minimum length of '1'."
                .into()
        }),
        Simple::Year => {
            let v = collapse(value);
            judged(v.chars().count() == 4 && v.chars().all(is_nd_digit), || {
                format!("[facet 'pattern'] The value '{v}' is not accepted by the pattern '[\\d]{{4}}'.")
            })
        }
        Simple::Language => judged(is_language(&collapse(value)), || {
            format!("'{value}' is not a valid value of the atomic type 'xs:language'.")
        }),
        Simple::XmlLang => judged(value.is_empty() || is_language(&collapse(value)), || {
            format!("'{value}' is not a valid value of the union type 'xml:lang'.")
        }),
        Simple::XmlSpace => judged(matches!(collapse(value).as_str(), "default" | "preserve"), || {
            format!("[facet 'enumeration'] The value '{value}' is not an element of the set {{'default', 'preserve'}}.")
        }),
        Simple::Uri => judged(is_any_uri(value), || {
            format!("'{value}' is not a valid value of the atomic type 'xs:anyURI'.")
        }),
        Simple::Float(limit) => check_float(value, limit),
        Simple::Enum(values) => judged(values.contains(&value), || {
            let set: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
            format!(
                "[facet 'enumeration'] The value '{value}' is not an element of the set {{{}}}.",
                set.join(", ")
            )
        }),
    }
}

/// longitudeType / latitudeType: an xs:float within ±`limit`.
fn check_float(value: &str, limit: f32) -> Result<(), Rejected> {
    let why = match parse_float(value) {
        None => format!("'{value}' is not a valid value of the atomic type 'xs:float'."),
        Some(f) if f.is_nan() || f > limit => {
            format!("[facet 'maxInclusive'] The value '{value}' is greater than the maximum value allowed ('{limit}').")
        }
        Some(f) if f < -limit => {
            format!("[facet 'minInclusive'] The value '{value}' is less than the minimum value allowed ('-{limit}').")
        }
        Some(_) => return Ok(()),
    };
    Err(Rejected(why))
}

fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// XSD whiteSpace="collapse".
pub(crate) fn collapse(v: &str) -> String {
    v.split(is_xml_ws)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn is_xml_whitespace(v: &str) -> bool {
    v.chars().all(is_xml_ws)
}

/// `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`
fn is_language(v: &str) -> bool {
    let mut parts = v.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Zero digits of Unicode's decimal-digit (Nd) blocks; XSD's `\d` is category Nd.
const ND_ZEROS: &[u32] = &[
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50, 0xED0,
    0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620,
    0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
];

fn is_nd_digit(c: char) -> bool {
    let c = c as u32;
    ND_ZEROS.iter().any(|&z| (z..z + 10).contains(&c))
}

/// libxml2's xs:float lexical rules: optional sign, digits with an optional
/// fraction (at least one digit overall), optional exponent whose digits may be
/// missing ("1e" is accepted), INF/-INF/NaN; surrounding whitespace ignored.
/// Parsed as f32 like libxml2, so 180.0000001 rounds to 180.
pub(crate) fn parse_float(value: &str) -> Option<f32> {
    let v = value.trim_matches(is_xml_ws);
    match v {
        "NaN" => return Some(f32::NAN),
        "INF" => return Some(f32::INFINITY),
        "-INF" => return Some(f32::NEG_INFINITY),
        _ => {}
    }
    let b = v.as_bytes();
    let mut i = 0;
    let mut out = String::new();
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        if b[i] == b'-' {
            out.push('-');
        }
        i += 1;
    }
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let before = i - start;
    out.push_str(&v[start..i]);
    out.push('.');
    let mut after = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        after = i - s;
        out.push_str(&v[s..i]);
    }
    if before == 0 && after == 0 {
        return None;
    }
    out.push('0');
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let mut exp = String::from("e");
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            exp.push(b[i] as char);
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i > s {
            exp.push_str(&v[s..i]);
            out.push_str(&exp);
        }
    }
    if i != b.len() {
        return None;
    }
    out.parse::<f32>().ok()
}

/// libxml2 2.9's xs:anyURI check: collapse whitespace, replace characters URIs
/// may not contain with '_', then require an RFC 3986 URI-reference.
pub(crate) fn is_any_uri(value: &str) -> bool {
    let bytes: Vec<u8> = collapse(value)
        .bytes()
        .map(|b| {
            if !(32..127).contains(&b) || b" <>\"{}|\\^`'".contains(&b) {
                b'_'
            } else {
                b
            }
        })
        .collect();
    if bytes.is_empty() {
        return true;
    }
    uri::absolute(&bytes) || uri::relative(&bytes)
}

mod uri {
    //! RFC 3986 URI-reference grammar, following libxml2's xmlParse3986* functions.

    fn unreserved(c: u8) -> bool {
        c.is_ascii_alphanumeric() || b"-._~".contains(&c)
    }
    fn sub_delim(c: u8) -> bool {
        b"!$&'()*+,;=".contains(&c)
    }
    fn pct(s: &[u8], i: usize) -> bool {
        s.get(i) == Some(&b'%')
            && s.get(i + 1).is_some_and(|c| c.is_ascii_hexdigit())
            && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
    }
    /// Length of the pchar at `i` (0 when there is none); `forbid` excludes one character.
    fn pchar(s: &[u8], i: usize, forbid: u8) -> usize {
        match s.get(i) {
            Some(&c) if c == forbid => 0,
            Some(&c) if unreserved(c) || sub_delim(c) || c == b':' || c == b'@' => 1,
            Some(b'%') if pct(s, i) => 3,
            _ => 0,
        }
    }
    fn segment(s: &[u8], mut i: usize, forbid: u8) -> usize {
        loop {
            let n = pchar(s, i, forbid);
            if n == 0 {
                return i;
            }
            i += n;
        }
    }
    fn path_abempty(s: &[u8], mut i: usize) -> usize {
        while s.get(i) == Some(&b'/') {
            i = segment(s, i + 1, 0);
        }
        i
    }
    fn authority(s: &[u8], mut i: usize) -> Option<usize> {
        // userinfo "@" is optional; only taken when the '@' really follows.
        let mut j = i;
        loop {
            let n = match s.get(j) {
                Some(&c) if unreserved(c) || sub_delim(c) || c == b':' => 1,
                Some(b'%') if pct(s, j) => 3,
                _ => 0,
            };
            if n == 0 {
                break;
            }
            j += n;
        }
        if s.get(j) == Some(&b'@') {
            i = j + 1;
        }
        if s.get(i) == Some(&b'[') {
            i += 1;
            while i < s.len() && s[i] != b']' {
                i += 1;
            }
            if i >= s.len() {
                return None;
            }
            i += 1;
        } else {
            loop {
                let n = match s.get(i) {
                    Some(&c) if unreserved(c) || sub_delim(c) => 1,
                    Some(b'%') if pct(s, i) => 3,
                    _ => 0,
                };
                if n == 0 {
                    break;
                }
                i += n;
            }
        }
        if s.get(i) == Some(&b':') {
            i += 1;
            while s.get(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
        }
        Some(i)
    }
    /// Optional "?query" and "#fragment", then the end of input.
    fn tail(s: &[u8], mut i: usize) -> bool {
        if s.get(i) == Some(&b'?') {
            i += 1;
            loop {
                let n = pchar(s, i, 0);
                if n > 0 {
                    i += n;
                } else if matches!(s.get(i), Some(b'/') | Some(b'?')) {
                    i += 1;
                } else {
                    break;
                }
            }
        }
        if s.get(i) == Some(&b'#') {
            i += 1;
            loop {
                let n = pchar(s, i, 0);
                if n > 0 {
                    i += n;
                } else if matches!(s.get(i), Some(b'/') | Some(b'?') | Some(b'[') | Some(b']')) {
                    i += 1;
                } else {
                    break;
                }
            }
        }
        i == s.len()
    }
    fn after_scheme_or_start(s: &[u8], i: usize, forbid_first: u8) -> bool {
        if s[i..].starts_with(b"//") {
            match authority(s, i + 2) {
                Some(j) => tail(s, path_abempty(s, j)),
                None => false,
            }
        } else if s.get(i) == Some(&b'/') {
            let j = segment(s, i + 1, 0);
            tail(s, path_abempty(s, j))
        } else if pchar(s, i, 0) > 0 {
            let j = segment(s, i, forbid_first);
            if j == i {
                return false;
            }
            tail(s, path_abempty(s, j))
        } else {
            tail(s, i)
        }
    }
    pub(super) fn absolute(s: &[u8]) -> bool {
        if !s.first().is_some_and(|c| c.is_ascii_alphabetic()) {
            return false;
        }
        let mut i = 1;
        while s
            .get(i)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
        {
            i += 1;
        }
        if s.get(i) != Some(&b':') {
            return false;
        }
        after_scheme_or_start(s, i + 1, 0)
    }
    pub(super) fn relative(s: &[u8]) -> bool {
        after_scheme_or_start(s, 0, b':')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expectations below were taken from xmllint (libxml2 2.9.14) runs.
    #[test]
    fn floats_like_libxml2() {
        for ok in [
            "+5",
            ".5",
            "5.",
            "1e2",
            "1E+2",
            "-0",
            " 5 ",
            "180.0000001",
            "180",
            "1e",
            "1.e1",
            "-.5",
            "00012",
            "1e-400",
        ] {
            assert!(check(Simple::Float(180.0), ok).is_ok(), "{ok}");
        }
        for bad in [
            "INF", "-INF", "NaN", "1,5", "", "0x10", "5f", "+INF", "inf", ".e1", "1e400",
        ] {
            assert!(check(Simple::Float(180.0), bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uris_like_libxml2() {
        for ok in [
            "a b",
            "http://[::1]/",
            "a:b",
            "",
            " ",
            "http://x.org/ä",
            "//",
            "x?y#z",
            "%41",
        ] {
            assert!(is_any_uri(ok), "{ok}");
        }
        for bad in [
            "%zz",
            ":bad",
            "http://x/%2",
            "http://[x",
            "#a#b",
            "a[b]",
            "http://x:abc/",
        ] {
            assert!(!is_any_uri(bad), "{bad}");
        }
    }

    #[test]
    fn languages_and_years() {
        assert!(check(Simple::XmlLang, "").is_ok());
        assert!(check(Simple::XmlLang, " ").is_err());
        assert!(check(Simple::Language, " en ").is_ok());
        assert!(check(Simple::Language, "").is_err());
        for bad in ["en_US", "abcdefghi", "x-123456789", "1en", "en-"] {
            assert!(check(Simple::Language, bad).is_err(), "{bad}");
        }
        assert!(check(Simple::Language, "de-1996").is_ok());
        for ok in [" 2020 ", "٢٠٢٠", "０１２３"] {
            assert!(check(Simple::Year, ok).is_ok(), "{ok}");
        }
        for bad in ["2020a", "02020", "999", ""] {
            assert!(check(Simple::Year, bad).is_err(), "{bad}");
        }
    }
}
