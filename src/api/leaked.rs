//! Revoking leaked API keys by their value (issue 19): `POST /credentials/api-keys/revoke-leaked`
//! for whoever holds a key, and `POST /credentials/secret-scanning` in GitHub's secret
//! scanning partner format. Neither needs credentials; both revoke through
//! `keys::manage::revoke_leaked`.

use serde::Deserialize;
use serde_json::json;

use crate::app::Ctx;
use crate::error::Error;
use crate::http::router::Params;
use crate::http::{Reply, Request};
use crate::keys::manage::{self, MAX_LEAKED};
use crate::keys::scanning::{self, ScanError};
use crate::ratelimit::{self, Caller, Tier};

/// Most tokens one GitHub message may carry (GitHub batches its matches).
pub const MAX_SCANNED: usize = 1000;

#[derive(Deserialize)]
struct LeakReport {
    keys: Vec<String>,
}

/// One match GitHub found; `url` and `source` (where it was found) are not needed.
#[derive(Deserialize)]
struct ScanMatch {
    token: String,
    #[serde(rename = "type")]
    token_type: String,
}

fn remote(request: &Request) -> Option<String> {
    request.remote_addr.map(|a| a.to_string())
}

/// `{"keys": ["DC.…", …]}`: revokes those that are stored keys; 202 whatever they were,
/// so the answer tells nothing about which existed.
pub fn revoke_leaked(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let caller = Caller {
        tier: Tier::Anonymous,
        id: remote(request).unwrap_or_else(|| "unknown".into()),
    };
    let decision = ctx.app.leak_limiter.check(&caller, ratelimit::now_ms());
    if !decision.allowed {
        return Err(Error::TooManyRequests {
            retry_after_secs: decision.retry_after,
        });
    }
    let report: LeakReport = serde_json::from_slice(&request.body)
        .ok()
        .filter(|r: &LeakReport| !r.keys.is_empty() && r.keys.len() <= MAX_LEAKED)
        .ok_or_else(|| {
            Error::BadRequest(format!(
                "The body must be {{\"keys\": [...]}} with 1 to {MAX_LEAKED} keys"
            ))
        })?;
    manage::revoke_leaked(ctx.db, &report.keys, &crate::api::keys::origin(ctx, request), ctx.now)?;
    Ok(Reply::empty(202))
}

fn header<'a>(request: &'a Request, name: &str) -> Result<&'a str, Error> {
    request
        .header(name)
        .ok_or_else(|| Error::BadRequest(format!("The {name} header is missing")))
}

/// GitHub's message, once its signature verifies against the operator's key file: each
/// token that is a stored key is revoked and labelled `true_positive`.
pub fn secret_scanning(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let path = ctx
        .app
        .config
        .secret_scanning_keys
        .as_ref()
        .ok_or_else(|| Error::NotFound(Some("Secret scanning is not configured on this server.".into())))?;
    let key_id = header(request, "Github-Public-Key-Identifier")?;
    let signature = header(request, "Github-Public-Key-Signature")?;
    let keys = scanning::read_key_file(path).map_err(|e| Error::Internal(e.to_string()))?;
    scanning::verify(&keys, key_id, signature, &request.body).map_err(|e| match e {
        ScanError::KeyFile(m) => Error::Internal(m),
        other => Error::Forbidden(Some(format!("{other}."))),
    })?;
    let matches: Vec<ScanMatch> = serde_json::from_slice(&request.body)
        .ok()
        .filter(|m: &Vec<ScanMatch>| m.len() <= MAX_SCANNED)
        .ok_or_else(|| {
            Error::BadRequest(format!(
                "The body must be GitHub's list of matches (token, type, url, source), at most {MAX_SCANNED}"
            ))
        })?;
    let tokens: Vec<String> = matches.iter().map(|m| m.token.clone()).collect();
    let found = manage::revoke_leaked(ctx.db, &tokens, &crate::api::keys::origin(ctx, request), ctx.now)?;
    let answer: Vec<_> = matches
        .iter()
        .zip(found)
        .map(|(m, found)| {
            json!({
                "token_raw": m.token,
                "token_type": m.token_type,
                "label": if found { "true_positive" } else { "false_positive" },
            })
        })
        .collect();
    Ok(Reply::new(200, "application/json", json!(answer).to_string()))
}
