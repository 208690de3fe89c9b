//! The monthly data file (CONTRACT §10): every findable DOI as of a month's end, one JSON
//! object a line, gzip-compressed, built once per month next to the database, and the
//! HMAC-signed, expiring links that let anyone download it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};
use serde_json::{json, Map, Value};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::db;
use crate::db::datafiles::{Datafile, DoiRow};
use crate::error::Error;
use crate::time::{rfc3339, Month};

/// How long a signed link works.
pub const LINK_TTL_SECS: i64 = 3600;
/// The build reports progress every this many records.
pub const PROGRESS_EVERY: u64 = 10_000;
const SUFFIX: &str = ".jsonl.gz";

/// One build at a time in this process, so that the first requests of a month do not all
/// build the same file.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// `(year, month)` of a `YYYY-MM` string.
pub fn parse_month(month: &str) -> Option<(i32, u32)> {
    Month::parse(month).map(|m| (m.year, m.month))
}

/// Unix seconds at which `month` ends (the first second of the next month).
pub fn month_end(month: &str) -> Option<i64> {
    Month::parse(month)?.next().start()
}

/// The latest complete month at `now`: the month before the current one.
pub fn previous_month(now: i64) -> String {
    Month::of(now).previous().to_string()
}

/// The month a download name such as `2026-10.jsonl.gz` stands for.
pub fn month_of_name(name: &str) -> Option<&str> {
    let month = name.strip_suffix(SUFFIX)?;
    parse_month(month).map(|_| month)
}

/// Where data files live: `datafiles/` beside the database.
pub fn directory(db_path: &Path) -> PathBuf {
    db_path.parent().unwrap_or(Path::new(".")).join("datafiles")
}

/// The server's URL signing key, made at first use.
pub fn signing_key(conn: &db::Conn) -> Result<Vec<u8>, Error> {
    if let Some(key) = db::datafiles::signing_key(conn)? {
        return Ok(key);
    }
    let mut key = vec![0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| Error::Internal("the system random number generator failed".into()))?;
    db::write(conn, |tx| {
        db::datafiles::insert_signing_key(tx, &key)?;
        db::datafiles::signing_key(tx)?.ok_or_else(|| Error::Internal("signing key vanished".into()))
    })
}

fn signed_message(month: &str, expires: i64) -> String {
    format!("{month}{SUFFIX}\n{expires}")
}

/// The download link for `month`, valid until `expires` (Unix seconds).
pub fn signed_url(key: &[u8], month: &str, expires: i64) -> String {
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        signed_message(month, expires).as_bytes(),
    );
    format!(
        "/datafile/{month}{SUFFIX}?expires={expires}&signature={}",
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    )
}

/// Whether `signature` signs `month` until `expires`, `expires` has not passed and lies
/// no further ahead than a link's lifetime (the comparison runs in constant time). The cap
/// means that even someone who got hold of the signing key cannot make a link that lasts.
pub fn verify(key: &[u8], month: &str, expires: i64, signature: &str, now: i64) -> bool {
    let Ok(tag) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let valid = hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        signed_message(month, expires).as_bytes(),
        &tag,
    )
    .is_ok();
    valid && now < expires && expires <= now.saturating_add(LINK_TTL_SECS)
}

/// The data file of `month`, built now if it has not been. The month must have ended.
pub fn ensure_built(
    conn: &db::Conn,
    db_path: &Path,
    month: &str,
    now: i64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Datafile, Error> {
    let _one_at_a_time = BUILD_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(file) = db::datafiles::find(conn, month)? {
        return Ok(file);
    }
    build(conn, &directory(db_path), month, now, progress)
}

/// Writes the file to a temporary name, syncs it, renames it into place and records it.
/// Each build has its own file name, so that when another process recorded the month
/// first, its file is kept and this one removed.
fn build(
    conn: &db::Conn,
    dir: &Path,
    month: &str,
    now: i64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Datafile, Error> {
    let end = month_end(month).ok_or_else(|| Error::BadRequest(format!("not a month: {month}")))?;
    if end > now {
        return Err(Error::BadRequest(format!("month {month} has not ended yet")));
    }
    // Only the server's user may read the files (and list them).
    std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700).create(dir)?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let temp = dir.join(format!(".{month}-{id}.tmp"));
    let path = dir.join(format!("{month}-{}{SUFFIX}", &id[..8]));
    let written = write_file(conn, &temp, end, progress);
    let (records, size, sha256) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
    };
    fs::rename(&temp, &path)?;
    // The rename itself is durable only once the directory is synced.
    File::open(dir).and_then(|d| d.sync_all())?;
    let file = Datafile {
        month: month.to_string(),
        path: path.to_string_lossy().into_owned(),
        records: records as i64,
        size: size as i64,
        sha256,
        created: now,
    };
    let recorded = db::write(conn, |tx| {
        db::datafiles::insert(tx, &file)?;
        db::datafiles::find(tx, month)?.ok_or_else(|| Error::Internal("data file record vanished".into()))
    })?;
    if recorded.path != file.path {
        let _ = fs::remove_file(&path);
    }
    Ok(recorded)
}

/// Streams the findable DOIs into a gzip file at `temp`; returns (records, bytes, sha256 hex).
/// A new file only its owner may read.
fn private_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

fn write_file(
    conn: &rusqlite::Connection,
    temp: &Path,
    end: i64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(u64, u64, String), Error> {
    let out = HashingWriter {
        inner: BufWriter::new(private_file(temp)?),
        digest: digest::Context::new(&digest::SHA256),
        size: 0,
    };
    let mut gzip = GzEncoder::new(out, Compression::default());
    let mut records = 0u64;
    db::read(conn, |snapshot| {
        let total = db::datafiles::count_findable(snapshot, end)? as u64;
        progress(0, total);
        db::datafiles::for_each_findable(snapshot, end, |row| {
            serde_json::to_writer(&mut gzip, &line(row)).map_err(|e| Error::Internal(format!("data file: {e}")))?;
            gzip.write_all(b"\n")?;
            records += 1;
            if records.is_multiple_of(PROGRESS_EVERY) {
                progress(records, total);
            }
            Ok(())
        })?;
        if records > 0 && !records.is_multiple_of(PROGRESS_EVERY) {
            progress(records, total);
        }
        Ok(())
    })?;
    let out = gzip.finish()?;
    let file = out.inner.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let sha256 = out
        .digest
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((records, out.size, sha256))
}

/// A data file line: the DOI's REST attributes (its metadata plus the DOI's own fields).
fn line(row: DoiRow) -> Value {
    let mut attributes = row
        .attributes
        .as_deref()
        .and_then(|a| serde_json::from_str::<Map<String, Value>>(a).ok())
        .unwrap_or_default();
    let suffix = row.doi.split_once('/').map(|(_, s)| s.to_string()).unwrap_or_default();
    let own = json!({
        "doi": row.doi,
        "prefix": row.prefix,
        "suffix": suffix,
        "state": row.state,
        "url": row.url,
        "created": rfc3339(row.created),
        "updated": rfc3339(row.updated),
        "registered": row.registered.map(rfc3339),
    });
    if let Value::Object(own) = own {
        attributes.extend(own);
    }
    attributes.remove("xml");
    Value::Object(attributes)
}

/// Counts and hashes what goes to the file on its way there.
struct HashingWriter<W: Write> {
    inner: W,
    digest: digest::Context,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;

    /// The calendar itself is `time::Month`'s (tested there); these are the data file's uses.
    #[test]
    fn months() {
        assert_eq!(parse_month("2026-10"), Some((2026, 10)));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("2026-1"), None);
        assert_eq!(parse_month("../etc"), None);
        assert_eq!(month_end("2026-10"), parse_rfc3339("2026-11-01T00:00:00Z"));
        assert_eq!(month_end("2026-12"), parse_rfc3339("2027-01-01T00:00:00Z"));
        let nov = parse_rfc3339("2026-11-28T04:00:00Z").unwrap();
        assert_eq!(previous_month(nov), "2026-10");
        let jan = parse_rfc3339("2027-01-01T00:00:00Z").unwrap();
        assert_eq!(previous_month(jan), "2026-12");
        assert_eq!(month_of_name("2026-10.jsonl.gz"), Some("2026-10"));
        assert_eq!(month_of_name("2026-10.jsonl"), None);
        assert_eq!(month_of_name("x.jsonl.gz"), None);
    }

    #[test]
    fn signatures() {
        let key = b"0123456789abcdef0123456789abcdef";
        let url = signed_url(key, "2026-10", 2000);
        let sig = url.rsplit_once("signature=").unwrap().1;
        assert!(url.starts_with("/datafile/2026-10.jsonl.gz?expires=2000&signature="));
        assert!(verify(key, "2026-10", 2000, sig, 1999));
        assert!(!verify(key, "2026-10", 2000, sig, 2000), "expired");
        assert!(!verify(key, "2026-10", 2001, sig, 1000), "other expiry");
        assert!(!verify(key, "2026-09", 2000, sig, 1000), "other month");
        assert!(!verify(b"another key", "2026-10", 2000, sig, 1000), "other key");
        assert!(!verify(key, "2026-10", 2000, "not base64!", 1000));
    }

    #[test]
    fn lines_merge_metadata_and_doi_fields() {
        let v = line(DoiRow {
            doi: "10.5072/abc".into(),
            prefix: "10.5072".into(),
            state: "findable".into(),
            url: Some("https://example.org/abc".into()),
            attributes: Some(r#"{"titles":[{"title":"T"}],"state":"draft","xml":"PD94"}"#.into()),
            created: 0,
            updated: 60,
            registered: None,
        });
        assert_eq!(v["titles"][0]["title"], "T");
        assert_eq!(v["state"], "findable");
        assert_eq!(v["suffix"], "abc");
        assert_eq!(v["updated"], "1970-01-01T00:01:00Z");
        assert!(v.get("xml").is_none());
    }
}
