//! Request dispatch: authenticate, route, run the handler, render its error, add the
//! headers every response carries. Shared state of a running server lives in `App`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::auth::throttle::{self, Throttle};
use crate::auth::{Attempt, Authenticator, Principal};
use crate::config::Config;
use crate::db::Conn;
use crate::dois::Actor;
use crate::error::Error;
use crate::http::request::Method;
use crate::http::router::{Family, Match, Params, Route, Router};
use crate::http::{panic_message, Reply, Request, Service};
use crate::ratelimit::{self, Caller, Decision, RateLimiter};

/// What a handler gets besides the request: the server, its worker's connection and the caller.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub db: &'a Conn,
    pub principal: Principal,
    /// Unix seconds at the start of the request.
    pub now: i64,
    /// The cache generations, read at most once per request (authentication may have).
    pub counters: crate::db::generations::Counters,
}

impl Ctx<'_> {
    /// The calling client's symbol: 401 for anonymous callers, 403 for providers and staff.
    pub fn client(&self) -> Result<&str, Error> {
        match &self.principal {
            Principal::Anonymous => Err(Error::Unauthenticated),
            Principal::Client { symbol, .. } => Ok(symbol),
            _ => Err(Error::forbidden()),
        }
    }

    /// The calling client's symbol for a write: like `client`, and 403 when the client is
    /// inactive (an inactive client and its keys may read, not write).
    pub fn writing_client(&self) -> Result<&str, Error> {
        match &self.principal {
            Principal::Client { is_active: false, .. } => Err(Error::forbidden()),
            _ => self.client(),
        }
    }

    /// The caller as the DOI operations see a writer: like `writing_client` (401/403 for
    /// callers that may not write), with its credential and the request time.
    pub fn actor(&self) -> Result<Actor, Error> {
        Ok(Actor {
            client: self.writing_client()?.to_string(),
            credential: self.principal.changed_by(),
            now: self.now,
            prefixes: self.principal.key_limits().and_then(|l| l.prefixes.clone()),
        })
    }
}

/// Handlers never write to the socket: they return a reply or an error.
pub type Handler = fn(&Ctx, &Request, &Params) -> Result<Reply, Error>;

/// Turns an error into the reply a route of `Family` answers with (`api::render`).
pub type Renderer = fn(&Error, Family) -> Reply;

pub struct App {
    pub config: Config,
    pub auth: Authenticator,
    pub router: Router<Handler>,
    pub render: Renderer,
    /// The reply to a request no route matches, if not 404 (the console's `/` redirect
    /// for browsers); given by `server.rs` like the routes.
    pub unmatched: fn(&Request) -> Option<Reply>,
    /// The account a console request's session cookie signs in, if any (given by
    /// `server.rs`): asked only on console routes (`Family::Html`), for the rate limit and
    /// the credential headers; the cookie is never a credential of the API.
    pub signed_in: fn(&Conn, &Config, &Request, i64) -> Option<Principal>,
    /// Background writes of key `lastUsedAt` and audit events; started by `Server::start`.
    pub recorder: crate::keys::recorder::Recorder,
    /// Request counting per caller (CONTRACT §9); `None` when rate limiting is off.
    pub rate_limiter: Option<RateLimiter>,
    pub throttle: Throttle,
    /// Leaked-key reports per address (`config.leak_reports` per 5 minutes).
    pub leak_limiter: RateLimiter,
    /// Rendered single-DOI reads, checked against the DOI's revision at every use.
    pub rendered: crate::dois::rendered::Rendered,
}

impl App {
    /// An app serving `routes` (the route table is its builder's: `server.rs` gives it
    /// `api::routes`), with errors rendered by `render`.
    pub fn new(config: Config, routes: Vec<Route<Handler>>, render: Renderer) -> App {
        let auth = Authenticator::new(config.auth_cache_ttl);
        let throttle = Throttle::new(config.auth_throttle.clone());
        let rate_limiter = config.rate_limit.clone().map(RateLimiter::new);
        let leak_limiter = RateLimiter::new(ratelimit::RateLimitConfig {
            anonymous: config.leak_reports,
            ..ratelimit::RateLimitConfig::default()
        });
        let rendered = crate::dois::rendered::Rendered::new(config.read_cache_bytes);
        App {
            rendered,
            config,
            auth,
            router: Router::new(routes),
            render,
            unmatched: |_| None,
            signed_in: |_, _, _, _| None,
            recorder: crate::keys::recorder::Recorder::disabled(),
            rate_limiter,
            throttle,
            leak_limiter,
        }
    }

    pub fn dispatch(&self, db: &Conn, request: &Request) -> Reply {
        let now = crate::time::now();
        let found = self.router.find(request.method, &request.path);
        let family = match &found {
            Match::Found(route, _) => route.family,
            Match::WrongMethod { family, .. } => *family,
            Match::NotFound(family) => *family,
        };
        // Before any credential is checked: a forged cross-site request is no login attempt.
        if let Some(refused) = crate::http::crosssite::refusal(request) {
            return finish(self.error_reply(&refused, family, request), &Principal::Anonymous, None);
        }
        let attempt = Attempt {
            remote_addr: request.remote_addr,
            recorder: &self.recorder,
        };
        let authorization = request.header("authorization");
        let counters = crate::db::generations::Counters::default();
        let principal =
            match throttle::authenticate(&self.auth, &self.throttle, db, &counters, authorization, now, &attempt) {
                Ok(p) => p,
                Err(e) => {
                    // Bad credentials are counted by address, never as the account they claim.
                    let rate = self.count(request, &Principal::Anonymous);
                    let error = refusal(rate.as_ref()).unwrap_or(e);
                    return finish(
                        self.error_reply(&error, family, request),
                        &Principal::Anonymous,
                        rate.as_ref(),
                    );
                }
            };
        // A console page is for its session's account: counted and named as that account.
        // Borrowed, not cloned: a principal is several strings, copied twice per request before.
        let signed_in;
        let caller = match &principal {
            Principal::Anonymous if family == Family::Html => {
                signed_in = (self.signed_in)(db, &self.config, request, now).unwrap_or(Principal::Anonymous);
                &signed_in
            }
            p => p,
        };
        let rate = self.count(request, caller);
        if let Some(refused) = refusal(rate.as_ref()) {
            return finish(self.error_reply(&refused, family, request), caller, rate.as_ref());
        }
        let caller_name = caller.username();
        let result = match found {
            Match::Found(route, params) => key_may_call(&principal, route).and_then(|()| {
                let ctx = Ctx {
                    app: self,
                    db,
                    principal,
                    now,
                    counters,
                };
                match catch_unwind(AssertUnwindSafe(|| (route.handler)(&ctx, request, &params))) {
                    Ok(result) => result,
                    Err(panic) => Err(Error::Internal(format!("handler panicked: {}", panic_message(&panic)))),
                }
            }),
            Match::WrongMethod { allow, .. } => Err(Error::MethodNotAllowed { allow, message: None }),
            Match::NotFound(_) => (self.unmatched)(request).ok_or(Error::NotFound(None)),
        };
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => self.error_reply(&e, family, request),
        };
        named(reply, caller_name, rate.as_ref())
    }

    /// Counts the request against its caller's rate limit, when limits are on.
    fn count(&self, request: &Request, principal: &Principal) -> Option<Decision> {
        let limiter = self.rate_limiter.as_ref()?;
        let caller = Caller::of(
            principal,
            request.remote_addr,
            request.header("user-agent"),
            request.query("mailto"),
        );
        Some(limiter.check(&caller, ratelimit::now_ms()))
    }

    /// The reply for `error`, in the language of the route; failures of the server are logged.
    fn error_reply(&self, error: &Error, family: Family, request: &Request) -> Reply {
        if error.is_internal() {
            log::error!(
                "{} {}: {}",
                request.method.as_str(),
                request.path,
                crate::error::chain(error)
            );
        }
        (self.render)(error, family)
    }
}

/// The app as the HTTP layer serves it: each worker's state is its database connection.
impl Service<Conn> for std::sync::Arc<App> {
    fn handle(&self, db: &mut Conn, request: Request) -> Reply {
        self.dispatch(db, &request)
    }

    fn refuse(&self, request: &Request, error: &Error) -> Reply {
        let family = self.router.family(request.method, &request.path);
        self.error_reply(error, family, request)
    }
}

/// 403 when the caller's API key lacks the scope the route needs: the one place scopes
/// are enforced (prefixes are the DOI operations' business).
fn key_may_call(principal: &Principal, route: &Route<Handler>) -> Result<(), Error> {
    match scope_needed(route.method, route.pattern) {
        Some(scope) => principal.require(scope),
        None => Ok(()),
    }
}

fn refusal(rate: Option<&Decision>) -> Option<Error> {
    rate.filter(|d| !d.allowed).map(|d| Error::TooManyRequests {
        retry_after_secs: d.retry_after,
    })
}

/// Adds the credential headers of CONTRACT §2 and the rate-limit headers of §9.
fn finish(reply: Reply, principal: &Principal, rate: Option<&Decision>) -> Reply {
    named(reply, principal.username(), rate)
}

/// [`finish`] with the caller's username already taken (the principal itself has moved
/// into the handler's context by then).
fn named(mut reply: Reply, username: Option<String>, rate: Option<&Decision>) -> Reply {
    match username {
        Some(user) => reply.set_header("X-Credential-Username", user),
        None => reply.set_header("X-Anonymous-Consumer", "true"),
    }
    if let Some(rate) = rate {
        reply.set_header("X-RateLimit-Limit", rate.limit.to_string());
        reply.set_header("X-RateLimit-Remaining", rate.remaining.to_string());
        reply.set_header("X-RateLimit-Reset", rate.reset.to_string());
    }
    reply
}

/// The scope an API key needs for a route (issue 19), judged from the route itself so that
/// no handler can forget it: reading DOIs (REST and MDS) `dois:read`, changing them
/// `dois:write`, changing usage reports `reports:write`, the data file link
/// `datafile:read`. `None`: any key (public reads; key management, which keys may not do).
pub fn scope_needed(method: Method, pattern: &str) -> Option<crate::limits::Scope> {
    let area = pattern.trim_start_matches('/').split('/').next().unwrap_or("");
    let reading = matches!(method, Method::Get | Method::Head);
    match area {
        "dois" | "metadata" | "doi" | "media" if reading => Some(crate::limits::Scope::DoisRead),
        "dois" | "metadata" | "doi" | "media" => Some(crate::limits::Scope::DoisWrite),
        "reports" if !reading => Some(crate::limits::Scope::ReportsWrite),
        _ if pattern == "/credentials/datafile" => Some(crate::limits::Scope::DatafileRead),
        _ => None,
    }
}
