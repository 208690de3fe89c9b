//! Console sessions: a random 256-bit token in a cookie, its SHA-256 in SQLite, idle and
//! absolute expiry; the CSRF token derived from it; the `Origin` check of every form.

use base64::Engine;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

use crate::accounts::role_of;
use crate::app::Ctx;
use crate::auth::{self, Principal};
use crate::config::{Config, ConsoleConfig};
use crate::db;
use crate::error::Error;
use crate::http::Request;

pub const COOKIE: &str = "tinydoi_session";
/// `last_seen` is written at most this often, not on every page.
const TOUCH_EVERY_SECS: i64 = 60;
pub const FORM_REFUSED: &str =
    "This form did not come from your console session (it may have expired). Reload the page and try again.";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hash(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes()).as_ref().to_vec()
}

/// The CSRF token of a session: only who holds the session token can compute it.
fn csrf_of(token: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"tinydoi console csrf\n");
    ctx.update(token.as_bytes());
    b64(ctx.finish().as_ref())
}

/// A signed-in browser.
pub struct Session {
    pub principal: Principal,
    /// Upper-case account symbol.
    pub account: String,
    pub csrf: String,
    token_hash: Vec<u8>,
}

impl Session {
    /// The request's session, if its cookie names a live one (an expired one is deleted).
    pub fn of(ctx: &Ctx, request: &Request) -> Result<Option<Session>, Error> {
        let Some(token) = cookie(request, COOKIE) else {
            return Ok(None);
        };
        let token_hash = hash(token);
        let Some(stored) = db::sessions::get(ctx.db, &token_hash)? else {
            return Ok(None);
        };
        if expired(&ctx.app.config.console, &stored, ctx.now) {
            db::write(ctx.db, |tx| db::sessions::delete(tx, &token_hash))?;
            return Ok(None);
        }
        let Some(principal) = principal_of(ctx.db, &stored.account)? else {
            return Ok(None);
        };
        if ctx.now - stored.last_seen >= TOUCH_EVERY_SECS {
            db::write(ctx.db, |tx| db::sessions::touch(tx, &token_hash, ctx.now))?;
        }
        Ok(Some(Session {
            principal,
            account: stored.account,
            csrf: csrf_of(token),
            token_hash,
        }))
    }

    /// The session of a state-changing form: its `csrf` field must be this session's and
    /// its origin this console. `Ok(None)`: not signed in.
    pub fn of_form(ctx: &Ctx, request: &Request, csrf: Option<&str>) -> Result<Option<Session>, Error> {
        check_origin(ctx, request)?;
        let Some(session) = Session::of(ctx, request)? else {
            return Ok(None);
        };
        let given = csrf.unwrap_or("").as_bytes();
        if !constant_eq(given, session.csrf.as_bytes()) {
            return Err(Error::Forbidden(Some(FORM_REFUSED.into())));
        }
        Ok(Some(session))
    }

    /// A request context acting as the signed-in account, for the domain functions.
    pub fn ctx<'a>(&self, ctx: &Ctx<'a>) -> Ctx<'a> {
        Ctx {
            app: ctx.app,
            db: ctx.db,
            principal: self.principal.clone(),
            now: ctx.now,
            // Read afresh if used: the console's pages write, and a read before a write
            // must not be trusted after it.
            counters: Default::default(),
        }
    }

    /// Ends the session (sign-out).
    pub fn end(&self, ctx: &Ctx) -> Result<(), Error> {
        db::write(ctx.db, |tx| db::sessions::delete(tx, &self.token_hash))?;
        Ok(())
    }
}

/// Whether a stored session is over: idle or old too long.
fn expired(config: &ConsoleConfig, stored: &db::sessions::Session, now: i64) -> bool {
    now - stored.last_seen > config.idle.as_secs() as i64 || now - stored.created > config.lifetime.as_secs() as i64
}

/// The principal of a session's account, if the account still exists.
fn principal_of(conn: &db::Conn, account: &str) -> Result<Option<Principal>, Error> {
    Ok(match role_of(account) {
        Some(role) => db::accounts::find(conn, account, role)?.map(auth::signed_in),
        None => None,
    })
}

/// The account a request's live session signs in, for `App::dispatch` (given to it by
/// `server.rs`): a console request counts against that account's rate limit and names it
/// in `X-Credential-Username`, as the same person's API requests do. Reads only (the
/// handler's `Session::of` touches or deletes the session); an error reads as no session,
/// which the handler then meets itself.
pub fn signed_in(conn: &db::Conn, config: &Config, request: &Request, now: i64) -> Option<Principal> {
    let stored = db::sessions::get(conn, &hash(cookie(request, COOKIE)?)).ok()??;
    if expired(&config.console, &stored, now) {
        return None;
    }
    principal_of(conn, &stored.account).ok()?
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Starts a session for `account`; returns the `Set-Cookie` value carrying its token.
pub fn start(ctx: &Ctx, request: &Request, account: &str) -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal("no randomness for a session token".into()))?;
    let token = b64(&bytes);
    let config = &ctx.app.config.console;
    let remote = crate::api::keys::remote(request);
    db::write(ctx.db, |tx| {
        db::sessions::purge(
            tx,
            ctx.now - config.idle.as_secs() as i64,
            ctx.now - config.lifetime.as_secs() as i64,
        )?;
        db::sessions::insert(tx, &hash(&token), account, remote.as_deref(), ctx.now)
    })?;
    Ok(set_cookie(&token, config.https, false))
}

/// The `Set-Cookie` value that stores `token`, or (`clear`) removes the cookie.
pub fn set_cookie(token: &str, https: bool, clear: bool) -> String {
    let mut cookie = format!("{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict");
    if clear {
        cookie.push_str("; Max-Age=0");
    }
    if https {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The value of cookie `name` in the request's `Cookie` header.
fn cookie<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .header("cookie")?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 64)
}

/// Refuses a form sent from another site. `Sec-Fetch-Site` (set by the browser, never by a
/// page) must say `same-origin` when present; `Origin` must be this console's, except that
/// a browser that vouched `same-origin` sends `Origin: null` (our `Referrer-Policy:
/// no-referrer` makes it hide the origin). Requests from tools send neither; the CSRF token
/// still guards them.
pub fn check_origin(ctx: &Ctx, request: &Request) -> Result<(), Error> {
    let refused = || Err(Error::Forbidden(Some(FORM_REFUSED.into())));
    let same_origin = match request.header("sec-fetch-site") {
        Some("same-origin") => true,
        Some(_) => return refused(),
        None => false,
    };
    if let Some(origin) = request.header("origin") {
        let scheme = if ctx.app.config.console.https { "https" } else { "http" };
        let host = request.header("host").unwrap_or("");
        let ours = !host.is_empty() && origin == format!("{scheme}://{host}");
        if !(ours || (same_origin && origin == "null")) {
            return refused();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Method;

    #[test]
    fn cookies_are_found_by_name_and_bounded() {
        let mut r = Request::new(Method::Get, "/console");
        r.headers
            .push(("Cookie".into(), "a=1; tinydoi_session=abc; b=2".into()));
        assert_eq!(cookie(&r, COOKIE), Some("abc"));
        r.headers[0].1 = format!("tinydoi_session={}", "x".repeat(65));
        assert_eq!(cookie(&r, COOKIE), None);
    }

    #[test]
    fn csrf_is_tied_to_the_token() {
        assert_ne!(csrf_of("a"), csrf_of("b"));
        assert_eq!(csrf_of("a"), csrf_of("a"));
        assert!(constant_eq(b"abc", b"abc") && !constant_eq(b"abc", b"abd") && !constant_eq(b"ab", b"abc"));
    }

    #[test]
    fn cookie_attributes() {
        assert_eq!(
            set_cookie("t", true, false),
            "tinydoi_session=t; Path=/console; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(set_cookie("", false, true).contains("Max-Age=0"));
    }
}
