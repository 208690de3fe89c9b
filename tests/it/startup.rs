//! Startup checks: a world-writable database (file or directory) is refused, and so is a
//! non-loopback listener while a demo password is still valid.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use tinydoi::server::Server;

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn start_error(config: tinydoi::config::Config) -> String {
    match Server::start(config) {
        Ok(server) => {
            server.shutdown();
            panic!("the server started");
        }
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn a_world_writable_database_directory_is_refused() {
    let (config, dir) = TestServer::config(FIXTURES);
    chmod(dir.path(), 0o777);
    let e = start_error(config.clone());
    assert!(
        e.contains("world-writable") && e.contains(&dir.path().display().to_string()),
        "{e}"
    );
    assert!(e.contains("directory"), "{e}");
    assert!(!config.db_path.exists(), "refused before the database was created");
    chmod(dir.path(), 0o700);
    Server::start(config).expect("starts once fixed").shutdown();
}

#[test]
fn a_world_writable_database_file_is_refused() {
    let (config, dir) = TestServer::config(FIXTURES);
    Server::start(config.clone()).expect("first start").shutdown();
    chmod(&config.db_path, 0o666);
    let e = start_error(config.clone());
    assert!(
        e.contains("world-writable") && e.contains("tinydoi.db") && e.contains("chmod o-w"),
        "{e}"
    );
    chmod(&config.db_path, 0o600);
    Server::start(config).expect("starts once fixed").shutdown();
    drop(dir);
}

#[test]
fn demo_passwords_are_refused_on_a_non_loopback_address() {
    let (mut config, _dir) = TestServer::config(FIXTURES);
    config.listen = "0.0.0.0:0".into();
    let e = start_error(config.clone());
    assert!(e.contains("non-loopback") && e.contains("demo password"), "{e}");
    for symbol in ["ADMIN", "DEMO", "DEMO.REPO"] {
        assert!(e.contains(symbol), "{symbol} in {e}");
    }
    assert!(!e.contains("OTHER"), "{e}");
    assert!(!e.contains(CLIENT_PASSWORD), "never shows a password: {e}");

    // The fixtures would reset the passwords at every start; an operator runs without them.
    config.fixtures = None;
    let db = tinydoi::db::open(&config.db_path).unwrap();
    for symbol in ["ADMIN", "DEMO"] {
        tinydoi::manage::set_password(&db, symbol, "a-real-secret", 10).unwrap();
    }
    let e = start_error(config.clone());
    assert!(e.contains("DEMO.REPO") && !e.contains("ADMIN"), "{e}");
    tinydoi::manage::set_password(&db, "DEMO.REPO", "another-real-secret", 10).unwrap();
    let server = Server::start(config).expect("starts once every demo password changed");
    assert!(!server.addr().ip().is_loopback());
    server.shutdown();
}

#[test]
fn demo_passwords_are_fine_on_loopback() {
    let s = TestServer::start();
    s.get("/heartbeat").client_auth().send().expect(200);
}
