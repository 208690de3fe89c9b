//! Starting and stopping a tinydoi server: database, fixtures, shared state, HTTP workers.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::app::{App, Handler};
use crate::config::Config;
use crate::http::router::Route;
use crate::http::HttpServer;
use crate::{api, db, fixtures};

pub struct Server {
    http: HttpServer,
    app: Arc<App>,
    /// WAL checkpoints off the write path (`db::checkpoint`).
    checkpointer: db::checkpoint::Checkpointer,
    /// A database made for `--db :memory:`, removed at shutdown.
    ephemeral_db: Option<PathBuf>,
}

/// True when every address `listen` resolves to is a loopback address.
pub fn is_loopback(listen: &str) -> bool {
    match listen.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

fn is_new_database(path: &Path) -> bool {
    std::fs::metadata(path).map(|m| m.len() == 0).unwrap_or(true)
}

impl Server {
    pub fn start(config: Config) -> anyhow::Result<Server> {
        Server::start_with_routes(config, Vec::new())
    }

    /// Like `start`, serving `extra` routes besides tinydoi's own.
    pub fn start_with_routes(mut config: Config, extra: Vec<Route<Handler>>) -> anyhow::Result<Server> {
        let ephemeral_db = if config.db_path == Path::new(":memory:") {
            let path = std::env::temp_dir().join(format!("tinydoi-{}.db", uuid::Uuid::new_v4()));
            config.db_path = path.clone();
            Some(path)
        } else {
            None
        };
        if ephemeral_db.is_none() {
            refuse_world_writable(&config.db_path)?;
            refuse_readable_by_others(&config.db_path)?;
        }
        let is_new = is_new_database(&config.db_path);
        let database = db::Database::open(&config.db_path)?;
        seed(&database.connect()?, &config, is_new)?;
        if let Some(path) = &config.secret_scanning_keys {
            // Read again at every message; checked now so a bad file stops the start.
            let keys = crate::keys::scanning::read_key_file(path)
                .and_then(|bytes| crate::keys::scanning::parse_key_list(&bytes))?;
            log::info!(
                "secret scanning: {} GitHub public keys in {}",
                keys.len(),
                path.display()
            );
        }

        let mut routes = api::routes();
        routes.extend(crate::console::routes());
        routes.extend(extra);
        let mut app = App::new(config.clone(), routes, api::render::render);
        app.unmatched = crate::console::root_redirect;
        app.signed_in = crate::console::signed_in;
        app.recorder = crate::keys::recorder::Recorder::start(database.connect()?)?;
        let app = Arc::new(app);
        let checkpointer = db::checkpoint::Checkpointer::start(&database)?;
        let http = HttpServer::start(
            &config.listen,
            config.workers,
            config.http_limits(),
            move || database.connect(),
            app.clone(),
        )?;
        Ok(Server {
            http,
            app,
            checkpointer,
            ephemeral_db,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.http.addr()
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Stops accepting, finishes in-flight requests, closes every connection.
    pub fn shutdown(self) {
        self.http.shutdown();
        // After the workers: what their last requests recorded is written before we stop.
        self.app.recorder.shutdown();
        self.checkpointer.shutdown();
        if let Some(path) = self.ephemeral_db {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

/// Loads the fixtures (every start), or the demo data into a new database on a loopback
/// address; then refuses a non-loopback address while a demo password is still set.
fn seed(conn: &db::Conn, config: &Config, is_new: bool) -> anyhow::Result<()> {
    if let Some(path) = &config.fixtures {
        let summary = fixtures::load_file(conn, path, config.pbkdf2_iterations)?;
        log::info!(
            "loaded fixtures {}: {} providers, {} clients",
            path.display(),
            summary.providers,
            summary.clients
        );
    } else if is_new && config.seed_demo {
        if is_loopback(&config.listen) {
            let demo = fixtures::parse(fixtures::DEMO)?;
            fixtures::load(conn, &demo, config.pbkdf2_iterations)?;
            log::info!("new database: seeded the demo account DEMO.REPO (password demo-password, prefix 10.5072)");
        } else {
            log::warn!(
                "new database on a non-loopback address {}: demo credentials NOT seeded; use --fixtures or `tinydoi client add`",
                config.listen
            );
        }
    }
    if !is_loopback(&config.listen) {
        refuse_demo_passwords(conn, &config.listen)?;
    }
    Ok(())
}

/// Refuses a database that anyone on the host could rewrite: a world-writable file (or WAL
/// companion), or one in a world-writable directory, where anyone could plant a `-wal` file
/// or swap the database for their own.
pub fn refuse_world_writable(db_path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match db_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut paths = vec![dir];
    for suffix in ["", "-wal", "-shm"] {
        paths.push(PathBuf::from(format!("{}{suffix}", db_path.display())));
    }
    for path in paths {
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        let mode = meta.permissions().mode();
        if mode & 0o002 != 0 {
            let what = if meta.is_dir() { "directory" } else { "file" };
            anyhow::bail!(
                "refusing to use the database: the {what} {} is world-writable (mode {:o}); \
                 anyone on this host could change the credentials in it. Fix with `chmod o-w {}`{}",
                path.display(),
                mode & 0o7777,
                path.display(),
                if meta.is_dir() {
                    " or keep the database in a directory of its own"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

/// Refuses a database (or its `-wal`/`-shm` files, or the data-file directory) that other
/// users may read: it holds password hashes and the key that signs data-file links.
pub fn refuse_readable_by_others(db_path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut paths: Vec<PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", db_path.display())))
        .collect();
    paths.push(crate::datafile::directory(db_path));
    for path in paths {
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            let (what, fix) = if meta.is_dir() {
                ("directory", format!("chmod -R go-rwx {}", path.display()))
            } else {
                ("file", format!("chmod 600 {}", path.display()))
            };
            anyhow::bail!(
                "refusing to use the database: the {what} {} may be read by other users (mode {:o}); \
                 it holds password hashes and the data-file signing key. Fix with `{fix}`",
                path.display(),
                mode & 0o7777,
            );
        }
    }
    Ok(())
}

/// Refuses to serve on a non-loopback address while an account still has the password the
/// built-in demo data gave it: anyone who read the README could use it.
pub fn refuse_demo_passwords(conn: &rusqlite::Connection, listen: &str) -> anyhow::Result<()> {
    let demo = fixtures::parse(fixtures::DEMO)?;
    let mut accounts: Vec<(String, String)> = Vec::new();
    if let Some(admin) = &demo.admin {
        accounts.push((crate::accounts::ADMIN.into(), admin.password.clone()));
    }
    for p in &demo.providers {
        accounts.extend(p.password.clone().map(|pw| (p.symbol.clone(), pw)));
    }
    for c in &demo.clients {
        accounts.extend(c.password.clone().map(|pw| (c.symbol.clone(), pw)));
    }
    let mut unchanged = Vec::new();
    for (symbol, password) in accounts {
        let Some(role) = crate::accounts::role_of(&symbol) else {
            continue;
        };
        let account = db::accounts::find(conn, &symbol, role).context("reading the accounts")?;
        if account
            .and_then(|a| a.password)
            .is_some_and(|stored| crate::auth::password::verify(&password, &stored))
        {
            unchanged.push(symbol);
        }
    }
    if unchanged.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to serve on {listen}, a non-loopback address: {} still {} the demo password. \
         Change it first (`tinydoi client passwd SYMBOL --password-stdin` for clients and providers, `tinydoi admin passwd --password-stdin`), \
         or listen on 127.0.0.1",
        unchanged.join(", "),
        if unchanged.len() == 1 { "has" } else { "have" }
    )
}
