//! Account symbols and DOI prefixes: their forms (CONTRACT §1) and roles.

/// What an account may do; decided by the form of its symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Staff,
    Provider,
    Client,
}

pub const ADMIN: &str = "ADMIN";

use crate::error::Error;

/// The role a symbol's form implies, or `None` when it is no account's form.
pub fn role_of(symbol: &str) -> Option<Role> {
    let symbol = symbol.to_ascii_uppercase();
    if symbol == ADMIN {
        Some(Role::Staff)
    } else if check_client_symbol(&symbol).is_ok() {
        Some(Role::Client)
    } else if check_provider_symbol(&symbol).is_ok() {
        Some(Role::Provider)
    } else {
        None
    }
}

/// `[A-Z][A-Z0-9]{1,7}`, not `ADMIN`; returns the upper-case symbol.
pub fn check_provider_symbol(symbol: &str) -> Result<String, Error> {
    let s = symbol.to_ascii_uppercase();
    let b = s.as_bytes();
    let ok = (2..=8).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && s != ADMIN;
    if ok {
        Ok(s)
    } else {
        Err(Error::BadRequest(format!(
            "'{symbol}' is not a provider symbol: 2-8 letters or digits, starting with a letter, not ADMIN"
        )))
    }
}

/// `[A-Z]+\.[A-Z0-9]+(-[A-Z0-9]+)?`, 5–18 characters; returns the upper-case symbol.
pub fn check_client_symbol(symbol: &str) -> Result<String, Error> {
    let s = symbol.to_ascii_uppercase();
    let well_formed = (5..=18).contains(&s.len())
        && match s.split_once('.') {
            Some((provider, repo)) => {
                let alnum = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
                let repo_ok = match repo.split_once('-') {
                    Some((a, b)) => alnum(a) && alnum(b),
                    None => alnum(repo),
                };
                !provider.is_empty() && provider.bytes().all(|c| c.is_ascii_uppercase()) && repo_ok
            }
            None => false,
        };
    if well_formed {
        Ok(s)
    } else {
        Err(Error::BadRequest(format!(
            "'{symbol}' is not a client symbol: PROVIDER.REPO (letters, then a dot, then letters/digits, optionally -SUFFIX), 5-18 characters"
        )))
    }
}

/// `10.` followed by 4–9 digits.
pub fn check_prefix(prefix: &str) -> Result<String, Error> {
    let ok = prefix
        .strip_prefix("10.")
        .is_some_and(|d| (4..=9).contains(&d.len()) && d.bytes().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(prefix.to_string())
    } else {
        Err(Error::BadRequest(format!(
            "'{prefix}' is not a DOI prefix: 10. followed by 4-9 digits"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_symbol_form() {
        assert_eq!(role_of("admin"), Some(Role::Staff));
        assert_eq!(role_of("DEMO"), Some(Role::Provider));
        assert_eq!(role_of("demo.repo"), Some(Role::Client));
        assert_eq!(role_of("DEMO.REPO-2"), Some(Role::Client));
        assert_eq!(role_of("D"), None);
        assert_eq!(role_of("DEMO.REPO.X"), None);
        assert_eq!(role_of("DEMO\0"), None);
        assert_eq!(role_of(""), None);
    }

    #[test]
    fn client_symbol_length_and_shape() {
        assert!(check_client_symbol("AB.CD").is_ok());
        assert!(check_client_symbol("A.B").is_err());
        assert!(check_client_symbol("ABCDEFGHIJ.KLMNOPQR").is_err());
        assert!(check_client_symbol("1B.CD").is_err());
        assert!(check_client_symbol("AB.C-").is_err());
    }

    #[test]
    fn provider_symbols() {
        assert_eq!(check_provider_symbol("demo").unwrap(), "DEMO");
        assert!(check_provider_symbol("ADMIN").is_err());
        assert!(check_provider_symbol("TOOLONGXX").is_err());
        assert!(check_provider_symbol("9AB").is_err());
    }

    #[test]
    fn prefixes() {
        assert!(check_prefix("10.5072").is_ok());
        assert!(check_prefix("10.123456789").is_ok());
        assert!(check_prefix("10.123").is_err());
        assert!(check_prefix("11.5072").is_err());
        assert!(check_prefix("10.50a2").is_err());
    }
}
