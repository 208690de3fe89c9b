//! `tinydoi-bench`: measured, repeatable figures for tinydoi against baselines taken in the
//! same run (issue 8). Not run by `cargo test`; see BENCHMARKS.md for how to run it.

/// The allocator the `tinydoi` binary uses (src/main.rs), so that servers the bench starts
/// in a child process (`serve-child`, this binary re-executed) measure what `tinydoi serve`
/// does. The baselines (raw rusqlite, bare tiny_http) use it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod child;
mod file_growth;
mod http;
mod keys;
mod keys_cost;
mod load;
mod raw_insert;
mod report;
mod scale;
mod seed;

use clap::Parser;
use std::time::Duration;

use child::Kind;
use http::{Load, Run, Settings};
use report::Figures;

#[derive(Parser)]
#[command(about = "Benchmarks tinydoi against a bare tiny_http server and a raw rusqlite loop")]
struct Args {
    /// Which to run: ceiling, get-key, get-password, put-metadata, mixed, keys (verification
    /// and start-up), or all. Targets are checked for whatever ran. `scale` (lists at 10k,
    /// 100k and 1M DOIs, many minutes) and `keys-cost` (instructions per key verification,
    /// plain vs scoped, under valgrind's callgrind) run only when named, never as part of `all`.
    #[arg(default_value = "all")]
    scenarios: Vec<String>,
    /// Measured seconds per HTTP scenario (after a 0.5 s warm-up).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Connections for the throughput scenarios (the p99 and mixed scenarios use 64).
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Server worker threads (tinydoi's default: 4 per core).
    #[arg(long, default_value_t = tinydoi::config::default_workers())]
    workers: usize,
    /// DOIs of the largest database of the `scale` scenario (it also measures 10k and 100k).
    #[arg(long, default_value_t = 1_000_000)]
    max_dois: u64,
    /// `scale`: keep the seeded databases in this directory (`scale-{DOIs}.db`) and reuse
    /// them on the next run instead of loading again (a 1M load takes about 10 minutes).
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
    /// `scale`: only the requests whose label contains this text.
    #[arg(long)]
    only: Option<String>,
    /// Keys in the largest table of the verification scenario.
    #[arg(long, default_value_t = 1_000_000)]
    max_keys: u64,
}

const NAMES: [&str; 9] = [
    "all",
    "scale",
    "keys-cost",
    "ceiling",
    "get-key",
    "get-password",
    "put-metadata",
    "mixed",
    "keys",
];

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("serve-child") {
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
        if let Err(e) = child::serve(&argv[2..]) {
            eprintln!("tinydoi-bench serve-child: {e}");
            std::process::exit(1);
        }
        return;
    }
    if argv.get(1).map(String::as_str) == Some("keys-cost-child") {
        if let Err(e) = keys_cost::child(&argv[2..]) {
            eprintln!("tinydoi-bench keys-cost-child: {e}");
            std::process::exit(1);
        }
        return;
    }
    if argv.get(1).map(String::as_str) == Some("seed-read") {
        // For counting instructions per request (BENCHMARKS.md, callgrind): a database with
        // the demo accounts, a key and the read DOI, the read's body saved; prints the
        // `Authorization` value to send.
        if let Err(e) = seed_read(&argv[2..]) {
            eprintln!("tinydoi-bench seed-read: {e}");
            std::process::exit(1);
        }
        return;
    }
    let args = Args::parse();
    if let Some(bad) = args.scenarios.iter().find(|s| !NAMES.contains(&s.as_str())) {
        eprintln!("tinydoi-bench: unknown scenario {bad}; one of {}", NAMES.join(", "));
        std::process::exit(2);
    }
    if let Err(e) = run(&args) {
        eprintln!("tinydoi-bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let wants = |name: &str| args.scenarios.iter().any(|s| s == name || s == "all");
    let settings = Settings {
        workers: args.workers,
        warmup: Duration::from_millis(500),
        duration: Duration::from_secs_f64(args.duration),
    };
    let c = args.connections;
    let scratch = seed::Scratch::new()?;
    if args.scenarios.iter().any(|s| s == "scale") {
        let mut sizes: Vec<u64> = [10_000, 100_000, args.max_dois]
            .into_iter()
            .filter(|n| *n <= args.max_dois)
            .collect();
        sizes.dedup();
        scale::run(
            &scratch.dir,
            &sizes,
            args.workers,
            args.keep.as_deref(),
            args.only.as_deref(),
        )?;
        if args.scenarios.iter().all(|s| s == "scale") {
            return Ok(());
        }
    }
    if args.scenarios.iter().any(|s| s == "keys-cost") {
        let costs = keys_cost::run(&scratch.dir)?;
        report::keys_cost(&costs);
        if args.scenarios.iter().all(|s| s == "keys-cost" || s == "scale") {
            return Ok(());
        }
    }
    let db = scratch.path("tinydoi.db");
    let key = {
        let conn = seed::database(&db)?;
        seed::insert_key(&conn, seed::CLIENT)?
    };
    let metadata = seed::Metadata::full_example();
    let with_key = http::key_auth(&key);
    let read_path = format!("/dois/{}", http::READ_DOI);
    let heartbeat = || Load::Get {
        path: "/heartbeat",
        authorization: String::new(),
    };
    let get_with = |authorization: String| Load::Get {
        path: &read_path,
        authorization,
    };

    println!("# tinydoi-bench\n\nmachine: {}", report::machine());
    println!(
        "workers: {}, {} s per scenario after 0.5 s warm-up; servers run in a child process (peak RSS = its VmHWM)\n",
        args.workers, args.duration
    );
    if wants("put-metadata") || wants("mixed") {
        println!("{}\n", file_growth::measure(&scratch.dir)?);
    }
    let mut runs: Vec<Run> = Vec::new();
    let mut step = |r: anyhow::Result<Run>| -> anyhow::Result<()> {
        let r = r?;
        eprintln!(
            "  {}: {:.0} req/s, {} errors",
            r.label,
            r.outcome.per_second(),
            r.outcome.errors
        );
        runs.push(r);
        Ok(())
    };
    let same_body = scratch.path("get-body");
    let mut ceiling_label = String::new();
    if wants("ceiling") || wants("get-key") || wants("get-password") {
        let len = http::save_read_body(&db, args.workers, &with_key, &same_body)?;
        ceiling_label = format!("ceiling: bare tiny_http, constant 200, same {len} B body as (1)");
        let ok = scratch.path("no-such-file");
        let load = heartbeat();
        step(http::measure(
            "ceiling: bare tiny_http, constant 200 `OK`",
            Kind::Ceiling,
            &ok,
            c,
            &settings,
            &load,
        ))?;
        step(http::measure(
            "tinydoi HTTP layer, constant 200 `OK`",
            Kind::HttpLayer,
            &db,
            c,
            &settings,
            &load,
        ))?;
        step(http::measure(
            "tinydoi GET /heartbeat (no auth)",
            Kind::Tinydoi,
            &db,
            c,
            &settings,
            &load,
        ))?;
        step(http::measure(
            &ceiling_label,
            Kind::Ceiling,
            &same_body,
            c,
            &settings,
            &load,
        ))?;
    }
    // (2) is compared with (1) to 5 %: they alternate in halves (1, 2, 1, 2) so that
    // load from elsewhere on the machine falls on both alike.
    let key_load = get_with(with_key.clone());
    let password_load = get_with(http::password_auth());
    let mut pair: Vec<(&str, &Load)> = Vec::new();
    if wants("get-key") {
        pair.push(("(1) GET /dois/{doi}, API key", &key_load));
    }
    if wants("get-password") {
        pair.push(("(2) GET /dois/{doi}, password", &password_load));
    }
    let half = Settings {
        duration: settings.duration / 2,
        ..settings
    };
    let mut halves: Vec<Run> = Vec::new();
    for round in 0..2 {
        for (n, (label, load)) in pair.iter().enumerate() {
            let run = http::measure(label, Kind::Tinydoi, &db, c, &half, load)?;
            if round == 0 {
                halves.push(run);
            } else {
                halves[n].merge(run);
            }
        }
    }
    for run in halves {
        step(Ok(run))?;
    }
    if wants("ceiling") || wants("get-key") {
        step(http::measure(
            &ceiling_label,
            Kind::Ceiling,
            &same_body,
            64,
            &settings,
            &heartbeat(),
        ))?;
    }
    if wants("get-key") {
        step(http::measure(
            "(1) GET /dois/{doi}, API key",
            Kind::Tinydoi,
            &db,
            64,
            &settings,
            &get_with(with_key.clone()),
        ))?;
    }
    if wants("put-metadata") {
        let attributes = raw_attributes(&metadata)?;
        // fsync speed drifts with what else the disk does: the baseline runs half before
        // and half after the PUT run, and both halves count.
        let raw_db = scratch.path("raw.db");
        let quarter = settings.duration / 4;
        // Each run its own tag: with `--connections 1` both baselines insert one row per
        // transaction, and a shared tag made the second's DOIs collide with the first's.
        let mut raw = raw_insert::run(&raw_db, "1a", &metadata, &attributes, 1, quarter)?;
        let mut grouped = raw_insert::run(&raw_db, "ga", &metadata, &attributes, c, quarter)?;
        let load = Load::Put {
            tag: "put",
            authorization: with_key.clone(),
            metadata: &metadata,
        };
        let put = http::measure(
            "(3) PUT /metadata/{new doi}, API key",
            Kind::Tinydoi,
            &db,
            c,
            &settings,
            &load,
        );
        grouped.add(raw_insert::run(&raw_db, "gb", &metadata, &attributes, c, quarter)?);
        raw.add(raw_insert::run(&raw_db, "1b", &metadata, &attributes, 1, quarter)?);
        step(Ok(Run {
            label: "raw rusqlite INSERT, 1 tx each (WAL, sync=FULL)".into(),
            connections: 1,
            outcome: raw,
            peak_rss_mib: None,
        }))?;
        step(Ok(Run {
            label: format!("raw rusqlite INSERT, {c} rows per tx (group-commit bound)"),
            connections: 1,
            outcome: grouped,
            peak_rss_mib: None,
        }))?;
        step(put)?;
    }
    if wants("mixed") {
        let load = Load::Mixed {
            tag: "mixed",
            authorization: with_key.clone(),
            metadata: &metadata,
        };
        step(http::measure(
            "(5) mixed: 9 GET : 1 PUT, API key",
            Kind::Tinydoi,
            &db,
            64,
            &settings,
            &load,
        ))?;
    }

    let mut verification = Vec::new();
    let mut startup_ms = None;
    if wants("keys") {
        let sizes: Vec<u64> = [1_000, 100_000, args.max_keys]
            .into_iter()
            .filter(|n| *n <= args.max_keys)
            .collect();
        eprintln!("  seeding and verifying keys: {sizes:?}");
        let (rows, keys_db) = keys::verification(&scratch.dir, &sizes)?;
        verification = rows;
        let tries: Vec<f64> = (0..3)
            .map(|_| keys::startup_ms(&keys_db, args.workers))
            .collect::<Result<_, _>>()?;
        eprintln!("  start-up: {tries:?} ms");
        startup_ms = tries.iter().copied().reduce(f64::max);
    }

    println!("## HTTP\n");
    report::print_runs(&runs);
    if !verification.is_empty() {
        println!("\n## (4) API key verification in-process (`Authenticator::authenticate`)\n");
        report::print_verification(&verification);
    }
    if let Some(ms) = startup_ms {
        println!("\nstart-up on the largest key table, `Server::start` to first heartbeat (worst of 3): {ms:.0} ms");
    }
    let find = |label: &str, conns: usize| {
        runs.iter()
            .find(|r| r.label.starts_with(label) && r.connections == conns)
    };
    let figures = Figures {
        ceiling: runs.iter().find(|r| r.label == ceiling_label && r.connections == c),
        get_key: find("(1)", c),
        get_key_64: find("(1)", 64),
        get_password: find("(2)", c),
        put: find("(3)", c),
        raw_insert: find("raw rusqlite INSERT, 1 tx", 1),
        raw_grouped: runs.iter().find(|r| r.label.contains("rows per tx")),
        mixed: find("(5)", 64),
        verification: &verification,
        startup_ms,
    };
    println!("\n## Targets (issue 8)\n");
    report::print_targets(&report::targets(&figures));
    Ok(())
}

/// The JSON attributes tinydoi stores beside the XML: what the raw loop inserts too.
fn raw_attributes(metadata: &seed::Metadata) -> anyhow::Result<String> {
    let xml = metadata.for_doi("10.5072/raw");
    let attributes = tinydoi::metadata::validated_json(xml.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(serde_json::Value::Object(attributes).to_string())
}

/// `seed-read DB BODY`: see `main`.
fn seed_read(args: &[String]) -> anyhow::Result<()> {
    let [db, body] = args else {
        return Err(anyhow::anyhow!("usage: seed-read DB BODY"));
    };
    let db = std::path::Path::new(db);
    let key = {
        let conn = seed::database(db)?;
        seed::insert_key(&conn, seed::CLIENT)?
    };
    let authorization = http::key_auth(&key);
    http::save_read_body(db, 2, &authorization, std::path::Path::new(body))?;
    println!("{authorization}");
    Ok(())
}
