//! The monthly data file endpoints (CONTRACT §10): the signed link for any authenticated
//! account, and the download that needs no credentials but a valid, unexpired signature.

use serde_json::json;
use std::path::PathBuf;

use crate::app::Ctx;
use crate::datafile::{self, LINK_TTL_SECS};
use crate::db;
use crate::error::Error;
use crate::http::router::Params;
use crate::http::{Body, Reply, Request};
use crate::time::rfc3339;

/// `GET /credentials/datafile`: the latest complete month's file (built at the first
/// request after the month turned) and a link to it.
pub fn link(ctx: &Ctx, _: &Request, _: &Params) -> Result<Reply, Error> {
    if !ctx.principal.is_authenticated() {
        return Err(Error::Unauthenticated);
    }
    let month = datafile::previous_month(ctx.now);
    let file = datafile::ensure_built(ctx.db, &ctx.app.config.db_path, &month, ctx.now, &mut |done, total| {
        if done == total {
            log::info!("data file {month}: {done} records");
        }
    })?;
    let key = datafile::signing_key(ctx.db)?;
    let url = datafile::signed_url(&key, &file.month, ctx.now + LINK_TTL_SECS);
    Ok(Reply::json(
        200,
        &json!({"data": {
            "id": file.month,
            "type": "datafiles",
            "attributes": {
                "month": file.month,
                "records": file.records,
                "size": file.size,
                "sha256": file.sha256,
                "created": rfc3339(file.created),
                "url": url,
                "expiresIn": LINK_TTL_SECS,
            },
        }}),
    )
    .with_header("Cache-Control", "no-store"))
}

/// `GET /datafile/{name}?expires=…&signature=…`: the file, streamed from disk.
pub fn download(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let name = params.get("name");
    let month = datafile::month_of_name(name).ok_or(Error::not_found())?;
    let expires: i64 = request
        .query("expires")
        .and_then(|e| e.parse().ok())
        .ok_or_else(invalid_link)?;
    let signature = request.query("signature").ok_or_else(invalid_link)?;
    let key = datafile::signing_key(ctx.db)?;
    if !datafile::verify(&key, month, expires, signature, ctx.now) {
        return Err(invalid_link());
    }
    let file = db::datafiles::find(ctx.db, month)?.ok_or(Error::not_found())?;
    let path = PathBuf::from(&file.path);
    if !path.is_file() {
        return Err(Error::Internal(format!("data file {} is missing", file.path)));
    }
    let mut reply = Reply::empty(200)
        .with_header("Content-Type", "application/gzip")
        .with_header("Content-Disposition", format!("attachment; filename=\"{name}\""))
        .with_header("Cache-Control", "private, no-store");
    reply.body = Body::File(path);
    Ok(reply)
}

fn invalid_link() -> Error {
    Error::Forbidden(Some("The link is invalid or has expired.".into()))
}
