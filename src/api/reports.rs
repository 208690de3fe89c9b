//! Usage report endpoints (CONTRACT §11): clients post and manage their own reports (by
//! password or API key alike); anyone may read them.

use serde_json::{json, Value};

use crate::app::Ctx;
use crate::db;
use crate::db::reports::{Filter, StoredReport};
use crate::error::{Error, Problem};
use crate::http::router::Params;
use crate::http::{Reply, Request};
use crate::reports::{self, Report};

const JSON: &str = "application/json";
const DEFAULT_PAGE_SIZE: i64 = 25;
const MAX_PAGE_SIZE: i64 = 1000;

/// `{"report":{"id":…,"report-header":…,"report-datasets":…}}` from a stored body, without
/// parsing a possibly large report again.
fn report_reply(status: u16, id: &str, body: &str) -> Reply {
    let rest = body.strip_prefix('{').unwrap_or(body);
    let id = Value::String(id.to_string());
    Reply::new(status, JSON, format!("{{\"report\":{{\"id\":{id},{rest}}}"))
}

fn stored(report: &Report, id: String, client: &str, now: i64) -> StoredReport {
    let body = report.to_json_text();
    StoredReport {
        id,
        client: client.to_string(),
        created_by: report.created_by.clone(),
        month: report.month.clone(),
        header: report.header.to_string(),
        body: body.to_string(),
        created: now,
        updated: now,
    }
}

/// `POST /reports`: a new report (at most `MAX_PER_CLIENT_MONTH` per client and month), or the replacement of the caller's report by the same
/// creator for the same month (200, same id).
pub fn create(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let client = ctx.writing_client()?;
    let report = reports::parse(&request.body)?;
    let (status, saved) = db::write(ctx.db, |tx| {
        match db::reports::find_id(tx, &report.created_by, client, &report.month)? {
            Some(id) => {
                let saved = stored(&report, id, client, ctx.now);
                db::reports::replace(tx, &saved)?;
                Ok::<_, Error>((200, saved))
            }
            None => {
                if db::reports::count_for_month(tx, client, &report.month)? >= reports::MAX_PER_CLIENT_MONTH {
                    return Err(Error::unprocessable(Problem::at_pointer(
                        format!(
                            "A client may keep at most {} reports per month (one per created-by); \
                             replace one by posting it with the same created-by, or delete one",
                            reports::MAX_PER_CLIENT_MONTH
                        ),
                        "/report-header/created-by",
                    )));
                }
                let saved = stored(&report, uuid::Uuid::new_v4().to_string(), client, ctx.now);
                db::reports::insert(tx, &saved)?;
                Ok((201, saved))
            }
        }
    })?;
    Ok(report_reply(status, &saved.id, &saved.body).with_header("Location", format!("/reports/{}", saved.id)))
}

pub fn show(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    let report = db::reports::find(ctx.db, params.get("id"))?.ok_or(Error::not_found())?;
    Ok(report_reply(200, &report.id, &report.body))
}

/// The report `id` if the caller is the client that owns it: 404 unknown, 403 someone else's.
fn owned(ctx: &Ctx, id: &str) -> Result<StoredReport, Error> {
    let client = ctx.writing_client()?;
    let report = db::reports::find(ctx.db, id)?.ok_or(Error::not_found())?;
    if report.client != client {
        return Err(Error::forbidden());
    }
    Ok(report)
}

/// `PUT /reports/{id}`: replaces the owner's report with the body.
pub fn update(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let existing = owned(ctx, params.get("id"))?;
    let report = reports::parse(&request.body)?;
    let mut saved = stored(&report, existing.id.clone(), &existing.client, ctx.now);
    saved.created = existing.created;
    db::write(ctx.db, |tx| {
        match db::reports::find_id(tx, &saved.created_by, &saved.client, &saved.month)? {
            Some(other) if other != saved.id => Err(Error::Conflict(format!(
                "Report {other} already covers this creator and month"
            ))),
            _ => Ok(db::reports::replace(tx, &saved)?),
        }
    })?;
    Ok(report_reply(200, &saved.id, &saved.body))
}

pub fn delete(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    let report = owned(ctx, params.get("id"))?;
    db::write(ctx.db, |tx| db::reports::delete(tx, &report.id))?;
    Ok(Reply::empty(204))
}

fn number(request: &Request, name: &str, default: i64, max: i64) -> i64 {
    request
        .query(name)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 1)
        .map(|n| n.min(max))
        .unwrap_or(default)
}

/// `GET /reports?page[number]=&page[size]=&client-id=&created-by=&year=`: report headers.
pub fn list(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let non_empty = |name: &str| request.query(name).map(str::trim).filter(|v| !v.is_empty());
    let filter = Filter {
        client: non_empty("client-id").map(str::to_ascii_uppercase),
        created_by: non_empty("created-by").map(String::from),
        year: non_empty("year").map(String::from),
    };
    let page = number(request, "page[number]", 1, i64::MAX / MAX_PAGE_SIZE);
    let size = number(request, "page[size]", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    let (total, rows) = db::read(ctx.db, |tx| {
        Ok((
            db::reports::count(tx, &filter)?,
            db::reports::list(tx, &filter, size, (page - 1) * size)?,
        ))
    })?;
    let reports: Vec<Value> = rows
        .into_iter()
        .map(|(id, header)| {
            let header: Value = serde_json::from_str(&header).unwrap_or(Value::Null);
            json!({"id": id, reports::HEADER: header})
        })
        .collect();
    let body = json!({
        "reports": reports,
        "meta": {"total": total, "total-pages": (total + size - 1) / size, "page": page},
    });
    Ok(Reply::new(200, JSON, body.to_string()))
}
