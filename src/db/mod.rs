//! The database: opening SQLite with tinydoi's pragmas, migrations from `schema.sql`, and
//! write transactions. Only `db/` contains SQL.

pub mod accounts;
pub mod audit;
pub mod checkpoint;
pub mod datafiles;
pub mod dois;
pub mod facet_values;
pub mod generations;
pub mod keys;
pub mod reports;
pub mod sessions;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
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

/// A migration's SQL before and after its `-- [backfill]` line (all of it before when it
/// has none): where the rows already stored are filled in, between dropping what would
/// slow that down (indexes, triggers) and creating it again.
fn split_at_backfill(sql: &str) -> (&str, &str) {
    match sql.find("\n-- [backfill]") {
        Some(at) => (&sql[..at + 1], &sql[at + 1..]),
        None => (sql, ""),
    }
}

/// The schema version this build writes.
pub fn latest_version() -> u32 {
    migrations().last().map(|(n, _)| *n).unwrap_or(0)
}

/// One database: its file, and the group-commit writer its connections share (see
/// [`write()`]). The connections of one server all come from one handle, so they share the
/// writer; another database in the same process (another test server) has its own.
#[derive(Clone)]
pub struct Database {
    path: PathBuf,
    writer: Arc<Writer>,
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

    /// Another connection to this database, sharing the others' writer.
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

/// A connection and the writer of its database. It is a `Connection` for reading;
/// writing goes through [`write()`].
pub struct Conn {
    conn: Connection,
    writer: Arc<Writer>,
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
        writer: Arc::new(Writer::new(path)),
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
    // A server checkpoints on a thread of its own (`checkpoint`); the automatic one stays
    // as a backstop only, out of the writers' way.
    conn.pragma_update(None, "wal_autocheckpoint", checkpoint::BACKSTOP_PAGES)?;
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
        // Said before, not only after: building an index over a million DOIs takes a while.
        log::info!("migrating the database to schema version {n}");
        // Filling what a migration adds for the rows already there, when that is long
        // enough to want progress on the console; in the same transaction, where the
        // migration's `-- [backfill]` line is (else after all of it).
        let (before, after) = split_at_backfill(&sql);
        tx.execute_batch(before)
            .with_context(|| format!("migration {n} failed"))?;
        match n {
            8 => dois::backfill_search_and_counts(&tx),
            11 => dois::backfill_columns(&tx),
            _ => Ok(()),
        }
        .with_context(|| format!("migration {n} failed"))?;
        tx.execute_batch(after)
            .with_context(|| format!("migration {n} failed"))?;
        tx.pragma_update(None, "user_version", n)?;
        tx.commit()?;
        log::info!("database migrated to schema version {n}");
    }
    Ok(())
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction and returns once that transaction is
/// durable: `Ok` when `f` returned `Ok` and its changes were committed, an error otherwise
/// (`f`'s own, or the commit's). `f`'s changes are atomic: on `Err` (or a panic) they are
/// rolled back, and nothing of them is ever visible to others before they are committed.
///
/// Group commit: with `synchronous=FULL` every commit costs an fsync, so concurrent writers
/// of one [`Database`] share one. Their closures run one at a time on the database's writer
/// connection, each in a savepoint inside one open `BEGIN IMMEDIATE` transaction (so a
/// failing one is rolled back alone), and the last of the writers queued at that moment
/// commits for all; the others wait for that commit before they return. While a batch's
/// fsync runs, the next batch queues. `f` sees every change of earlier closures of its
/// batch, as it would have after their commits. A lone writer commits at once, as before.
///
/// Nested calls fail (in this thread the writer is already taken) rather than deadlock.
pub fn write<T, E>(conn: &Conn, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
where
    E: From<rusqlite::Error>,
{
    if WRITING.with(|w| w.get()) {
        return Err(misuse("db::write called inside db::write").into());
    }
    let _flag = Writing::set();
    conn.writer.run(f)
}

thread_local! {
    static WRITING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// This thread is inside [`write()`] until dropped.
struct Writing;

impl Writing {
    fn set() -> Writing {
        WRITING.with(|w| w.set(true));
        Writing
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        WRITING.with(|w| w.set(false));
    }
}

fn misuse(why: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
        Some(why.to_string()),
    )
}

/// The writer of one database: its own connection (opened at the first write), the batch
/// open on it, and how the batches ended.
pub(crate) struct Writer {
    path: PathBuf,
    /// Held while a closure runs or a batch commits: writers queue on it.
    state: Mutex<Batching>,
    /// Writers waiting for `state`: the one that finds none commits.
    queued: AtomicUsize,
    /// Set by the checkpointer when the WAL has grown: the next batch begins after a
    /// checkpoint of its own, so that it can start the WAL over (see [`checkpoint`]).
    restart_wal: AtomicBool,
    ended: Mutex<Ended>,
    ended_changed: Condvar,
}

struct Batching {
    conn: Option<Connection>,
    /// The batch open on `conn` (a transaction begun and not yet ended), if any.
    open: Option<u64>,
    last: u64,
}

#[derive(Default)]
struct Ended {
    /// Every batch up to this one has ended (committed or failed).
    upto: u64,
    /// Recently failed batches with their error (code, message), for their waiters.
    failed: std::collections::VecDeque<(u64, i32, String)>,
}

/// Failed batches remembered: their waiters read them as soon as they are woken.
const FAILED_KEPT: usize = 64;

impl Writer {
    fn new(path: &Path) -> Writer {
        Writer {
            path: path.to_path_buf(),
            state: Mutex::new(Batching {
                conn: None,
                open: None,
                last: 0,
            }),
            queued: AtomicUsize::new(0),
            restart_wal: AtomicBool::new(false),
            ended: Mutex::new(Ended::default()),
            ended_changed: Condvar::new(),
        }
    }

    fn run<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        self.queued.fetch_add(1, Ordering::SeqCst);
        // A panic while holding it is caught below; a poisoned lock only means one was not.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let batch = state.join(&self.path, &self.restart_wal)?;
        let Batching { conn, open, .. } = &mut *state;
        let Some(conn) = conn.as_ref() else {
            return Err(misuse("no writer connection").into());
        };
        let outcome = match conn.execute_batch("SAVEPOINT write") {
            Err(e) => Outcome::Failed(e.into()),
            Ok(()) => match catch_unwind(AssertUnwindSafe(|| f(conn))) {
                Ok(Ok(value)) => match conn.execute_batch("RELEASE write") {
                    Ok(()) => Outcome::Done(value),
                    Err(e) => Outcome::Failed(e.into()),
                },
                Ok(Err(e)) => Outcome::Failed(e),
                Err(panic) => Outcome::Panicked(panic),
            },
        };
        if !matches!(outcome, Outcome::Done(_)) && !conn.is_autocommit() {
            // Only this closure's changes go; the batch's earlier ones stay.
            if let Err(e) = conn.execute_batch("ROLLBACK TO write; RELEASE write") {
                log::error!("cannot roll back a failed write: {e}");
            }
        }
        let ended: Result<(), rusqlite::Error> = if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (I/O error, disk full…): every
            // write of the batch is lost, and its waiters must hear it.
            *open = None;
            let lost = (
                rusqlite::ffi::SQLITE_ABORT,
                "the write transaction was rolled back".to_string(),
            );
            self.end(batch, Some(lost.clone()));
            Err(failure(lost))
        } else if self.queued.load(Ordering::SeqCst) == 0 {
            // Nobody is queued to add to the batch: commit it now, for all of it.
            *open = None;
            let committed = conn.execute_batch("COMMIT");
            if committed.is_err() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            self.end(batch, committed.as_ref().err().map(failure_of));
            committed
        } else {
            // A queued writer joins this batch; the last of them commits it.
            drop(state);
            self.wait(batch)
        };
        match outcome {
            Outcome::Panicked(panic) => std::panic::resume_unwind(panic),
            Outcome::Failed(e) => Err(e),
            Outcome::Done(value) => ended.map(|()| value).map_err(E::from),
        }
    }

    /// Records that `batch` ended (failed with `failure` if any) and wakes its waiters.
    fn end(&self, batch: u64, failure: Option<(i32, String)>) {
        let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        ended.upto = batch;
        if let Some((code, message)) = failure {
            ended.failed.push_back((batch, code, message));
            if ended.failed.len() > FAILED_KEPT {
                ended.failed.pop_front();
            }
        }
        self.ended_changed.notify_all();
    }

    /// Waits until `batch` ended; its error if it failed.
    fn wait(&self, batch: u64) -> Result<(), rusqlite::Error> {
        let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        while ended.upto < batch {
            ended = self.ended_changed.wait(ended).unwrap_or_else(|e| e.into_inner());
        }
        match ended.failed.iter().find(|(b, _, _)| *b == batch) {
            Some((_, code, message)) => Err(failure((*code, message.clone()))),
            None => Ok(()),
        }
    }
}

impl Batching {
    /// The batch to add a write to: the open one, or a new transaction.
    fn join(&mut self, path: &Path, restart_wal: &AtomicBool) -> Result<u64, rusqlite::Error> {
        if let Some(batch) = self.open {
            return Ok(batch);
        }
        if self.conn.is_none() {
            self.conn = Some(connect(path).map_err(|e| misuse(&format!("cannot open the writer connection: {e:#}")))?);
        }
        let Some(conn) = self.conn.as_ref() else {
            return Err(misuse("no writer connection"));
        };
        if restart_wal.swap(false, Ordering::SeqCst) {
            // SQLite starts the WAL over only in a transaction that began with all of it
            // copied into the database file, which under a steady stream of batches never
            // happens by itself: copy the rest now, between batches (`checkpoint`).
            checkpoint::restart(conn);
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        self.last += 1;
        self.open = Some(self.last);
        Ok(self.last)
    }
}

enum Outcome<T, E> {
    Done(T),
    Failed(E),
    Panicked(Box<dyn std::any::Any + Send>),
}

fn failure((code, message): (i32, String)) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message))
}

fn failure_of(e: &rusqlite::Error) -> (i32, String) {
    match e {
        rusqlite::Error::SqliteFailure(err, message) => {
            (err.extended_code, message.clone().unwrap_or_else(|| e.to_string()))
        }
        other => (rusqlite::ffi::SQLITE_ERROR, other.to_string()),
    }
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

    /// `.cargo/config.toml` builds SQLite with a 4 MiB journal spill (a `PUT`'s savepoint
    /// journal stays in memory instead of a temporary file per batch); a build without it
    /// (the setting lost, or overridden by the environment) fails here.
    #[test]
    fn sqlite_keeps_a_writes_journal_in_memory() {
        let conn = Connection::open_in_memory().unwrap();
        let mut options = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = options
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(options.iter().any(|o| o == "STMTJRNL_SPILL=4194304"), "{options:?}");
    }

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

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    /// Many threads writing at once, some of them failing or panicking: every successful
    /// write is committed and visible once `write` returned, no failed one is, and the
    /// writes did share commits.
    #[test]
    fn concurrent_writes_share_commits_and_fail_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("g.db")).unwrap();
        let setup = db.connect().unwrap();
        let made: Result<(), Error> = write(&setup, |tx| {
            Ok(tx.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")?)
        });
        made.unwrap();
        let threads = 8;
        let per_thread = 50;
        std::thread::scope(|scope| {
            for t in 0..threads {
                let conn = db.connect().unwrap();
                scope.spawn(move || {
                    for i in 0..per_thread {
                        let n = t * 1000 + i;
                        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            write(&conn, |tx| -> Result<(), Error> {
                                tx.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                                match i % 5 {
                                    // Fails after its insert: the insert must go with it.
                                    3 => Err(Error::BadRequest("no".into())),
                                    4 if t % 2 == 0 => panic!("a writer panicked"),
                                    _ => Ok(()),
                                }
                            })
                        }));
                        let stored: bool = conn
                            .query_row("SELECT EXISTS (SELECT 1 FROM t WHERE n = ?1)", [n], |r| r.get(0))
                            .unwrap();
                        match result {
                            Ok(Ok(())) => assert!(stored, "acknowledged write {n} is visible"),
                            Ok(Err(_)) | Err(_) => assert!(!stored, "failed write {n} left nothing"),
                        }
                    }
                });
            }
        });
        let check = db.connect().unwrap();
        let expected = (0..threads)
            .map(|t| {
                (0..per_thread)
                    .filter(|i| i % 5 < 3 || (i % 5 == 4 && t % 2 == 1))
                    .count() as i64
            })
            .sum::<i64>();
        assert_eq!(count(&check), expected);
        // The writer still works after panics and failures.
        let again: Result<(), Error> = write(&check, |tx| Ok(tx.execute_batch("INSERT INTO t (n) VALUES (-1)")?));
        again.unwrap();
        assert_eq!(count(&check), expected + 1);
    }

    /// A batch's writers see each other's changes, and a write is visible to the other
    /// connections only once it is committed.
    #[test]
    fn a_write_is_invisible_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("v.db")).unwrap();
        let (a, b) = (db.connect().unwrap(), db.connect().unwrap());
        let made: Result<(), Error> = write(&a, |tx| Ok(tx.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")?));
        made.unwrap();
        let inside: Result<i64, Error> = write(&a, |tx| {
            tx.execute_batch("INSERT INTO t (n) VALUES (1)")?;
            Ok(count(&b))
        });
        assert_eq!(inside.unwrap(), 0, "uncommitted");
        assert_eq!(count(&b), 1, "committed before write returned");
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
