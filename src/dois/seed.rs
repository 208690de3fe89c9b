//! DOIs from a fixtures file: each checked on its own before anything is stored, then
//! written inside the fixtures' transaction (no HTTP caller, so no `Ctx`).

use rusqlite::Connection;

use super::{doi, state::State, url, Doi};
use crate::accounts::check_client_symbol;
use crate::db::{accounts as dba, dois as dbd};
use crate::metadata;

/// What `updated_by` says for DOIs the fixtures wrote.
pub const UPDATED_BY: &str = "fixtures";

/// A fixture DOI that passed `check`.
#[derive(Debug, Clone)]
pub struct Seed {
    pub doi: String,
    pub client: String,
    pub state: State,
    pub url: Option<String>,
    pub xml: Option<Vec<u8>>,
}

/// Checks a fixture DOI without the database: DOI and client forms, the state (default
/// `draft`), the URL, and the record (valid kernel-4 naming this DOI). Registered and
/// findable DOIs need both a URL and a record.
pub fn check(
    name: &str,
    client: &str,
    state: Option<&str>,
    target: Option<&str>,
    xml: Option<&[u8]>,
) -> Result<Seed, String> {
    let d = doi::parse(name).ok_or_else(|| format!("'{name}' is not a DOI: 10.<4-9 digits>/<suffix>"))?;
    if let Some(problem) = doi::segment_problem(&d) {
        return Err(problem);
    }
    let client = check_client_symbol(client)?;
    let state = match state {
        None => State::Draft,
        Some(s) => State::parse(s).ok_or_else(|| format!("state '{s}' is not draft, registered or findable"))?,
    };
    if let Some(u) = target {
        if !url::is_valid(u) {
            return Err(format!("url '{u}': {}", url::INVALID_URL));
        }
    }
    if let Some(xml) = xml {
        let messages = |e: metadata::MetadataError| e.messages(&d).join("; ");
        match metadata::doi_of(xml).map_err(messages)? {
            Some(found) if !found.eq_ignore_ascii_case(&d) => {
                return Err(format!("the record's identifier {found} is not {d}"))
            }
            _ => {}
        }
        metadata::validate(xml).map_err(messages)?;
    }
    if state.needs_complete_record() && (target.is_none() || xml.is_none()) {
        return Err(format!("a {} DOI needs a url and xml", state.as_str()));
    }
    Ok(Seed {
        doi: d,
        client,
        state,
        url: target.map(str::to_string),
        xml: xml.map(<[u8]>::to_vec),
    })
}

/// Stores a checked DOI in the caller's transaction: the client must own the prefix and
/// allow the URL's domain. An identical stored DOI is left alone, so loading twice changes nothing.
pub fn store(conn: &Connection, seed: &Seed, now: i64) -> Result<(), String> {
    let sql = |e: rusqlite::Error| format!("database error: {e}");
    let prefix = doi::prefix_of(&seed.doi);
    match dba::prefix_owner(conn, prefix).map_err(sql)? {
        Some((owner, _)) if owner == seed.client => {}
        _ => return Err(format!("prefix {prefix} does not belong to {}", seed.client)),
    }
    let client = dba::client(conn, &seed.client)
        .map_err(sql)?
        .ok_or_else(|| format!("client {} does not exist", seed.client))?;
    if let Some(u) = &seed.url {
        if seed.state.needs_complete_record() && !url::url_allowed(&client.domains, u) {
            return Err(format!("url {u} is not allowed by the domains of {}", seed.client));
        }
    }
    let attributes = match &seed.xml {
        Some(xml) => Some(metadata::xml_to_json(xml).map_err(|e| e.to_string())?),
        None => None,
    };
    let existing = dbd::get(conn, &seed.doi).map_err(sql)?;
    let d = Doi {
        doi: seed.doi.clone(),
        client: seed.client.clone(),
        prefix: prefix.to_string(),
        state: seed.state,
        url: seed.url.clone(),
        xml: seed.xml.clone(),
        attributes,
        created: existing.as_ref().map_or(now, |e| e.created),
        updated: now,
        registered: existing
            .as_ref()
            .and_then(|e| e.registered)
            .or((seed.state.needs_complete_record()).then_some(now)),
        updated_by: Some(UPDATED_BY.into()),
    };
    match existing {
        None => dbd::insert(conn, &d).map_err(sql),
        Some(e) if e.client == d.client && e.state == d.state && e.url == d.url && e.xml == d.xml => Ok(()),
        Some(e) if e.client != d.client => Err(format!("{} already belongs to {}", d.doi, e.client)),
        Some(_) => dbd::update(conn, &d).map_err(sql),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = include_str!("../../fixtures/kernel-4/example/datacite-example-video-v4.xml");

    #[test]
    fn checks_each_field() {
        let xml = RECORD.as_bytes();
        let ok = check(
            "10.5072/1153992",
            "demo.repo",
            Some("findable"),
            Some("https://example.org/"),
            Some(xml),
        )
        .unwrap();
        assert_eq!((ok.client.as_str(), ok.state), ("DEMO.REPO", State::Findable));
        assert!(check("10.5072/x", "DEMO.REPO", None, None, None).is_ok());
        for (name, state, target, xml) in [
            ("nope", None, None, None),
            ("10.5072/x", Some("public"), None, None),
            ("10.5072/x", None, Some("mailto:x"), None),
            ("10.5072/other", None, None, Some(xml)),
            ("10.5072/1153992", Some("findable"), None, Some(xml)),
            ("10.5072/x", Some("registered"), Some("https://example.org/"), None),
            ("10.5072/1153992", None, None, Some(&b"<resource/>"[..])),
        ] {
            assert!(
                check(name, "DEMO.REPO", state, target, xml).is_err(),
                "{name} {state:?} {target:?}"
            );
        }
        assert!(check("10.5072/x", "nobody", None, None, None).is_err());
    }
}
