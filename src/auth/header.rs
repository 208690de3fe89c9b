//! Parses the `Authorization` header into the credential it claims (CONTRACT §2), without
//! checking it.

use base64::Engine;

use crate::accounts::{role_of, Role};
use crate::keys::format::{self, looks_like_key};

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// `Basic SYMBOL:password`.
    Password { symbol: String, password: String },
    /// A key as the Basic username, as `Bearer`, or (`for_client`) as a client's password.
    ApiKey { key: String, for_client: Option<String> },
}

/// An `Authorization` header that is no valid credential form.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// `Ok(None)`: no credentials. `Err(Malformed)`: a header that is not any valid credential form.
pub fn parse(header: Option<&str>) -> Result<Option<Claim>, Malformed> {
    let Some(header) = header else { return Ok(None) };
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').ok_or(Malformed)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return if rest.is_empty() {
            Err(Malformed)
        } else {
            Ok(Some(Claim::ApiKey {
                key: rest.to_string(),
                for_client: None,
            }))
        };
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Malformed);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(rest))
        .map_err(|_| Malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| Malformed)?;
    let (user, password) = decoded.split_once(':').ok_or(Malformed)?;
    if looks_like_key(user) {
        return Ok(Some(Claim::ApiKey {
            key: user.to_string(),
            for_client: None,
        }));
    }
    if user.is_empty() {
        return Err(Malformed);
    }
    let symbol = user.to_ascii_uppercase();
    // A client may send a key as its password; no PBKDF2 work is spent on it then.
    if role_of(&symbol) == Some(Role::Client) && format::parse(password).is_some() {
        return Ok(Some(Claim::ApiKey {
            key: password.to_string(),
            for_client: Some(symbol),
        }));
    }
    Ok(Some(Claim::Password {
        symbol,
        password: password.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(s: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s))
    }

    #[test]
    fn password_and_key_forms() {
        assert_eq!(
            parse(Some(&basic("demo.repo:pw:with:colons"))),
            Ok(Some(Claim::Password {
                symbol: "DEMO.REPO".into(),
                password: "pw:with:colons".into()
            }))
        );
        let key = "DC.abcdefghijklmnopqrstuvwxyz012345";
        assert_eq!(
            parse(Some(&basic(&format!("{key}:")))),
            Ok(Some(Claim::ApiKey {
                key: key.into(),
                for_client: None
            }))
        );
        assert_eq!(
            parse(Some(&basic(&format!("{key}:ignored")))),
            Ok(Some(Claim::ApiKey {
                key: key.into(),
                for_client: None
            }))
        );
        assert_eq!(
            parse(Some(&format!("bearer {key}"))),
            Ok(Some(Claim::ApiKey {
                key: key.into(),
                for_client: None
            }))
        );
    }

    #[test]
    fn key_as_client_password() {
        let key = format::generate().unwrap();
        assert_eq!(
            parse(Some(&basic(&format!("demo.repo:{key}")))),
            Ok(Some(Claim::ApiKey {
                key: key.clone(),
                for_client: Some("DEMO.REPO".into())
            }))
        );
        // Only a client's password is read as a key, and only a well-formed one.
        assert!(matches!(
            parse(Some(&basic(&format!("DEMO:{key}")))),
            Ok(Some(Claim::Password { .. }))
        ));
        assert!(matches!(
            parse(Some(&basic("DEMO.REPO:DC.notavalidkeyatallnotavalidkey1"))),
            Ok(Some(Claim::Password { .. }))
        ));
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert_eq!(parse(None), Ok(None));
        assert_eq!(parse(Some("Basic")), Err(Malformed));
        assert_eq!(parse(Some("Basic !!!")), Err(Malformed));
        assert_eq!(parse(Some(&basic("nocolon"))), Err(Malformed));
        assert_eq!(parse(Some(&basic(":pw"))), Err(Malformed));
        assert_eq!(parse(Some("Digest abc")), Err(Malformed));
        assert_eq!(parse(Some("Bearer ")), Err(Malformed));
        assert_eq!(parse(Some("Basic /w==")), Err(Malformed));
    }
}
