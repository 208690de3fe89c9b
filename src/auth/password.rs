//! Password hashing: PBKDF2-HMAC-SHA256 with a per-account random salt (ring).

use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, pbkdf2};
use std::num::NonZeroU32;

use crate::db::accounts::StoredPassword;
use crate::error::Error;

const ALGORITHM: pbkdf2::Algorithm = pbkdf2::PBKDF2_HMAC_SHA256;
const SALT_LEN: usize = 16;

pub fn hash(password: &str, iterations: u32) -> Result<StoredPassword, Error> {
    if password.contains('\0') {
        return Err(Error::BadRequest("a password cannot contain NUL characters".into()));
    }
    let mut salt = vec![0u8; SALT_LEN];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| Error::Internal("the system random number generator failed".into()))?;
    let iterations = iterations.max(1);
    let mut out = vec![0u8; digest::SHA256_OUTPUT_LEN];
    pbkdf2::derive(ALGORITHM, non_zero(iterations), &salt, password.as_bytes(), &mut out);
    Ok(StoredPassword {
        hash: out,
        salt,
        iterations,
    })
}

/// Constant-time comparison of the derived key (ring's `verify`).
///
/// HMAC pads its key with zero bytes, so to PBKDF2-HMAC `pw` and `pw\0` are the same
/// password; a NUL is therefore never accepted (nor stored, see `hash`).
pub fn verify(password: &str, stored: &StoredPassword) -> bool {
    if password.contains('\0') {
        return false;
    }
    pbkdf2::verify(
        ALGORITHM,
        non_zero(stored.iterations),
        &stored.salt,
        password.as_bytes(),
        &stored.hash,
    )
    .is_ok()
}

fn non_zero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_right_password() {
        let stored = hash("s3cret", 10).unwrap();
        assert!(verify("s3cret", &stored));
        assert!(!verify("s3cret ", &stored));
        assert_eq!(stored.iterations, 10);
        assert_ne!(stored.hash, b"s3cret".to_vec());
    }

    #[test]
    fn trailing_nul_bytes_are_not_the_same_password() {
        let stored = hash("demo-password", 10).unwrap();
        assert!(verify("demo-password", &stored));
        assert!(!verify("demo-password\0", &stored));
        assert!(!verify("demo-password\0\0\0", &stored));
        assert!(hash("pw\0", 10).is_err());
    }

    #[test]
    fn salts_differ() {
        assert_ne!(hash("a", 1).unwrap().salt, hash("a", 1).unwrap().salt);
    }
}
