//! Printing results as Markdown tables (pasted as is into BENCHMARKS.md) and checking them
//! against the targets of issue 8. Targets are reported, never asserted.

use crate::http::Run;
use crate::keys::Verification;

pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cores} cores, {model}; load average before the run: {load}")
}

pub fn print_runs(runs: &[Run]) {
    println!("| scenario | conns | req/s | p50 ms | p99 ms | p99.9 ms | errors (5xx) | server peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in runs {
        let o = &r.outcome;
        let rss = r
            .peak_rss_mib
            .map(|m| format!("{m:.1} MiB"))
            .unwrap_or_else(|| "–".into());
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} ({}) | {} |",
            r.label,
            r.connections,
            o.per_second(),
            o.quantile_ms(0.50),
            o.quantile_ms(0.99),
            o.quantile_ms(0.999),
            o.errors,
            o.server_errors,
            rss
        );
    }
    for r in runs.iter().filter(|r| r.outcome.errors > 0) {
        if let Some(e) = &r.outcome.first_error {
            println!("\n{}: first error: {e}", r.label);
        }
    }
}

pub fn print_verification(rows: &[Verification]) {
    println!("| keys in table | p50 µs / verification | mean µs | p99 µs | seeding s | scoped key p50 µs |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for v in rows {
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.2} |",
            v.keys, v.p50_us, v.mean_us, v.p99_us, v.seed_seconds, v.scoped_p50_us
        );
    }
}

/// Instructions per verification, plain and scoped keys (callgrind, steady state), and
/// issue 19's target: a scoped key costs at most 5 % more.
pub fn keys_cost(costs: &[crate::keys_cost::Cost]) {
    println!("## Key verification in instructions (callgrind)\n");
    println!("| key | instructions / verification |");
    println!("|---|---:|");
    for c in costs {
        println!("| {} | {:.0} |", c.kind, c.instructions);
    }
    let of = |kind: &str| costs.iter().find(|c| c.kind == kind).map(|c| c.instructions);
    if let (Some(plain), Some(scoped)) = (of("plain"), of("scoped")) {
        let ratio = scoped / plain;
        let verdict = if ratio <= 1.05 { "pass" } else { "MISS" };
        println!("\nscoped vs plain: {ratio:.3}× (target ≤ 1.05×): {verdict}\n");
    }
}

/// One target of the issue, with what was measured.
pub struct Target {
    pub what: &'static str,
    pub measured: String,
    pub goal: &'static str,
    pub pass: bool,
}

pub fn print_targets(targets: &[Target]) {
    println!("| target | measured | goal | |");
    println!("|---|---:|---|---|");
    for t in targets {
        println!(
            "| {} | {} | {} | {} |",
            t.what,
            t.measured,
            t.goal,
            if t.pass { "PASS" } else { "MISS" }
        );
    }
}

/// The runs and figures the targets compare; any may be missing when not run.
#[derive(Default)]
pub struct Figures<'a> {
    pub ceiling: Option<&'a Run>,
    pub get_key: Option<&'a Run>,
    pub get_key_64: Option<&'a Run>,
    pub get_password: Option<&'a Run>,
    pub put: Option<&'a Run>,
    pub raw_insert: Option<&'a Run>,
    pub raw_grouped: Option<&'a Run>,
    pub mixed: Option<&'a Run>,
    pub verification: &'a [Verification],
    pub startup_ms: Option<f64>,
}

pub fn targets(f: &Figures) -> Vec<Target> {
    let mut out = Vec::new();
    let rps = |r: &Run| r.outcome.per_second();
    if let (Some(key), Some(ceiling)) = (f.get_key, f.ceiling) {
        let ratio = rps(key) / rps(ceiling);
        out.push(Target {
            what: "(1) GET /dois with key vs same-body ceiling",
            measured: format!("{ratio:.2}×"),
            goal: "≥ 0.80×",
            pass: ratio >= 0.80 && key.outcome.errors == 0,
        });
    }
    if let (Some(password), Some(key)) = (f.get_password, f.get_key) {
        let ratio = rps(password) / rps(key);
        out.push(Target {
            what: "(2) GET /dois with password vs (1)",
            measured: format!("{ratio:.2}×"),
            goal: "≥ 0.95×",
            pass: ratio >= 0.95 && password.outcome.errors == 0,
        });
    }
    if let Some(r) = f.get_key_64 {
        let p99 = r.outcome.quantile_ms(0.99);
        out.push(Target {
            what: "(1) p99 at 64 connections",
            measured: format!("{p99:.2} ms"),
            goal: "< 5 ms",
            pass: p99 < 5.0 && r.outcome.errors == 0,
        });
    }
    if let (Some(put), Some(raw)) = (f.put, f.raw_insert) {
        let ratio = rps(put) / rps(raw);
        out.push(Target {
            what: "(3) PUT /metadata vs raw rusqlite inserts, 1 tx each",
            measured: format!("{ratio:.2}×"),
            goal: "≥ 2×",
            pass: ratio >= 2.0 && put.outcome.errors == 0,
        });
    }
    if let (Some(put), Some(grouped)) = (f.put, f.raw_grouped) {
        let ratio = rps(put) / rps(grouped);
        out.push(Target {
            what: "(3) PUT /metadata vs raw rusqlite, batched (reported)",
            measured: format!("{ratio:.2}×"),
            goal: "–",
            pass: put.outcome.errors == 0,
        });
    }
    if let Some(put) = f.put {
        let p99 = put.outcome.quantile_ms(0.99);
        out.push(Target {
            what: "(3) PUT /metadata p99",
            measured: format!("{p99:.2} ms"),
            goal: "< 15 ms",
            pass: p99 < 15.0,
        });
    }
    if let Some(put) = f.put {
        out.push(Target {
            what: "(3) 5xx under PUT load",
            measured: put.outcome.server_errors.to_string(),
            goal: "0",
            pass: put.outcome.server_errors == 0,
        });
    }
    if let (Some(small), Some(large)) = (f.verification.first(), f.verification.last()) {
        if large.keys > small.keys {
            let ratio = large.p50_us / small.p50_us;
            out.push(Target {
                what: "(4) verification cost (p50), largest vs smallest table",
                measured: format!("{ratio:.2}× ({} vs {} keys)", large.keys, small.keys),
                goal: "≤ 1.5×",
                pass: ratio <= 1.5,
            });
        }
        out.push(Target {
            what: "(4) verification (p50) at the largest table",
            measured: format!("{:.1} µs ({} keys)", large.p50_us, large.keys),
            goal: "< 20 µs",
            pass: large.p50_us < 20.0,
        });
    }
    if let Some(large) = f.verification.last() {
        let ratio = large.scoped_p50_us / large.p50_us;
        out.push(Target {
            what: "(4) scoped key (scopes, prefixes, networks) vs unscoped verification (p50)",
            measured: format!("{ratio:.3}× ({:.2} vs {:.2} µs)", large.scoped_p50_us, large.p50_us),
            goal: "≤ 1.05×",
            pass: ratio <= 1.05,
        });
    }
    if let Some(mixed) = f.mixed {
        let rss = mixed.peak_rss_mib.unwrap_or(f64::INFINITY);
        out.push(Target {
            what: "(5) server peak RSS, 64 connections mixed",
            measured: format!("{rss:.1} MiB"),
            goal: "≤ 64 MiB",
            pass: rss <= 64.0,
        });
    }
    if let (Some(ms), Some(large)) = (f.startup_ms, f.verification.last()) {
        out.push(Target {
            what: "start-up to first heartbeat",
            measured: format!("{ms:.0} ms ({} keys)", large.keys),
            goal: "< 200 ms",
            pass: ms < 200.0,
        });
    }
    out
}
