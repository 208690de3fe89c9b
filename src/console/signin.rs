//! Signing in (account symbol and password, throttled like the API) and out.

use maud::html;

use super::layout::{page, problems, Section};
use super::session::{self, Session};
use super::{form, to_sign_in};
use crate::app::Ctx;
use crate::auth::{throttle, Attempt, Principal};
use crate::db;
use crate::error::Error;
use crate::http::router::Params;
use crate::http::{Reply, Request};

/// `GET /console`: the sign-in page, or the keys page for a signed-in browser.
pub fn home(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    if Session::of(ctx, request)?.is_some() {
        return Ok(Reply::see_other("/console/keys"));
    }
    Ok(sign_in_page(200, "", &[]))
}

fn sign_in_page(status: u16, username: &str, errors: &[String]) -> Reply {
    let body = html! {
        (problems(errors))
        form.stack method="post" action="/console/sign-in" {
            label for="username" { "Username" }
            input #username name="username" type="text" autocomplete="username" required
                autocapitalize="off" spellcheck="false" value=(username) autofocus[errors.is_empty()];
            label for="password" { "Password" }
            input #password name="password" type="password" autocomplete="current-password" required
                autofocus[!errors.is_empty()];
            button type="submit" { "Sign in" }
        }
        p.hint { "Sign in with your repository, provider or staff account symbol and its password. API keys cannot sign in here." }
    };
    page(status, "Sign in", Section::SignIn, None, body)
}

/// `POST /console/sign-in`: the password is checked (and throttled) exactly as in an
/// `Authorization` header; success starts a session.
pub fn sign_in(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    // No session yet, so no CSRF token: the origin check and SameSite=Strict guard it.
    session::check_origin(ctx, request)?;
    let form = form::read(request, form::SMALL)?;
    let username = form.get("username").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    let attempt = Attempt {
        remote_addr: request.remote_addr,
        recorder: &ctx.app.recorder,
    };
    match throttle::sign_in(
        &ctx.app.auth,
        &ctx.app.throttle,
        ctx.db,
        username,
        password,
        ctx.now,
        &attempt,
    ) {
        Ok(principal) => {
            let account = principal.username().unwrap_or_default().to_ascii_uppercase();
            let cookie = session::start(ctx, request, &account)?;
            audit(ctx, request, &principal, "console.signed_in")?;
            Ok(Reply::see_other("/console/keys").with_header("Set-Cookie", cookie))
        }
        Err(e @ Error::BadCredentials) => Ok(sign_in_page(e.status(), username, &["Bad credentials.".into()])),
        Err(e @ Error::TooManyRequests { retry_after_secs }) => {
            let message = format!("Too many failed sign-ins. Try again in {retry_after_secs} seconds.");
            Ok(sign_in_page(e.status(), username, &[message]).with_header("Retry-After", retry_after_secs.to_string()))
        }
        Err(e) => Err(e),
    }
}

/// A client's console sign-in and sign-out are audit events of that client, by it.
fn audit(ctx: &Ctx, request: &Request, principal: &Principal, action: &str) -> Result<(), Error> {
    let Some(client) = principal.client() else {
        return Ok(());
    };
    let event = db::audit::Event {
        remote_addr: crate::api::keys::remote(request),
        actor: crate::api::keys::actor(principal),
        ..db::audit::Event::for_client(client, action)
    };
    db::write(ctx.db, |tx| db::audit::record(tx, &event, ctx.now))?;
    Ok(())
}

/// `POST /console/sign-out`: ends the session and clears the cookie.
pub fn sign_out(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let form = form::read(request, form::SMALL)?;
    let Some(session) = Session::of_form(ctx, request, form.get("csrf"))? else {
        return Ok(to_sign_in());
    };
    session.end(ctx)?;
    audit(ctx, request, &session.principal, "console.signed_out")?;
    let clear = session::set_cookie("", ctx.app.config.console.https, true);
    Ok(Reply::see_other("/console").with_header("Set-Cookie", clear))
}
