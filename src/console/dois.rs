//! The DOIs pages: a client's DOIs (newest first, by state and text, paged), one DOI with
//! its metadata, XML download and the state changes it allows, all through `dois`.

use maud::{html, Markup};
use serde_json::Value;

use super::keys::{chosen, pickable};
use super::layout::{
    client_picker, client_query, csrf, doi_path, notice, page, problems, query_value, time, unprocessable, Section,
};
use super::session::Session;
use super::{form, to_sign_in};
use crate::api::keys::scope;
use crate::app::Ctx;
use crate::dois::{self, Changes, Event, Filter, Mode, State, Visible};
use crate::error::Error;
use crate::http::router::Params;
use crate::http::{Reply, Request};

const PAGE_SIZE: u32 = 25;
/// Pages past this are not offered (the offset stays small).
const MAX_PAGE: u64 = 10_000;

fn title(attributes: Option<&serde_json::Map<String, Value>>) -> &str {
    attributes
        .and_then(|a| a.get("titles"))
        .and_then(|t| t.get(0))
        .and_then(|t| t.get("title"))
        .and_then(Value::as_str)
        .unwrap_or("(untitled)")
}

/// What the list shows: state and text filters and the page number.
struct Wanted<'r> {
    state: Option<State>,
    text: Option<&'r str>,
    number: u64,
}

impl<'r> Wanted<'r> {
    fn of(request: &'r Request) -> Wanted<'r> {
        Wanted {
            state: request.query("state").and_then(State::parse),
            text: request
                .query("q")
                .map(str::trim)
                .filter(|q| !q.is_empty() && q.len() <= 200),
            number: request
                .query("page")
                .and_then(|p| p.parse::<u64>().ok())
                .unwrap_or(1)
                .clamp(1, MAX_PAGE),
        }
    }

    /// Page `n` of the same list.
    fn link(&self, in_links: Option<&str>, n: u64) -> String {
        let mut url = format!("/console/dois?page={n}");
        for (k, v) in [
            ("client-id", in_links),
            ("state", self.state.map(State::as_str)),
            ("q", self.text),
        ] {
            if let Some(v) = v {
                url.push_str(&format!("&{k}={}", query_value(v)));
            }
        }
        url
    }
}

pub fn list(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let Some(s) = Session::of(ctx, request)? else {
        return Ok(to_sign_in());
    };
    let scope = scope(&s.ctx(ctx), request)?;
    let (client, in_links) = chosen(&s, &scope);
    let clients = pickable(ctx, &s.principal)?;
    let wanted = Wanted::of(request);
    let (found, total) = match client {
        None => (Vec::new(), 0),
        Some(client) => {
            let mut filter = Filter::new(Visible::Findable);
            filter.clients = vec![client.to_string()];
            filter.states = wanted.state.into_iter().collect();
            filter.contains = wanted.text.map(str::to_string).into_iter().collect();
            filter.limit = PAGE_SIZE;
            filter.offset = (wanted.number - 1) * u64::from(PAGE_SIZE);
            dois::list(ctx.db, &s.principal, filter)?
        }
    };
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let number = wanted.number;
    let done = match request.query("notice") {
        Some("deleted") => Some("Draft deleted."),
        _ => None,
    };
    let body = html! {
        @if !clients.is_empty() { (client_picker("/console/dois", &clients, client)) }
        (notice(done))
        @if client.is_some() {
            (filters(&wanted, in_links))
            p { (total) @if total == 1 { " DOI" } @else { " DOIs" } @if total > 0 { ", page " (number) " of " (pages) } "." }
            @if !found.is_empty() { (table(&found, in_links)) }
            nav.pager aria-label="Pages" {
                @if number > 1 { a href=(wanted.link(in_links, number - 1)) rel="prev" { "Previous page" } }
                @if number < pages { a href=(wanted.link(in_links, number + 1)) rel="next" { "Next page" } }
            }
        } @else {
            p { "Choose a client to see its DOIs." }
        }
    };
    Ok(page(200, "DOIs", Section::Dois, Some(&s), body))
}

fn filters(wanted: &Wanted, in_links: Option<&str>) -> Markup {
    html! {
        form.filters method="get" action="/console/dois" role="search" {
            @if let Some(c) = in_links { input type="hidden" name="client-id" value=(c); }
            label for="state" { "State" }
            select #state name="state" {
                option value="" { "any" }
                @for st in [State::Draft, State::Registered, State::Findable] {
                    option value=(st.as_str()) selected[wanted.state == Some(st)] { (st.as_str()) }
                }
            }
            label for="q" { "Text" }
            input #q name="q" type="search" value=[wanted.text] maxlength="200";
            button type="submit" { "Filter" }
        }
    }
}

fn table(found: &[dois::Doi], in_links: Option<&str>) -> Markup {
    html! {
        div.scroll { table {
            thead { tr { th scope="col" { "DOI" } th scope="col" { "Title" } th scope="col" { "State" } th scope="col" { "Created" } } }
            tbody { @for d in found { tr {
                td { a href={ "/console/dois/" (doi_path(&d.doi)) (client_query(in_links)) } { (d.doi) } }
                td { (title(d.attributes.as_ref())) }
                td { span class={ "state " (d.state.as_str()) } { (d.state.as_str()) } }
                td { (time(Some(d.created))) }
            } } }
        } }
    }
}

/// The state changes a DOI in `state` allows, as (form value, button label).
fn actions(state: State) -> &'static [(&'static str, &'static str)] {
    match state {
        State::Draft => &[
            ("publish", "Publish"),
            ("register", "Register"),
            ("delete", "Delete draft"),
        ],
        State::Registered => &[("publish", "Publish")],
        State::Findable => &[("hide", "Hide")],
    }
}

pub fn show(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let Some(s) = Session::of(ctx, request)? else {
        return Ok(to_sign_in());
    };
    let done = match request.query("notice") {
        Some("publish") => Some("Published: the DOI is findable."),
        Some("register") => Some("Registered."),
        Some("hide") => Some("Hidden: the DOI is registered, no longer findable."),
        _ => None,
    };
    doi_page(ctx, request, &s, params.get("doi"), 200, done, &[])
}

fn doi_page(
    ctx: &Ctx,
    request: &Request,
    s: &Session,
    name: &str,
    status: u16,
    done: Option<&str>,
    errors: &[String],
) -> Result<Reply, Error> {
    let d = dois::get(ctx.db, &s.principal, name)?;
    let q = client_query(request.query("client-id").filter(|_| s.principal.client().is_none()));
    let own = s.principal.client() == Some(d.client.as_str());
    let attributes = d
        .attributes
        .as_ref()
        .map(|a| serde_json::to_string_pretty(a).unwrap_or_default());
    let xml = d.xml.as_deref().map(String::from_utf8_lossy);
    let body = html! {
        (notice(done))
        (problems(errors))
        dl.facts {
            dt { "State" } dd { span class={ "state " (d.state.as_str()) } { (d.state.as_str()) } }
            dt { "Title" } dd { (title(d.attributes.as_ref())) }
            dt { "URL" } dd { @if let Some(u) = &d.url { a href=(u) rel="noopener noreferrer" { (u) } } @else { "—" } }
            dt { "Client" } dd { (d.client) }
            dt { "Created" } dd { (time(Some(d.created))) }
            dt { "Updated" } dd { (time(Some(d.updated))) }
            dt { "Registered" } dd { (time(d.registered)) }
        }
        @if own {
            h2 { "Actions" }
            div.actions { @for (action, label) in actions(d.state) {
                form.inline method="post" action={ "/console/actions/" (doi_path(&d.doi)) } {
                    (csrf(s))
                    input type="hidden" name="action" value=(action);
                    button type="submit" class=[(*action == "delete").then_some("danger")] { (label) }
                }
                " "
            } }
        }
        h2 { "Metadata" }
        @if xml.is_some() { p { a href={ "/console/xml/" (doi_path(&d.doi)) (q) } download { "Download XML" } } }
        (pre("Attributes (JSON)", attributes.as_deref()))
        (pre("XML", xml.as_deref()))
        p { a href={ "/console/dois" (q) } { "Back to DOIs" } }
    };
    Ok(page(status, &d.doi, Section::Dois, Some(s), body))
}

fn pre(label: &str, text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text {
            details { summary { (label) } pre tabindex="0" { code { (text) } } }
        }
    }
}

/// `GET /console/xml/{doi}`: the stored record as a download.
pub fn xml(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let Some(s) = Session::of(ctx, request)? else {
        return Ok(to_sign_in());
    };
    let d = dois::get(ctx.db, &s.principal, params.get("doi"))?;
    let xml = d.xml.ok_or_else(Error::not_found)?;
    let file: String = d
        .doi
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(Reply::xml(200, xml)
        .with_header("Content-Disposition", format!("attachment; filename=\"{file}.xml\""))
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Cache-Control", "no-store"))
}

/// `POST /console/actions/{doi}`: publish, register, hide or delete a draft, as the API does.
pub fn action(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let form = form::read(request, form::SMALL)?;
    let Some(s) = Session::of_form(ctx, request, form.get("csrf"))? else {
        return Ok(to_sign_in());
    };
    let as_session = s.ctx(ctx);
    let name = params.get("doi");
    let action = form.get("action").unwrap_or("");
    let result = match action {
        "delete" => as_session
            .actor()
            .and_then(|actor| dois::delete_draft(as_session.db, &actor, name, "GET"))
            .map(|()| Reply::see_other("/console/dois?notice=deleted")),
        other => {
            let event = Event::parse(other)
                .filter(|e| *e != Event::Show)
                .ok_or_else(|| Error::BadRequest("Unknown action.".into()))?;
            let changes = Changes {
                event: Some(event),
                ..Changes::default()
            };
            as_session
                .actor()
                .and_then(|actor| dois::save(as_session.db, &actor, name, changes, Mode::Update))
                .map(|saved| {
                    Reply::see_other(&format!(
                        "/console/dois/{}?notice={}",
                        doi_path(&saved.doi.doi),
                        event.as_str()
                    ))
                })
        }
    };
    match result {
        Err(e) => {
            let (status, titles) = unprocessable(e)?;
            doi_page(ctx, request, &s, name, status, None, &titles)
        }
        ok => ok,
    }
}
