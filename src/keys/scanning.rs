//! GitHub secret scanning partner messages (issue 19): checking their signature against
//! the public keys the operator stored in a file, in GitHub's key-list format
//! (`{"public_keys":[{"key_identifier","key":PEM,"is_current"}]}`). No network call: the
//! operator fetches the list from GitHub's meta API and keeps the file current.
//!
//! GitHub signs the raw request body with ECDSA P-256 / SHA-256; the signature header is
//! Base64 of an ASN.1 DER signature, the key a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).

use base64::Engine;
use serde::Deserialize;
use std::fmt;

/// Largest key-list file read (GitHub's holds a handful of keys).
pub const MAX_KEY_FILE: u64 = 1024 * 1024;

/// The DER SubjectPublicKeyInfo prefix of every P-256 key with an uncompressed point:
/// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (66 bytes) }.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    /// The operator's key file is unreadable or not GitHub's format.
    KeyFile(String),
    /// No key in the file has the identifier the message names.
    UnknownKey,
    /// The signature header is not Base64, or does not verify.
    BadSignature,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::KeyFile(m) => write!(f, "secret scanning key file: {m}"),
            ScanError::UnknownKey => f.write_str("Unknown GitHub public key identifier"),
            ScanError::BadSignature => f.write_str("The GitHub signature does not verify"),
        }
    }
}

impl std::error::Error for ScanError {}

#[derive(Deserialize)]
struct KeyList {
    public_keys: Vec<PublicKey>,
}

#[derive(Deserialize)]
struct PublicKey {
    key_identifier: String,
    key: String,
}

/// The bytes of the operator's key-list file, at most `MAX_KEY_FILE` of them.
pub fn read_key_file(path: &std::path::Path) -> Result<Vec<u8>, ScanError> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| ScanError::KeyFile(format!("{}: {e}", path.display()));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(unreadable)?
        .take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(ScanError::KeyFile(format!(
            "{} is larger than {MAX_KEY_FILE} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The public keys of a key-list file: (identifier, uncompressed P-256 point).
pub fn parse_key_list(json: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ScanError> {
    let list: KeyList = serde_json::from_slice(json).map_err(|e| ScanError::KeyFile(e.to_string()))?;
    list.public_keys
        .into_iter()
        .map(|k| {
            let point = p256_point(&k.key)
                .ok_or_else(|| ScanError::KeyFile(format!("key {} is not a PEM P-256 public key", k.key_identifier)))?;
            Ok((k.key_identifier, point))
        })
        .collect()
}

/// The uncompressed point of a PEM P-256 `PUBLIC KEY`.
fn p256_point(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).ok()?;
    let point = der.strip_prefix(&P256_SPKI_PREFIX[..])?;
    (point.len() == 65 && point[0] == 4).then(|| point.to_vec())
}

/// Checks that `body` was signed by the key `key_id` of the list `key_list` (the file's
/// bytes), with `signature` the Base64 DER signature of the header.
pub fn verify(key_list: &[u8], key_id: &str, signature: &str, body: &[u8]) -> Result<(), ScanError> {
    let keys = parse_key_list(key_list)?;
    let (_, point) = keys.iter().find(|(id, _)| id == key_id).ok_or(ScanError::UnknownKey)?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| ScanError::BadSignature)?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point)
        .verify(body, &signature)
        .map_err(|_| ScanError::BadSignature)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    /// A fresh key pair: (its PEM public key, a signer of Base64 DER signatures).
    pub fn key_pair() -> (String, impl Fn(&[u8]) -> String) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let spki = [&P256_SPKI_PREFIX[..], pair.public_key().as_ref()].concat();
        let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
            &b64[..64],
            &b64[64..]
        );
        let sign = move |body: &[u8]| {
            let sig = pair.sign(&SystemRandom::new(), body).unwrap();
            base64::engine::general_purpose::STANDARD.encode(sig.as_ref())
        };
        (pem, sign)
    }

    #[test]
    fn signatures_verify_only_with_the_right_key_and_body() {
        let (pem, sign) = key_pair();
        let (other_pem, _) = key_pair();
        let list = serde_json::json!({"public_keys": [
            {"key_identifier": "current", "key": pem, "is_current": true},
            {"key_identifier": "old", "key": other_pem, "is_current": false}
        ]})
        .to_string();
        let body = br#"[{"token":"DC.x","type":"tinydoi_api_key","url":"https://github.com/a/b","source":"content"}]"#;
        let sig = sign(body);
        assert_eq!(verify(list.as_bytes(), "current", &sig, body), Ok(()));
        assert_eq!(verify(list.as_bytes(), "old", &sig, body), Err(ScanError::BadSignature));
        assert_eq!(verify(list.as_bytes(), "nope", &sig, body), Err(ScanError::UnknownKey));
        assert_eq!(
            verify(list.as_bytes(), "current", &sig, b"[]"),
            Err(ScanError::BadSignature)
        );
        assert_eq!(
            verify(list.as_bytes(), "current", "%%%", body),
            Err(ScanError::BadSignature)
        );
        assert!(matches!(
            verify(b"{}", "current", &sig, body),
            Err(ScanError::KeyFile(_))
        ));
        let bad = r#"{"public_keys":[{"key_identifier":"a","key":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----","is_current":true}]}"#;
        assert!(matches!(parse_key_list(bad.as_bytes()), Err(ScanError::KeyFile(_))));
    }
}
