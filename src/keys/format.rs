//! The API key format: `DC.` + 32 base62 characters, the last 6 a base62 CRC32 of the rest,
//! so a mistyped or invented key is rejected offline, before any database look-up.

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::Error;

pub const PREFIX: &str = "DC.";
pub const BODY_LEN: usize = 32;
pub const KEY_LEN: usize = PREFIX.len() + BODY_LEN;
const CHECKSUM_LEN: usize = 6;
/// `keyPrefix`: what lists show so people recognise a key.
pub const DISPLAY_PREFIX_LEN: usize = 11;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// True when `s` is meant as a key (CONTRACT §2: `DC.` in any case and longer than 20
/// characters), whether or not it is a valid one.
pub fn looks_like_key(s: &str) -> bool {
    s.len() > 20 && s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
}

/// Checks length, alphabet and checksum. Returns the key in canonical form (`DC.` upper-case).
pub fn parse(s: &str) -> Option<String> {
    if s.len() != KEY_LEN || !looks_like_key(s) {
        return None;
    }
    let body = &s[PREFIX.len()..];
    // BASE62 is exactly the ASCII letters and digits (checked by a test): no table scan
    // per character on every authenticated request.
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let mut canonical = String::with_capacity(KEY_LEN);
    canonical.push_str(PREFIX);
    canonical.push_str(body);
    let (payload, checksum) = canonical.split_at(KEY_LEN - CHECKSUM_LEN);
    (checksum.as_bytes() == encode_checksum(payload)).then_some(canonical)
}

/// A new random key.
pub fn generate() -> Result<String, Error> {
    let rng = SystemRandom::new();
    let mut key = String::from(PREFIX);
    let mut buf = [0u8; 64];
    while key.len() < KEY_LEN - CHECKSUM_LEN {
        rng.fill(&mut buf)
            .map_err(|_| Error::Internal("the system random number generator failed".into()))?;
        // 248 = 4 * 62: rejecting larger bytes keeps every character equally likely.
        for b in buf.iter().filter(|b| **b < 248) {
            if key.len() == KEY_LEN - CHECKSUM_LEN {
                break;
            }
            key.push(BASE62[(*b % 62) as usize] as char);
        }
    }
    let checksum = encode_checksum(&key);
    key.extend(checksum.iter().map(|&b| char::from(b)));
    Ok(key)
}

/// `keyPrefix` of a canonical key.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(DISPLAY_PREFIX_LEN).collect()
}

/// The SHA-256 stored for a canonical key.
pub fn hash(key: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, key.as_bytes()).as_ref().to_vec()
}

/// The checksum's base62 digits (bytes, not a `String`: this runs on every request by key).
fn encode_checksum(payload: &str) -> [u8; CHECKSUM_LEN] {
    // CRC-32 (IEEE 802.3, as zlib and most secret scanners compute it).
    let mut n = crc32fast::hash(payload.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_is_the_ascii_alphanumerics() {
        let all: Vec<u8> = (0..=255u8).filter(u8::is_ascii_alphanumeric).collect();
        let mut table = BASE62.to_vec();
        table.sort_unstable();
        assert_eq!(table, all);
    }

    /// Keys made before, with the checksum zlib's CRC-32 gives: the format never changes.
    #[test]
    fn known_keys_keep_validating() {
        for key in [
            "DC.qk9jb45s5qgbmyF5OOeR2ZqGfY0jLXzY", // fixtures/ci.json
            "DC.000000000000000000000000004f4S3s",
            "DC.zzzzzzzzzzzzzzzzzzzzzzzzzz4b6Mwf",
        ] {
            assert_eq!(parse(key).as_deref(), Some(key));
            assert_eq!(
                encode_checksum(&key[..KEY_LEN - CHECKSUM_LEN]),
                &key.as_bytes()[KEY_LEN - CHECKSUM_LEN..]
            );
        }
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn generated_keys_parse() {
        for _ in 0..100 {
            let key = generate().unwrap();
            assert_eq!(key.len(), 35);
            assert!(key.starts_with("DC."));
            assert_eq!(parse(&key).as_deref(), Some(key.as_str()));
            assert_eq!(display_prefix(&key).len(), 11);
        }
    }

    #[test]
    fn any_typo_breaks_the_checksum() {
        let key = generate().unwrap();
        for i in 3..key.len() {
            let mut bytes = key.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert_eq!(parse(&typo), None, "typo at {i} accepted");
        }
    }

    #[test]
    fn rejects_wrong_shapes() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("DC.short"), None);
        let key = generate().unwrap();
        assert_eq!(parse(&format!("{key}x")), None);
        assert_eq!(parse(&key.replace("DC.", "XX.")), None);
        assert_eq!(parse(&format!("DC.{}", "!".repeat(32))), None);
        // The prefix is case-insensitive; the canonical form is upper-case.
        assert_eq!(parse(&key.replacen("DC.", "dc.", 1)).as_deref(), Some(key.as_str()));
    }

    #[test]
    fn looks_like_key_follows_contract() {
        assert!(looks_like_key("dc.0123456789012345678"));
        assert!(!looks_like_key("DC.0123456789"));
        assert!(!looks_like_key("DEMO.REPO"));
    }
}
