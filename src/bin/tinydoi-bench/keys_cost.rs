//! `keys-cost` (issue 19): what a key's limits (scopes, prefixes, allowed networks) add to
//! its verification, counted in instructions by valgrind's callgrind rather than timed, so
//! that the figure is the same on a busy machine as on a quiet one. The bench re-runs
//! itself under callgrind in a hidden `keys-cost-child` mode that verifies keys of one kind
//! N times, collecting only inside `Authenticator::authenticate`; the difference between
//! two call counts divided by the difference in calls is the steady-state cost of one
//! verification, without the seeding, the start-up and the first (cache-filling) pass.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use tinydoi::auth::{Attempt, Authenticator, Principal};
use tinydoi::keys::recorder::Recorder;

use crate::keys::basic_headers;
use crate::seed::{self, Reservoir, CLIENT};

/// Keys per kind, verified in turn (every one once before the counted calls).
const SAMPLE: usize = 200;
/// The two call counts whose difference is measured.
const CALLS: [usize; 2] = [1_000, 3_000];

/// One kind's figure: instructions per verification in the steady state.
pub struct Cost {
    pub kind: &'static str,
    pub instructions: f64,
}

/// Seeds a database with 1,000 plain keys (a sample kept) and `SAMPLE` keys with every
/// limit set, then counts each kind's verifications under callgrind.
pub fn run(dir: &Path) -> anyhow::Result<Vec<Cost>> {
    let status = Command::new("valgrind").arg("--version").output();
    if !status.is_ok_and(|o| o.status.success()) {
        bail!("keys-cost needs valgrind (Debian package valgrind) on PATH");
    }
    let db = dir.join("keys-cost.db");
    let conn = seed::database(&db)?;
    let mut sample = Reservoir::new(SAMPLE);
    seed::bulk_keys(&conn, CLIENT, 1_000, &mut sample)?;
    let scoped = seed::scoped_keys(&conn, CLIENT, SAMPLE)?;
    drop(conn);
    let kinds = [("plain", sample.items), ("scoped", scoped)];
    let mut costs = Vec::new();
    for (kind, keys) in kinds {
        let list = dir.join(format!("keys-cost-{kind}.txt"));
        std::fs::write(&list, keys.join("\n")).context("writing the key list")?;
        let counts = CALLS
            .iter()
            .map(|&n| collected(dir, &db, &list, n))
            .collect::<anyhow::Result<Vec<u64>>>()?;
        let per_call = (counts[1] as f64 - counts[0] as f64) / (CALLS[1] - CALLS[0]) as f64;
        costs.push(Cost {
            kind,
            instructions: per_call,
        });
    }
    Ok(costs)
}

/// Instructions callgrind collected inside `authenticate` for `calls` verifications.
fn collected(dir: &Path, db: &Path, list: &Path, calls: usize) -> anyhow::Result<u64> {
    let out: PathBuf = dir.join(format!("callgrind.{calls}.{}", std::process::id()));
    let exe = std::env::current_exe()?;
    let run = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--toggle-collect=*Authenticator*authenticate*")
        .arg(&exe)
        .arg("keys-cost-child")
        .arg(db)
        .arg(list)
        .arg(calls.to_string())
        .output()
        .context("running valgrind")?;
    if !run.status.success() {
        bail!(
            "keys-cost-child under callgrind failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let text = std::fs::read_to_string(&out).context("reading callgrind's output")?;
    let _ = std::fs::remove_file(&out);
    let total = text
        .lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| anyhow!("no instruction total in callgrind's output"))?;
    if total == 0 {
        bail!("callgrind collected nothing: is `authenticate` inlined away or renamed?");
    }
    Ok(total)
}

/// The child: verifies the keys listed in `args[1]` (one per line) `args[2]` times in
/// turn against the database `args[0]`, as a worker does (fresh connection, the lastUsedAt
/// recorder running, an address inside the scoped keys' networks).
pub fn child(args: &[String]) -> anyhow::Result<()> {
    let [db, list, calls] = args else {
        bail!("usage: keys-cost-child DB KEYS CALLS");
    };
    let calls: usize = calls.parse()?;
    let keys: Vec<String> = std::fs::read_to_string(list)?.lines().map(String::from).collect();
    let headers = basic_headers(&keys);
    let worker = tinydoi::db::open(Path::new(db))?;
    let auth = Authenticator::new(Duration::from_secs(300));
    let recorder = Recorder::start(tinydoi::db::open(Path::new(db))?)?;
    let attempt = Attempt {
        remote_addr: Some(std::net::IpAddr::from([127, 0, 0, 1])),
        recorder: &recorder,
    };
    let now = tinydoi::time::now();
    for i in 0..calls {
        match auth.authenticate(&worker, Some(&headers[i % headers.len()]), now, &attempt) {
            Ok(Principal::Client { .. }) => {}
            other => bail!("key not accepted: {other:?}"),
        }
    }
    recorder.shutdown();
    Ok(())
}
