//! `tinydoi datafile build`: builds a month's data file with a progress line on standard error.

use anyhow::bail;
use std::io::Write;
use std::path::Path;

use super::DatafileCommand;
use crate::datafile;
use crate::db::Conn;

pub fn run(conn: &Conn, db_path: &Path, command: DatafileCommand) -> anyhow::Result<String> {
    let DatafileCommand::Build { month } = command;
    let now = crate::time::now();
    let month = month.unwrap_or_else(|| datafile::previous_month(now));
    if datafile::parse_month(&month).is_none() {
        bail!("not a month (YYYY-MM): {month}");
    }
    let mut stderr = std::io::stderr();
    let mut built = false;
    let file = datafile::ensure_built(conn, db_path, &month, now, &mut |done, total| {
        built = true;
        let _ = write!(stderr, "\rdata file {month}: {done}/{total} records");
        let _ = stderr.flush();
    })?;
    if built {
        eprintln!();
    } else {
        eprintln!("data file {month} was built already; kept as it is");
    }
    Ok(format!(
        "data file {}: {} records, {} bytes, sha256 {}, {}",
        file.month, file.records, file.size, file.sha256, file.path
    ))
}
