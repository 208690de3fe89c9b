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

/// lupo's suggested suffixes (`Base32::URL.encode(n, split: 4, length: 8, checksum:
/// true)`): `n` in Crockford base32, zero-padded to six characters, then an ISO 7064
/// mod 97-10 check of two digits, split after four characters (`122149076` → `3mfp-6m52`).
pub fn encode_suffix(n: u64) -> String {
    let mut digits = Vec::new();
    let mut rest = n;
    loop {
        digits.push(CROCKFORD[(rest % 32) as usize]);
        rest /= 32;
        if rest == 0 {
            break;
        }
    }
    while digits.len() < 6 {
        digits.push(b'0');
    }
    digits.reverse();
    let check = 98 - ((n % 97) * 100) % 97;
    let mut text: String = digits.iter().map(|b| *b as char).collect();
    text.push_str(&format!("{check:02}"));
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for (i, c) in text.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// A number for [`encode_suffix`] below lupo's `UPPER_LIMIT` (six base32 characters).
pub fn random_number() -> Result<u64, Error> {
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal("the system random number generator failed".into()))?;
    Ok(u64::from_le_bytes(bytes) % (1 << 30))
}

/// A new DOI under `prefix` with a random suffix.
pub fn mint(prefix: &str) -> Result<String, Error> {
    Ok(format!("{}/{}", prefix.to_ascii_lowercase(), random_suffix()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lupo_suffix_encoding() {
        // lupo spec/requests/datacite_dois/datacite_dois_spec.rb "GET /dois/random?number".
        assert_eq!(encode_suffix(122_149_076), "3mfp-6m52");
        assert_eq!(encode_suffix(0).len(), 9);
    }

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
}
