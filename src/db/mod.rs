//! The database: opening SQLite with tinydoi's pragmas, migrations from `schema.sql`, and
//! write transactions. Only `db/` contains SQL.

pub mod accounts;
pub mod audit;
pub mod datafiles;
pub mod dois;
pub mod keys;
pub mod reports;
pub mod sessions;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::Error;

const SCHEMA: &str = include_str!("../../schema.sql");
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const MMAP_SIZE: i64 = 256 * 1024 * 1024;

/// The migrations of `schema.sql`, in order: (number, SQL).
fn migrations() -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = Vec::new();
    for line in SCHEMA.lines() {
        if let Some(n) = line.strip_prefix("-- migration ") {
            if let Ok(n) = n.trim().parse() {
                out.push((n, String::new()));
                continue;
            }
        }
        if let Some((_, sql)) = out.last_mut() {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    out
}

/// The schema version this build writes.
pub fn latest_version() -> u32 {
    migrations().last().map(|(n, _)| *n).unwrap_or(0)
}

/// One database: its file, and the queue its writers take turns in (see [`write()`]). The
/// connections of one server all come from one handle, so they share the queue; another
/// database in the same process (another test server) has its own.
#[derive(Clone)]
pub struct Database {
    path: PathBuf,
    writer: Arc<Mutex<()>>,
}

impl Database {
    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    pub fn open(path: &Path) -> anyhow::Result<Database> {
        let first = open(path)?;
        Ok(Database {
            path: path.to_path_buf(),
            writer: first.writer,
        })
    }

    /// Another connection to this database, queueing with the others to write.
    pub fn connect(&self) -> anyhow::Result<Conn> {
        Ok(Conn {
            conn: connect(&self.path)?,
            writer: self.writer.clone(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A connection and the writer queue of its database. It is a `Connection` for reading;
/// writing goes through [`write()`].
pub struct Conn {
    conn: Connection,
    writer: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("path", &self.conn.path())
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for Conn {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

/// Opens (creating if needed) the database at `path`, sets the pragmas and runs pending
/// migrations: a connection of a database of its own (see [`Database`] for several
/// connections sharing one writer queue). A database from a newer tinydoi is refused
/// rather than misread.
pub fn open(path: &Path) -> anyhow::Result<Conn> {
    let conn = connect(path)?;
    migrate(&conn).with_context(|| format!("database {}", path.display()))?;
    Ok(Conn {
        conn,
        writer: Arc::new(Mutex::new(())),
    })
}

fn connect(path: &Path) -> anyhow::Result<Connection> {
    create_private(path).with_context(|| format!("cannot create database {}", path.display()))?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(path, flags).with_context(|| format!("cannot open database {}", path.display()))?;
    configure(&conn).with_context(|| format!("cannot configure database {}", path.display()))?;
    Ok(conn)
}

/// Creates a missing database file readable by its owner only: it holds password hashes
/// and the data-file signing key. SQLite gives its `-wal` and `-shm` files the database
/// file's mode, so they are private too.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path == Path::new(":memory:") || path.exists() {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // In WAL mode NORMAL loses no committed transaction on an application crash; FULL
    // also survives power loss, which is what a credential store promises.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Reads through a memory map instead of a read() per page: an API key look-up in a
    // table of a million keys touches pages no small page cache holds (BENCHMARKS.md).
    // Address space only; pages stay shared in the OS page cache, not per connection.
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = latest_version();
    if current > latest {
        anyhow::bail!("schema version {current} is newer than this tinydoi understands ({latest}); upgrade tinydoi");
    }
    for (n, sql) in migrations().into_iter().filter(|(n, _)| *n > current) {
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the write lock.
        let now: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now >= n {
            continue;
        }
        tx.execute_batch(&sql)
            .with_context(|| format!("migration {n} failed"))?;
        // Filling what a migration adds for the rows already there, when that is long
        // enough to want progress on the console; in the same transaction.
        if n == 6 {
            dois::backfill_search_and_counts(&tx).with_context(|| format!("migration {n} failed"))?;
        }
        tx.pragma_update(None, "user_version", n)?;
        tx.commit()?;
        log::info!("database migrated to schema version {n}");
    }
    Ok(())
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction: committed when it returns `Ok`, rolled back
/// otherwise (also when it panics, as the transaction is dropped).
///
/// Writers of one [`Database`] queue on its mutex first: SQLite's busy handler would make
/// a writer that finds the lock taken sleep 1, 2, 5, 10… ms, long after the lock was freed
/// (most of the time of concurrent MDS uploads was spent so). Nested calls skip it, so they
/// still fail in SQLite rather than deadlock here.
pub fn write<T, E>(conn: &Conn, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
where
    E: From<rusqlite::Error>,
{
    let _turn = writer_turn(&conn.writer);
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

thread_local! {
    static WRITING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// This thread's turn to write: held until dropped; `None` when it already has it.
struct WriterTurn<'a> {
    _turn: MutexGuard<'a, ()>,
}

impl Drop for WriterTurn<'_> {
    fn drop(&mut self) {
        WRITING.with(|w| w.set(false));
    }
}

fn writer_turn(writer: &Mutex<()>) -> Option<WriterTurn<'_>> {
    if WRITING.with(|w| w.get()) {
        return None;
    }
    // A panic while writing poisons nothing worth keeping: the transaction rolled back.
    let guard = writer.lock().unwrap_or_else(|e| e.into_inner());
    WRITING.with(|w| w.set(true));
    Some(WriterTurn { _turn: guard })
}

/// Runs `f` in a deferred transaction, so several reads see one snapshot.
pub fn read<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Deferred)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_writes_fail_in_sqlite_rather_than_deadlock() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("t.db")).unwrap();
        let nested: Result<(), Error> = write(&conn, |_| write(&conn, |_| Ok(())));
        assert!(nested.is_err());
        // The turn was given back: the next write goes through.
        let again: Result<i64, Error> = write(&conn, |tx| Ok(tx.query_row("SELECT 1", [], |r| r.get(0))?));
        assert_eq!(again.unwrap(), 1);
    }

    #[test]
    fn each_database_has_its_own_writer_queue() {
        let dir = tempfile::tempdir().unwrap();
        let a = Database::open(&dir.path().join("a.db")).unwrap();
        let b = Database::open(&dir.path().join("b.db")).unwrap();
        let (a1, a2) = (a.connect().unwrap(), a.connect().unwrap());
        assert!(Arc::ptr_eq(&a1.writer, &a2.writer), "one database, one queue");
        let b1 = b.connect().unwrap();
        // While a writes, another thread writes to b: a process-wide queue would block it.
        let (done, finished) = std::sync::mpsc::channel();
        let wrote: Result<(), Error> = write(&a1, |_| {
            std::thread::spawn(move || {
                let r: Result<(), Error> = write(&b1, |_| Ok(()));
                done.send(r.is_ok()).unwrap();
            });
            assert_eq!(finished.recv_timeout(Duration::from_secs(30)), Ok(true));
            Ok(())
        });
        wrote.unwrap();
    }

    #[test]
    fn connections_read_through_a_memory_map() {
        let dir = std::env::temp_dir().join(format!("tinydoi-mmap-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let conn = open(&dir.join("t.db")).unwrap();
        let size: i64 = conn.pragma_query_value(None, "mmap_size", |r| r.get(0)).unwrap();
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(size, MMAP_SIZE);
    }

    #[test]
    fn schema_has_numbered_migrations_in_order() {
        let m = migrations();
        assert!(!m.is_empty());
        for (i, (n, sql)) in m.iter().enumerate() {
            assert_eq!(*n as usize, i + 1);
            assert!(sql.contains("CREATE") || sql.contains("ALTER"));
        }
    }
}
