//! WAL checkpoints off the write path (issue 20). With SQLite's automatic checkpoint,
//! the commit that takes the WAL past 1,000 pages copies them into the database file and
//! fsyncs it — inside the group-commit writer's critical section, so every write queued
//! behind it waits (a PUT of the full example writes ~60 pages: a checkpoint every ~16 PUTs).
//! A server instead runs `PRAGMA wal_checkpoint(PASSIVE)` on a thread of its own, on its
//! own connection, at a short interval: a passive checkpoint never blocks writers or
//! readers, and writers keep appending meanwhile.
//!
//! Durability does not depend on it: a commit is durable once its WAL frames are synced.
//! Connections keep an automatic checkpoint as a backstop at [`BACKSTOP_PAGES`], so the
//! WAL stays bounded if this thread is ever held up (or is not running: the CLI, tests).

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// The automatic checkpoint every connection keeps, in WAL pages (40 MiB at 4 KiB).
pub const BACKSTOP_PAGES: i64 = 10_000;

/// How often the server's checkpointer runs.
pub const INTERVAL: Duration = Duration::from_millis(100);

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

/// The thread running [`passive`] every [`INTERVAL`] until shut down.
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// What the last checkpoint found.
    last: Arc<Mutex<Option<Checkpointed>>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` on a connection of its own.
    pub fn start(path: &Path) -> anyhow::Result<Checkpointer> {
        let conn = super::connect(path)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopping = stop.clone();
        let last = Arc::new(Mutex::new(None));
        let found = last.clone();
        let thread = std::thread::Builder::new().name("checkpoint".into()).spawn(move || {
            let (lock, wake) = &*stopping;
            let mut stopped = lock.lock().unwrap_or_else(PoisonError::into_inner);
            while !*stopped {
                stopped = wake
                    .wait_timeout(stopped, INTERVAL)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                match passive(&conn) {
                    Ok(done) => *found.lock().unwrap_or_else(PoisonError::into_inner) = Some(done),
                    // Busy with another checkpoint, say: the next round tries again.
                    Err(e) => log::debug!("checkpoint: {e}"),
                }
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
        let checkpointer = Checkpointer::start(&path).unwrap();
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
}
