//! WAL checkpoints off the write path (issue 20). With SQLite's automatic checkpoint,
//! the commit that takes the WAL past 1,000 pages copies them into the database file and
//! fsyncs it — inside the group-commit writer's critical section, so every write queued
//! behind it waits (a PUT of the full example writes ~60 pages: a checkpoint every ~16 PUTs).
//! A server instead runs `PRAGMA wal_checkpoint(PASSIVE)` on a thread of its own, on its
//! own connection, at a short interval: a passive checkpoint never blocks writers or
//! readers, and writers keep appending meanwhile.
//!
//! Copying is not enough to keep the WAL small: SQLite writes from the start of the WAL
//! again only in a write transaction that *began* with every frame already copied, and the
//! group-commit writer begins its next batch right after committing the last, before any
//! checkpoint could copy that. Under sustained writes the WAL then started over only after
//! SQLite's automatic checkpoint at [`BACKSTOP_PAGES`], run in a commit inside the writers'
//! turn: it reached 41–48 MB in every `put-metadata` run, and those checkpoints set PUT's
//! p99 (39–65 ms).
//! So when the WAL has reached [`RESTART_PAGES`], the checkpointer catches up with the
//! writers and then asks the writer (`round`), which copies what is left and starts the WAL
//! over (`restart`) on its own connection between two batches: a pause of the writers of
//! about 4–5 ms (p50) on this project's test machine, about four times a second under full
//! load. Rounds wait for it meanwhile, so as not to hold the lock it needs.
//!
//! Durability does not depend on it: a commit is durable once its WAL frames are synced.
//! Connections keep an automatic checkpoint as a backstop at [`BACKSTOP_PAGES`], so the
//! WAL stays bounded if this thread is ever held up (or is not running: the CLI, tests).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::{Database, Writer};

/// The automatic checkpoint every connection keeps, in WAL pages (78 MiB at 4 KiB): well
/// past [`RESTART_PAGES`] and the catch-up rounds after it, so that under full load it is
/// the writer's restart that starts the WAL over, not a commit.
pub const BACKSTOP_PAGES: i64 = 20_000;

/// WAL pages past which the writer is asked to let the WAL start over (32 MiB at 4 KiB).
/// Each restart pauses every writer, so fewer of them shorten PUT's tail: at 8,192 pages
/// (with the backstop at 20,000) p99 was lower than at 2,048 (backstop 10,000) in 14 of 17
/// alternating 5-second rounds, 11.6–24.5 ms against 11.6–26.3, and throughput 10 % higher;
/// in 20-second rounds, where the growing database file set both tails near 25 ms, it was
/// the same (BENCHMARKS.md, "Issue 20, ninth pass"). The price is disk: the `-wal` file,
/// which SQLite reuses rather than shrinks, reached 53 MB under full load instead of 18 MB.
pub const RESTART_PAGES: i64 = 8_192;

// The WAL grows on past the threshold while the checkpointer catches up (to 9,000 pages
// and more under full load): the backstop must stay well clear of that.
const _: () = assert!(BACKSTOP_PAGES >= 2 * RESTART_PAGES);

/// The shortest wait between two checkpointer rounds, and the longest. Each round copies
/// what came in since the last, and copying into pages the database file did not have can
/// cost much CPU (on this project's test machine, a virtual machine, up to 5–10 ms per MiB:
/// the host backs a new page-cache page at its first touch). At a fixed 100 ms, a round
/// under full `PUT` load copied 3,000–5,000 WAL pages at once, in 23–57 ms, a burst that
/// took one of two cores from the requests; shorter rounds spread the same work out, and
/// PUT's p99 fell by about a quarter (BENCHMARKS.md, "Issue 20, eighth pass"). Rounds are
/// not all short: every round also copies again the pages every write changes (indexes,
/// counts), so [`next_wait`] keeps each round's copy near [`ROUND_PAGES`].
const MIN_INTERVAL: Duration = Duration::from_millis(5);
/// See [`MIN_INTERVAL`]; also what an idle server waits: it wakes ten times a second.
const MAX_INTERVAL: Duration = Duration::from_millis(100);

/// About how many WAL frames a round should copy (1 MiB at 4 KiB pages).
const ROUND_PAGES: i64 = 256;

/// The wait after a round that found `now`, the round before having found `before`, with
/// `wait` between them: half as long when the round copied [`ROUND_PAGES`] or more, twice
/// as long when it copied under a quarter of that (or failed: `None`), between
/// [`MIN_INTERVAL`] and [`MAX_INTERVAL`]. Under full load rounds follow each other every
/// 5–20 ms; a server writing little, or nothing, checkpoints every 100 ms.
fn next_wait(wait: Duration, before: Option<Checkpointed>, now: Option<Checkpointed>) -> Duration {
    let copied = match (before, now) {
        // The WAL started over in between: what it holds now came in since.
        (Some(before), Some(now)) if now.wal_pages < before.wal_pages || now.copied < before.copied => now.copied,
        (Some(before), Some(now)) => now.copied - before.copied,
        (None, Some(now)) => now.copied,
        (_, None) => 0,
    };
    let wait = if copied >= ROUND_PAGES {
        wait / 2
    } else if copied < ROUND_PAGES / 4 {
        wait * 2
    } else {
        wait
    };
    wait.clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// What one checkpoint found: pages in the WAL, and how many of them are now in the
/// database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpointed {
    pub wal_pages: i64,
    pub copied: i64,
}

/// One passive checkpoint on `conn`: copies what no reader still needs, waits for nobody.
pub fn passive(conn: &Connection) -> rusqlite::Result<Checkpointed> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(Checkpointed {
            wal_pages: r.get(1)?,
            copied: r.get(2)?,
        })
    })
}

/// How long [`restart`] waits for readers still using the WAL's older frames.
const RESTART_WAIT: Duration = Duration::from_millis(5);

/// Copies the rest of the WAL into the database file and starts it over, on the writer's
/// connection between two batches (no transaction open): the writers queue meanwhile, so
/// it waits at most [`RESTART_WAIT`] for readers of older frames, and leaves the WAL as it
/// is if one is still there (the checkpointer's next round asks again).
pub(super) fn restart(conn: &Connection) {
    if let Err(e) = conn.busy_timeout(RESTART_WAIT) {
        log::warn!("checkpoint: {e}");
        return;
    }
    let started = std::time::Instant::now();
    match conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get::<_, i64>(0)) {
        Ok(0) => log::trace!("checkpoint: the WAL started over in {:?}", started.elapsed()),
        Ok(_) => log::debug!("checkpoint: the WAL is still read, not started over"),
        Err(e) => log::debug!("checkpoint: {e}"),
    }
    if let Err(e) = conn.busy_timeout(super::BUSY_TIMEOUT) {
        log::warn!("checkpoint: cannot restore the busy timeout: {e}");
    }
}

/// At most this many more checkpoints before asking for a restart ([`copy_for_restart`]).
const CATCH_UP_ROUNDS: usize = 4;

/// A checkpoint that copied fewer pages than this has caught up with the writers.
const CAUGHT_UP_PAGES: i64 = 256;

/// One round of the checkpointer: a [`passive`] checkpoint on `conn`, and when the WAL has
/// reached [`RESTART_PAGES`], the request that `writer` lets it start over.
///
/// `None`, with nothing done, while the writer has yet to act on a restart a round asked
/// for: its own checkpoint is about to copy the same frames, and a round running at that
/// moment holds the checkpoint lock it needs: with rounds every 5 ms, restarts waited out
/// [`RESTART_WAIT`] (p90 8.4–10.5 ms instead of 5.2–7.1) and a few gave up.
fn round(conn: &Connection, writer: &Writer) -> rusqlite::Result<Option<Checkpointed>> {
    if writer.restart_wal.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let (done, restart) = copy_for_restart(|| passive(conn))?;
    if restart {
        writer.restart_wal.store(true, Ordering::SeqCst);
    }
    Ok(Some(done))
}

/// One checkpoint by `copy`, and when the WAL has reached [`RESTART_PAGES`], more of them
/// until one copies fewer than [`CAUGHT_UP_PAGES`] (at most [`CATCH_UP_ROUNDS`] more): what
/// the writer's restart then copies in its turn, while every writer waits, is only what
/// came in during the last. Without them it copied what came in during the whole round,
/// 1,100–3,000 pages, p50 11 ms; with them, p50 5–7 ms. The last result, and whether to ask
/// for the restart.
fn copy_for_restart(
    mut copy: impl FnMut() -> rusqlite::Result<Checkpointed>,
) -> rusqlite::Result<(Checkpointed, bool)> {
    let mut done = copy()?;
    if done.wal_pages < RESTART_PAGES {
        return Ok((done, false));
    }
    for _ in 0..CATCH_UP_ROUNDS {
        let before = done.copied;
        done = copy()?;
        // Fewer than before: another process started the WAL over meanwhile.
        if done.copied.saturating_sub(before) < CAUGHT_UP_PAGES {
            break;
        }
    }
    Ok((done, true))
}

/// The thread running `round` every 5–100 ms (`next_wait`) until shut down.
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// What the last checkpoint found.
    last: Arc<Mutex<Option<Checkpointed>>>,
}

impl Checkpointer {
    /// Starts checkpointing `database` on a connection of its own.
    pub fn start(database: &Database) -> anyhow::Result<Checkpointer> {
        let conn = super::connect(database.path())?;
        let writer = database.writer.clone();
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopping = stop.clone();
        let last = Arc::new(Mutex::new(None));
        let found = last.clone();
        let thread = std::thread::Builder::new().name("checkpoint".into()).spawn(move || {
            let (lock, wake) = &*stopping;
            let mut stopped = lock.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut wait, mut before) = (MAX_INTERVAL, None);
            while !*stopped {
                stopped = wake
                    .wait_timeout(stopped, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                let now = match round(&conn, &writer) {
                    Ok(Some(done)) => {
                        *found.lock().unwrap_or_else(PoisonError::into_inner) = Some(done);
                        Some(done)
                    }
                    // The writer's restart is next; nothing found, so the next round later.
                    Ok(None) => None,
                    // Busy with another checkpoint, say: the next round tries again.
                    Err(e) => {
                        log::debug!("checkpoint: {e}");
                        None
                    }
                };
                wait = next_wait(wait, before, now);
                log::trace!("checkpoint: {now:?}; the next in {wait:?}");
                before = now.or(before);
            }
        })?;
        Ok(Checkpointer {
            stop,
            thread: Mutex::new(Some(thread)),
            last,
        })
    }

    /// What the thread's last checkpoint found (`None` before the first).
    pub fn last(&self) -> Option<Checkpointed> {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the thread after its current checkpoint, if any.
    pub fn shutdown(&self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    /// A server dropped without `shutdown` (a test's) leaves no thread behind.
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes no longer checkpoint below the backstop; a passive checkpoint empties the
    /// WAL into the database file, and the thread does it without being asked.
    #[test]
    fn writers_leave_checkpoints_to_the_checkpointer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = crate::db::Database::open(&path).unwrap();
        let conn = db.connect().unwrap();
        let pages: i64 = conn
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(pages, BACKSTOP_PAGES);
        conn.execute_batch("CREATE TABLE big (b BLOB)").unwrap();
        for _ in 0..30 {
            // 30 × 200 KiB: about 1,500 pages, past SQLite's default of 1,000.
            conn.execute("INSERT INTO big VALUES (zeroblob(204800))", []).unwrap();
        }
        let before = passive(&conn).unwrap();
        assert!(
            before.wal_pages > 1_000,
            "the writes checkpointed themselves: {before:?}"
        );
        assert_eq!(before.copied, before.wal_pages);

        conn.execute("INSERT INTO big VALUES (zeroblob(204800))", []).unwrap();
        let checkpointer = Checkpointer::start(&db).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !checkpointer
            .last()
            .is_some_and(|c| c.wal_pages > 0 && c.copied == c.wal_pages)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint ran: {:?}",
                checkpointer.last()
            );
            std::thread::yield_now();
        }
        checkpointer.shutdown();
        // Twice is harmless (the server's shutdown and a drop may both ask).
        checkpointer.shutdown();
    }

    /// A new database with a table `big (b BLOB)`, a connection that writes through the
    /// group-commit writer, and one of the checkpointer's own.
    fn with_table_big() -> (tempfile::TempDir, Database, crate::db::Conn, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Database::open(&path).unwrap();
        let conn = db.connect().unwrap();
        let checkpointing = crate::db::connect(&path).unwrap();
        crate::db::write(&conn, |c| c.execute_batch("CREATE TABLE big (b BLOB)")).unwrap();
        (dir, db, conn, checkpointing)
    }

    /// A checkpoint that runs while every batch begins before the last one is copied (the
    /// server's writer under sustained load) never lets SQLite start the WAL over by
    /// itself; past [`RESTART_PAGES`] the writer's own checkpoint between batches does.
    #[test]
    fn the_wal_starts_over_while_batches_follow_each_other() {
        let (_dir, db, conn, checkpointing) = with_table_big();
        let mut largest = 0;
        let mut restarted = false;
        // Enough 100-page batches to pass the threshold, and some after it.
        for _ in 0..RESTART_PAGES / 100 + 15 {
            crate::db::write(&conn, |c| {
                // A round while this batch is open: it copies everything but this batch.
                let done = round(&checkpointing, &db.writer)?.expect("the writer took the request");
                restarted |= done.wal_pages < largest;
                largest = largest.max(done.wal_pages);
                // 100 pages.
                c.execute("INSERT INTO big VALUES (zeroblob(409600))", [])
            })
            .unwrap();
        }
        assert!(restarted, "the WAL never started over");
        assert!(largest < RESTART_PAGES + 300, "the WAL grew to {largest} pages");
    }

    /// While the writer has a restart to do, a round does nothing (it would hold the lock the
    /// restart needs); once the writer's next batch has begun, rounds copy again.
    #[test]
    fn no_round_while_the_writer_has_a_restart_to_do() {
        let (_dir, db, conn, checkpointing) = with_table_big();
        let insert = |c: &Connection| c.execute_batch("INSERT INTO big VALUES (zeroblob(409600))");
        crate::db::write(&conn, insert).unwrap();
        db.writer.restart_wal.store(true, Ordering::SeqCst);
        assert_eq!(round(&checkpointing, &db.writer).unwrap(), None);
        assert!(
            db.writer.restart_wal.load(Ordering::SeqCst),
            "the request stays for the writer"
        );

        crate::db::write(&conn, insert).unwrap();
        assert!(
            !db.writer.restart_wal.load(Ordering::SeqCst),
            "the writer took the request"
        );
        let done = round(&checkpointing, &db.writer)
            .unwrap()
            .expect("a round once the writer acted");
        assert!(done.wal_pages > 0 && done.copied == done.wal_pages, "{done:?}");
    }

    /// Rounds come sooner while each copies [`ROUND_PAGES`] or more, later while each copies
    /// under a quarter of that, always between [`MIN_INTERVAL`] and [`MAX_INTERVAL`].
    #[test]
    fn rounds_come_as_often_as_the_wal_grows() {
        let found = |wal_pages, copied| Some(Checkpointed { wal_pages, copied });
        let ms = |n| Duration::from_millis(n);
        // Much copied: half the wait, down to the shortest.
        assert_eq!(next_wait(ms(100), found(100, 100), found(400, 400)), ms(50));
        assert_eq!(next_wait(ms(8), found(100, 100), found(400, 400)), MIN_INTERVAL);
        // The WAL started over in between: all it holds came in since.
        assert_eq!(next_wait(ms(40), found(2_100, 2_100), found(300, 300)), ms(20));
        assert_eq!(next_wait(ms(40), found(2_100, 2_100), found(30, 30)), ms(80));
        // The first round, when the server starts on a WAL another process left.
        assert_eq!(next_wait(ms(100), None, found(5_000, 5_000)), ms(50));
        // Some copied: the same wait.
        assert_eq!(next_wait(ms(20), found(100, 100), found(200, 200)), ms(20));
        // Little or nothing copied, or a failed round: twice the wait, up to the longest.
        assert_eq!(next_wait(ms(20), found(100, 100), found(110, 110)), ms(40));
        assert_eq!(next_wait(ms(80), found(100, 100), found(100, 100)), MAX_INTERVAL);
        assert_eq!(next_wait(MAX_INTERVAL, found(100, 100), found(100, 100)), MAX_INTERVAL);
        assert_eq!(next_wait(ms(10), found(100, 50), None), ms(20));
        // Frames readers still held, copied by a later round: counted when copied.
        assert_eq!(next_wait(ms(20), found(600, 100), found(600, 600)), ms(10));
    }

    /// Past [`RESTART_PAGES`] the checkpointer copies again until a round copies little (or
    /// it has tried [`CATCH_UP_ROUNDS`] more times), and only then asks for the restart.
    #[test]
    fn a_restart_is_asked_for_once_the_copies_caught_up() {
        fn run(found: &[(i64, i64)]) -> (usize, Checkpointed, bool) {
            let mut calls = 0;
            let (done, restart) = copy_for_restart(|| {
                let (wal_pages, copied) = found[calls];
                calls += 1;
                Ok(Checkpointed { wal_pages, copied })
            })
            .unwrap();
            (calls, done, restart)
        }
        let small = run(&[(100, 100)]);
        assert_eq!((small.0, small.2), (1, false));
        let (at, more) = (RESTART_PAGES, RESTART_PAGES + 1_000);
        // The threshold copied, then 1,000 more, then 100: caught up.
        let (calls, done, restart) = run(&[(at, at), (more, more), (more + 100, more + 100)]);
        assert_eq!((calls, done.copied, restart), (3, more + 100, true));
        // Never catching up: asked for after the last round allowed all the same.
        let busy: Vec<(i64, i64)> = (0..10).map(|n| (at + n * 3_000, at + n * 3_000)).collect();
        let (calls, _, restart) = run(&busy);
        assert_eq!((calls, restart), (1 + CATCH_UP_ROUNDS, true));
        // Copied fewer than before (another process restarted the WAL): caught up.
        let (calls, _, restart) = run(&[(at, at), (300, 300)]);
        assert_eq!((calls, restart), (2, true));
    }
}
