//! DOI names (CONTRACT §4): syntax, the case rule (stored lower case, MDS shows upper case),
//! prefix and suffix, and random suffixes for minting.

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::Error;

/// Crockford's base32 in lower case: no i, l, o, u, so suffixes survive being read aloud.
const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Checks `10.<4–9 digits>/<suffix>` (suffix `[-._;()/:a-zA-Z0-9*~$=]+`) and returns the
/// stored form, lower case. `None` when `s` is not a DOI.
pub fn parse(s: &str) -> Option<String> {
    let (prefix, suffix) = s.split_once('/')?;
    if !is_prefix(prefix) || suffix.is_empty() || !suffix.bytes().all(is_suffix_byte) {
        return None;
    }
    Some(s.to_ascii_lowercase())
}

/// Why a DOI may not be created although its characters are fine: a suffix with an empty,
/// `.` or `..` path segment, or ending in `/`, would make its URLs (`/dois/10.5072/../x`,
/// `Location`) resolve to other resources once a client normalises them (CONTRACT §4).
pub fn segment_problem(doi: &str) -> Option<String> {
    let suffix = suffix_of(doi);
    let bad = suffix.ends_with('/') || suffix.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..");
    bad.then(|| format!("DOI {doi}: the suffix may not have an empty, '.' or '..' path segment, or end with '/'"))
}

/// `10.` and 4–9 digits.
pub fn is_prefix(s: &str) -> bool {
    s.strip_prefix("10.")
        .is_some_and(|d| (4..=9).contains(&d.len()) && d.bytes().all(|c| c.is_ascii_digit()))
}

fn is_suffix_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._;()/:*~$=".contains(&b)
}

/// The prefix of a parsed DOI (`10.5072`).
pub fn prefix_of(doi: &str) -> &str {
    doi.split_once('/').map_or(doi, |(p, _)| p)
}

/// The suffix of a parsed DOI (`abc` of `10.5072/abc`).
pub fn suffix_of(doi: &str) -> &str {
    doi.split_once('/').map_or("", |(_, s)| s)
}

/// How MDS shows a DOI: upper case, as DataCite stores them.
pub fn upper(doi: &str) -> String {
    doi.to_ascii_uppercase()
}

/// A random suffix `xxxx-xxxx` (40 bits), as DataCite mints for a bare prefix.
pub fn random_suffix() -> Result<String, Error> {
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal("the system random number generator failed".into()))?;
    let mut out = String::with_capacity(9);
    for (i, b) in bytes.iter().enumerate() {
        if i == 4 {
            out.push('-');
        }
        // 256 is a multiple of 32, so the low five bits are uniform.
        out.push(CROCKFORD[(b & 0x1f) as usize] as char);
    }
    Ok(out)
}

/// A new DOI under `prefix` with a random suffix.
pub fn mint(prefix: &str) -> Result<String, Error> {
    Ok(format!("{}/{}", prefix.to_ascii_lowercase(), random_suffix()?))
}

/// Resolver hosts bolognese's `validate_doi` strips before the DOI itself.
const RESOLVERS: [&str; 4] = [
    "dx.doi.org/",
    "doi.org/",
    "handle.stage.datacite.org/",
    "handle.test.datacite.org/",
];

/// `s` without bolognese's optional lead: `http(s):/` or `http(s)://` and a resolver host
/// (a path may have lost one of the two slashes), then `doi:`.
fn strip_resolver(s: &str) -> &str {
    let mut rest = s;
    for scheme in ["https:/", "http:/"] {
        if let Some(after) = strip_prefix_ignore_case(rest, scheme) {
            let after = after.strip_prefix('/').unwrap_or(after);
            if let Some(bare) = RESOLVERS.iter().find_map(|r| strip_prefix_ignore_case(after, r)) {
                rest = bare;
            }
            break;
        }
    }
    strip_prefix_ignore_case(rest, "doi:").unwrap_or(rest)
}

/// bolognese's `validate_doi`: the DOI in `s` (bare, `doi:` or a resolver URL), parsed and
/// lower case; `None` when there is none. The MDS API accepts these forms in paths and bodies.
pub fn validate_doi(s: &str) -> Option<String> {
    let s = s.trim().replace('\u{200B}', "");
    parse(strip_resolver(&s))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// bolognese's `validate_prefix`: the prefix `s` starts with (`10.5072` of `10.5072`,
/// `10.5072/` or `10.5072/fk2`); `None` when it starts with none.
pub fn validate_prefix(s: &str) -> Option<String> {
    let bare = strip_resolver(s.trim());
    let prefix = bare.split('/').next().unwrap_or(bare);
    is_prefix(prefix).then(|| prefix.to_string())
}

/// The largest number poodle draws for a random DOI (`UPPER_LIMIT`, 2^30 - 1).
pub const UPPER_LIMIT: u64 = 1_073_741_823;

/// The `base32-url` gem's `Base32::URL.encode(n, split:, length:, checksum:)`: Crockford
/// base32 in lower case, zero-padded to `length` (the checksum's two characters included),
/// the ISO 7064 mod 97-10 checksum as two digits, a `-` every `split` characters.
pub fn base32_url(n: u64, split: usize, length: usize, checksum: bool) -> String {
    let mut digits = Vec::new();
    let mut rest = n;
    loop {
        digits.push(CROCKFORD[(rest % 32) as usize]);
        rest /= 32;
        if rest == 0 {
            break;
        }
    }
    let width = if checksum { length.saturating_sub(2) } else { length };
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    let mut plain: String = digits.into_iter().map(char::from).collect();
    if checksum {
        let check = 98 - (u128::from(n) * 100 % 97);
        plain.push_str(&format!("{check:02}"));
    }
    let chars: Vec<char> = plain.chars().collect();
    chars
        .chunks(split.max(1))
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The inverse of [`base32_url`] without checksum: `-` ignored, case-insensitive, `i`/`l`
/// read as 1 and `o` as 0 (Crockford's decoding rules). `None` for other characters or overflow.
pub fn base32_url_decode(s: &str) -> Option<u64> {
    let mut n: u64 = 0;
    let mut any = false;
    for c in s.chars().filter(|c| *c != '-') {
        let c = match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        };
        let value = CROCKFORD.iter().position(|&b| char::from(b) == c)?;
        n = n.checked_mul(32)?.checked_add(value as u64)?;
        any = true;
    }
    any.then_some(n)
}

/// poodle's `encode_doi`: `prefix/[shoulder-]xxxx-xxcc` for `number`, or for a random
/// number below [`UPPER_LIMIT`] when `number` is `None` or 0.
pub fn encode_doi(prefix: &str, shoulder: &str, number: Option<u64>) -> Result<String, Error> {
    let n = match number.filter(|n| *n > 0) {
        Some(n) => n,
        None => random_below(UPPER_LIMIT)?,
    };
    let shoulder = if shoulder.is_empty() {
        String::new()
    } else {
        format!("{shoulder}-")
    };
    Ok(format!("{prefix}/{shoulder}{}", base32_url(n, 4, 8, true)).to_ascii_lowercase())
}

fn random_below(limit: u64) -> Result<u64, Error> {
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal("the system random number generator failed".into()))?;
    // 2^64 is so much larger than the limit that the modulo bias is negligible.
    Ok(u64::from_le_bytes(bytes) % limit)
}

/// poodle's `generate_random_doi`: under the prefix `s` starts with, with the rest of `s`
/// (after the first `/`) as shoulder. `None` when `s` starts with no prefix.
pub fn generate_random_doi(s: &str, number: Option<u64>) -> Result<Option<String>, Error> {
    let Some(prefix) = validate_prefix(s) else {
        return Ok(None);
    };
    let shoulder = s.trim().split_once('/').map_or("", |(_, rest)| rest);
    encode_doi(&prefix, shoulder, number).map(Some)
}

/// poodle's `extract_doi` without its look-ups: the DOI of `path`, else the record's
/// (`in_record`, for DataCite XML), else a new one under `path`'s prefix (the rest of the
/// path as shoulder; `number` as in [`encode_doi`]). `None` when `path` has no prefix.
pub fn extract_doi(path: &str, in_record: Option<&str>, number: Option<u64>) -> Result<Option<String>, Error> {
    match validate_doi(path).or_else(|| in_record.and_then(validate_doi)) {
        Some(d) => Ok(Some(d)),
        None => generate_random_doi(path, number),
    }
}

/// poodle's `number` parameter: the digits it contains, read as one number (`None` when it
/// has none or they do not fit 64 bits).
pub fn number_param(s: &str) -> Option<u64> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_doi_syntax_and_lower_cases() {
        assert_eq!(parse("10.5072/ABC").as_deref(), Some("10.5072/abc"));
        assert_eq!(
            parse("10.123456789/a-b.c_d;(e)/f:g*h~i$j=k").as_deref(),
            Some("10.123456789/a-b.c_d;(e)/f:g*h~i$j=k")
        );
        assert_eq!(parse("10.5072/a/b").as_deref(), Some("10.5072/a/b"));
    }

    #[test]
    fn rejects_non_dois() {
        for bad in [
            "",
            "10.5072",
            "10.5072/",
            "10.507/abc",
            "10.1234567890/abc",
            "11.5072/abc",
            "10.50a2/abc",
            "10.5072/a b",
            "10.5072/ä",
            "10.5072/a?b",
            "10.5072/a#b",
            "doi:10.5072/abc",
        ] {
            assert_eq!(parse(bad), None, "{bad:?} accepted");
        }
    }

    #[test]
    fn path_segments() {
        for bad in [
            "10.5072/..",
            "10.5072/.",
            "10.5072/a/../b",
            "10.5072/a//b",
            "10.5072/a/",
            "10.5072//a",
            "10.5072/./a",
        ] {
            assert!(segment_problem(bad).is_some(), "{bad}");
        }
        for fine in [
            "10.5072/a.b",
            "10.5072/...",
            "10.5072/a/b",
            "10.5072/.a",
            "10.5072/a..b",
        ] {
            assert!(segment_problem(fine).is_none(), "{fine}");
        }
    }

    #[test]
    fn prefix_suffix_upper() {
        assert_eq!(prefix_of("10.5072/abc/def"), "10.5072");
        assert_eq!(suffix_of("10.5072/abc/def"), "abc/def");
        assert_eq!(upper("10.5072/abc"), "10.5072/ABC");
    }

    #[test]
    fn random_suffixes_are_crockford_pairs() {
        let a = random_suffix().unwrap();
        assert_eq!(a.len(), 9);
        assert_eq!(&a[4..5], "-");
        assert!(a.bytes().filter(|b| *b != b'-').all(|b| CROCKFORD.contains(&b)));
        assert_ne!(a, random_suffix().unwrap());
        let doi = mint("10.5072").unwrap();
        assert_eq!(parse(&doi).as_deref(), Some(doi.as_str()));
        assert_eq!(prefix_of(&doi), "10.5072");
    }

    #[test]
    fn poodle_encode_doi() {
        assert_eq!(encode_doi("10.5072", "", Some(123456)).unwrap(), "10.5072/003r-j076");
        assert_eq!(encode_doi("10.5072", "", Some(1234578)).unwrap(), "10.5072/015n-mj18");
        assert_eq!(encode_doi("10.5072", "", Some(1234579)).unwrap(), "10.5072/015n-mk15");
        assert_eq!(
            encode_doi("10.5072", "fk2", Some(123456)).unwrap(),
            "10.5072/fk2-003r-j076"
        );
        assert_eq!(encode_doi("10.5072", "", None).unwrap().len(), 17);
        assert_eq!(base32_url(688364, 4, 16, false), "0000-0000-0000-n07c");
        assert_eq!(base32_url_decode("0000-0000-0000-N07C"), Some(688364));
        assert_eq!(base32_url_decode("0000-u"), None);
        assert_eq!(base32_url_decode(""), None);
        assert_eq!(generate_random_doi("20.5438", None).unwrap(), None);
        assert_eq!(number_param("12-34"), Some(1234));
        assert_eq!(number_param("x"), None);
    }

    #[test]
    fn bolognese_validate_doi_and_prefix() {
        assert_eq!(
            validate_doi("https://doi.org/10.5072/ABC").as_deref(),
            Some("10.5072/abc")
        );
        assert_eq!(validate_doi("doi:10.5072/abc").as_deref(), Some("10.5072/abc"));
        assert_eq!(
            validate_doi("https:/doi.org/10.5072/abc").as_deref(),
            Some("10.5072/abc")
        );
        assert_eq!(
            validate_doi("http://dx.doi.org/doi:10.5072/abc").as_deref(),
            Some("10.5072/abc")
        );
        assert_eq!(validate_doi("https://example.org/10.5072/abc"), None);
        assert_eq!(validate_doi("10.5072"), None);
        assert_eq!(validate_doi("xxx"), None);
        for (s, p) in [
            ("10.5072", Some("10.5072")),
            ("10.5072/", Some("10.5072")),
            ("10.5072/FK2", Some("10.5072")),
            ("20.5072", None),
        ] {
            assert_eq!(validate_prefix(s).as_deref(), p, "{s}");
        }
    }
}
