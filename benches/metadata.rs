//! Throughput of validate + xml_to_json on the official full example, one core (`cargo bench --bench metadata`).

use std::time::{Duration, Instant};
use tinydoi::metadata::{validate, validated_json, xml_to_json};

/// This process's user+system CPU time, from /proc (Linux). On a machine shared
/// with other work, records per CPU-second is steadier than wall-clock rate.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are 14th and 15th overall.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn run(label: &str, xml: &[u8], budget: Duration, f: impl Fn(&[u8]) -> bool) {
    // Warm-up so the first timed pass is not paying for page faults.
    for _ in 0..100 {
        assert!(f(xml));
    }
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..100 {
            assert!(f(std::hint::black_box(xml)));
        }
        n += 100;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => {
            format!(", {:.0} records per CPU-second", n as f64 / (b - a))
        }
        _ => String::new(),
    };
    println!(
        "{label}: {n} records in {secs:.2} s = {:.0} records/s ({:.1} µs/record, {} bytes/record{cpu})",
        n as f64 / secs,
        secs * 1e6 / n as f64,
        xml.len()
    );
}

fn main() {
    let budget = Duration::from_secs(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4),
    );
    for file in ["datacite-example-full-v4.xml", "all-fields-v4.4.xml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/kernel-4/example")
            .join(file);
        let xml = std::fs::read(&path).expect("example record");
        run(&format!("{file} validate+xml_to_json"), &xml, budget, |x| {
            validate(x).is_ok() && xml_to_json(x).is_ok()
        });
        run(&format!("{file} validated_json (one parse)"), &xml, budget, |x| {
            validated_json(x).is_ok()
        });
        run(&format!("{file} validate"), &xml, budget, |x| validate(x).is_ok());
    }
}
