//! The metadata validation page: paste or upload a kernel-4 record, see each problem with
//! its line and property, and the JSON it converts to (the API's validator and converter).

use maud::html;

use super::layout::{csrf, page, Section};
use super::session::Session;
use super::{form, to_sign_in};
use crate::app::Ctx;
use crate::error::Error;
use crate::http::router::Params;
use crate::http::{Reply, Request};
use crate::metadata;

pub fn page_of(s: &Session, xml: &str, result: Option<maud::Markup>) -> Reply {
    let body = html! {
        form.stack method="post" action="/console/validate" enctype="multipart/form-data" {
            (csrf(s))
            label for="xml" { "Metadata XML" }
            textarea #xml name="xml" rows="14" spellcheck="false" { (xml) }
            label for="file" { "Or upload a file" }
            input #file name="file" type="file" accept=".xml,application/xml,text/xml";
            button type="submit" { "Validate" }
        }
        @if let Some(result) = result { (result) }
    };
    page(200, "Validate metadata", Section::Validate, Some(s), body)
}

pub fn show(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let Some(s) = Session::of(ctx, request)? else {
        return Ok(to_sign_in());
    };
    Ok(page_of(&s, "", None))
}

pub fn check(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let form = form::read(request, metadata::MAX_XML_BYTES * 2 + form::SMALL)?;
    let Some(s) = Session::of_form(ctx, request, form.get("csrf"))? else {
        return Ok(to_sign_in());
    };
    let xml = match form.bytes("file").filter(|f| !f.is_empty()) {
        Some(file) => file,
        None => form.bytes("xml").unwrap_or_default(),
    };
    if xml.iter().all(u8::is_ascii_whitespace) {
        let result = html! { div.problems role="alert" { p { "Paste a record or choose a file." } } };
        return Ok(page_of(&s, "", Some(result)));
    }
    let result = match metadata::read_record(xml) {
        Err(e) => html! {
            section.result aria-labelledby="result" {
                h2 #result { "Not valid" }
                div.problems role="alert" { p { (e.to_string()) } }
            }
        },
        Ok(record) => {
            let json = serde_json::to_string_pretty(&record.attributes).unwrap_or_default();
            html! {
                section.result aria-labelledby="result" {
                    @if record.problems.is_empty() {
                        h2 #result { "Valid" }
                        p.notice role="status" { "Valid DataCite kernel-4 metadata." }
                    } @else {
                        h2 #result { "Not valid: " (record.problems.len()) @if record.problems.len() == 1 { " problem" } @else { " problems" } }
                        div.scroll { table.problems-table role="alert" {
                            thead { tr { th scope="col" { "Line" } th scope="col" { "Property" } th scope="col" { "Problem" } } }
                            tbody { @for p in &record.problems { tr {
                                td { @if let Some(l) = p.line { (l) } @else { "—" } }
                                td { (p.property.as_deref().unwrap_or("—")) }
                                td { (p.message) }
                            } } }
                        } }
                    }
                    h3 { "JSON" }
                    pre tabindex="0" { code { (json) } }
                }
            }
        }
    };
    Ok(page_of(&s, &String::from_utf8_lossy(xml), Some(result)))
}
