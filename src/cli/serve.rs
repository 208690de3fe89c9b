//! `tinydoi serve`: the server's configuration from the options, then serve until SIGINT
//! or SIGTERM, finishing in-flight requests.

use anyhow::Context;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::ServeArgs;
use crate::config::{self, Config};
use crate::server::Server;

pub fn run(db_path: &Path, iterations: u32, args: ServeArgs) -> anyhow::Result<()> {
    let rate_limit = args.rate_limit();
    let config = Config {
        listen: args.listen,
        db_path: db_path.to_path_buf(),
        workers: args.workers.unwrap_or_else(config::default_workers),
        fixtures: args.fixtures,
        pbkdf2_iterations: iterations,
        body_limit: args.body_limit,
        rate_limit,
        leak_reports: args.leak_reports,
        secret_scanning_keys: args.secret_scanning_keys,
        idle_timeout: args.idle_timeout.map_or(Config::default().idle_timeout, Into::into),
        body_timeout: args.body_timeout.map_or(Config::default().body_timeout, Into::into),
        console: config::ConsoleConfig {
            https: args.console_https,
            idle: args.console_idle.map_or(Config::default().console.idle, Into::into),
            lifetime: args
                .console_lifetime
                .map_or(Config::default().console.lifetime, Into::into),
        },
        head_limit: args.head_limit,
        header_timeout: args.header_timeout.map_or(Config::default().header_timeout, Into::into),
        max_connections: args.max_connections,
        read_cache_bytes: args.read_cache_mb.saturating_mul(1 << 20),
        ..Config::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("cannot handle signals")?;
    }
    let server = Server::start(config)?;
    println!("listening on http://{}", server.addr());
    let _ = std::io::stdout().flush();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    log::info!("shutting down: finishing in-flight requests");
    server.shutdown();
    log::info!("stopped");
    Ok(())
}
