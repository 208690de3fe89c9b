//! The console's page shell and small view helpers (maud: every value is HTML-escaped).

use maud::{html, Markup, DOCTYPE};

use super::session::Session;
use crate::error::Error;
use crate::http::Reply;

/// Which section a page belongs to, for the navigation's `aria-current`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    SignIn,
    Keys,
    Dois,
    Validate,
}

/// A whole page: skip link, header with navigation and sign-out (when signed in), `main`.
pub fn page(status: u16, title: &str, section: Section, session: Option<&Session>, body: Markup) -> Reply {
    let nav = [
        (Section::Keys, "/console/keys", "API keys"),
        (Section::Dois, "/console/dois", "DOIs"),
        (Section::Validate, "/console/validate", "Validate metadata"),
    ];
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tinydoi console" }
                link rel="stylesheet" href="/console/static/style.css";
                link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml";
                script src="/console/static/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    p.brand { a href="/console" { "tinydoi" } }
                    @if let Some(session) = session {
                        nav aria-label="Console" {
                            ul {
                                @for (s, href, label) in nav {
                                    li { a href=(href) aria-current=[(s == section).then_some("page")] { (label) } }
                                }
                            }
                        }
                        form.signout method="post" action="/console/sign-out" {
                            (csrf(session))
                            span { "Signed in as " strong { (session.account) } }
                            " "
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Reply::html(status, markup.into_string())
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A success message (`role=status`) or a problem list (`role=alert`).
pub fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text { p.notice role="status" { (text) } }
    }
}

pub fn problems(titles: &[String]) -> Markup {
    html! {
        @if !titles.is_empty() {
            div.problems role="alert" {
                @for t in titles { p { (t) } }
            }
        }
    }
}

/// An unprocessable request's status (from `Error::status`) and its problems, to show on
/// the page the form came from; any other error stays an error (an error page).
pub fn unprocessable(error: Error) -> Result<(u16, Vec<String>), Error> {
    let status = error.status();
    match error {
        Error::Unprocessable(problems) => Ok((status, problems.into_iter().map(|p| p.title).collect())),
        other => Err(other),
    }
}

/// A Unix time as a `<time>` element (UTC, to the minute).
pub fn time(t: Option<i64>) -> Markup {
    match t {
        None => html! { "—" },
        Some(t) => {
            let full = crate::time::rfc3339(t);
            let short = format!("{} {} UTC", &full[..10], &full[11..16]);
            html! { time datetime=(full) { (short) } }
        }
    }
}

/// Percent-encodes a query value (symbols, DOIs, search text) for an `href`.
pub fn query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A DOI in a console path: each segment percent-encoded, its `/`s kept.
pub fn doi_path(doi: &str) -> String {
    doi.split('/').map(query_value).collect::<Vec<_>>().join("/")
}

/// `?client-id=X` when the page is about a client chosen by a provider or staff.
pub fn client_query(client: Option<&str>) -> String {
    client
        .map(|c| format!("?client-id={}", query_value(c)))
        .unwrap_or_default()
}

/// The client picker of providers and staff.
pub fn client_picker(action: &str, clients: &[String], current: Option<&str>) -> Markup {
    html! {
        form.picker method="get" action=(action) {
            label for="client-id" { "Client" }
            select #client-id name="client-id" {
                @for c in clients {
                    option value=(c) selected[Some(c.as_str()) == current] { (c) }
                }
            }
            button type="submit" { "Show" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_values_and_doi_paths() {
        assert_eq!(query_value("DEMO.REPO"), "DEMO.REPO");
        assert_eq!(query_value("a b&c"), "a%20b%26c");
        assert_eq!(doi_path("10.5072/a b/c?"), "10.5072/a%20b/c%3F");
    }
}
