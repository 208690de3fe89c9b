//! Request dispatch: authenticate, route, run the handler, render its error, add the
//! headers every response carries. Shared state of a running server lives in `App`.

use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::auth::throttle::{self, Throttle};
use crate::auth::{Attempt, Authenticator, Principal};
use crate::config::Config;
use crate::error::Error;
use crate::http::render::render;
use crate::http::router::{Family, Match, Params, Route, Router};
use crate::http::{panic_message, Reply, Request};
use crate::ratelimit::{self, Caller, Decision, RateLimiter};

/// What a handler gets besides the request: the server, its worker's connection and the caller.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub db: &'a Connection,
    pub principal: Principal,
    /// Unix seconds at the start of the request.
    pub now: i64,
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
}

/// Handlers never write to the socket: they return a reply or an error.
pub type Handler = fn(&Ctx, &Request, &Params) -> Result<Reply, Error>;

pub struct App {
    pub config: Config,
    pub auth: Authenticator,
    pub router: Router<Handler>,
    /// Background writes of key `lastUsedAt` and audit events; started by `Server::start`.
    pub recorder: crate::keys::recorder::Recorder,
    /// Request counting per caller (CONTRACT §9); `None` when rate limiting is off.
    pub rate_limiter: Option<RateLimiter>,
    pub throttle: Throttle,
}

impl App {
    pub fn new(config: Config) -> App {
        App::with_routes(config, Vec::new())
    }

    /// An app serving tinydoi's routes plus `extra` ones (embedders and tests).
    pub fn with_routes(config: Config, extra: Vec<Route<Handler>>) -> App {
        let auth = Authenticator::new(config.auth_cache_ttl);
        let throttle = Throttle::new(config.auth_throttle.clone());
        let mut routes = crate::api::routes();
        routes.extend(extra);
        let rate_limiter = config.rate_limit.clone().map(RateLimiter::new);
        App {
            config,
            auth,
            router: Router::new(routes),
            recorder: crate::keys::recorder::Recorder::disabled(),
            rate_limiter,
            throttle,
        }
    }

    pub fn dispatch(&self, db: &Connection, request: &Request) -> Reply {
        let now = crate::time::now();
        let found = self.router.find(request.method, &request.path);
        let family = match &found {
            Match::Found(route, _) => route.family,
            Match::WrongMethod { family, .. } => *family,
            Match::NotFound(family) => *family,
        };
        // Before any credential is checked: a forged cross-site request is no login attempt.
        if let Some(refused) = crate::http::crosssite::refusal(request) {
            return finish(error_reply(&refused, family, request), &Principal::Anonymous, None);
        }
        let attempt = Attempt {
            remote_addr: request.remote_addr,
            recorder: &self.recorder,
        };
        let principal = match throttle::authenticate(self, db, request.header("authorization"), now, &attempt) {
            Ok(p) => p,
            Err(e) => {
                // Bad credentials are counted by address, never as the account they claim.
                let rate = self.count(request, &Principal::Anonymous);
                let error = refusal(rate.as_ref()).unwrap_or(e);
                return finish(
                    error_reply(&error, family, request),
                    &Principal::Anonymous,
                    rate.as_ref(),
                );
            }
        };
        let rate = self.count(request, &principal);
        if let Some(refused) = refusal(rate.as_ref()) {
            return finish(error_reply(&refused, family, request), &principal, rate.as_ref());
        }
        let result = match found {
            Match::Found(route, params) => {
                let ctx = Ctx {
                    app: self,
                    db,
                    principal: principal.clone(),
                    now,
                };
                match catch_unwind(AssertUnwindSafe(|| (route.handler)(&ctx, request, &params))) {
                    Ok(result) => result,
                    Err(panic) => Err(Error::Internal(format!("handler panicked: {}", panic_message(&panic)))),
                }
            }
            Match::WrongMethod { allow, .. } => Err(Error::MethodNotAllowed { allow, message: None }),
            Match::NotFound(_) => crate::console::root_redirect(request).ok_or(Error::NotFound(None)),
        };
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => error_reply(&e, family, request),
        };
        finish(reply, &principal, rate.as_ref())
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
}

fn refusal(rate: Option<&Decision>) -> Option<Error> {
    rate.filter(|d| !d.allowed).map(|d| Error::TooManyRequests {
        retry_after_secs: d.retry_after,
    })
}

fn error_reply(error: &Error, family: Family, request: &Request) -> Reply {
    if let Error::Internal(detail) = error {
        log::error!("{} {}: {detail}", request.method.as_str(), request.path);
    }
    render(error, family)
}

/// Adds the credential headers of CONTRACT §2 and the rate-limit headers of §9.
fn finish(mut reply: Reply, principal: &Principal, rate: Option<&Decision>) -> Reply {
    match principal.username() {
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
