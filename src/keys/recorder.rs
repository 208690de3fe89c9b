//! Writes what authentication observes — key `lastUsedAt` and failure audit events — from
//! a background thread with its own connection, so a request never waits for (or fails on)
//! these writes. `lastUsedAt` is sent at most once per key per minute.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, RwLock};
use std::thread::JoinHandle;

use crate::db::{self, audit::Event};

/// `lastUsedAt` is written at most this often per key (CONTRACT §3).
pub const LAST_USED_EVERY_SECS: i64 = 60;
/// Pending writes kept before new ones are dropped (an attacker's failed logins must not
/// grow memory without bound).
const QUEUE: usize = 10_000;
/// Writes per transaction, so one fsync covers a burst.
const BATCH: usize = 500;
/// Past this many remembered keys, the throttle map forgets the stale ones.
const MAX_REMEMBERED: usize = 10_000;

enum Msg {
    KeyUsed {
        id: String,
        at: i64,
    },
    Audit {
        event: Event,
        at: i64,
    },
    /// Answered once everything sent before it is written.
    Flush(mpsc::Sender<()>),
}

pub struct Recorder {
    sender: Mutex<Option<SyncSender<Msg>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Key id → when its use was last sent for writing.
    last_sent: RwLock<HashMap<String, i64>>,
}

impl Recorder {
    /// A recorder that drops everything (an `App` without a running server).
    pub fn disabled() -> Recorder {
        Recorder {
            sender: Mutex::new(None),
            thread: Mutex::new(None),
            last_sent: RwLock::new(HashMap::new()),
        }
    }

    /// Starts the writer thread on `conn`, a connection of its own.
    pub fn start(conn: db::Conn) -> anyhow::Result<Recorder> {
        let (sender, receiver) = mpsc::sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || write_loop(&conn, &receiver))
            .map_err(|e| anyhow::anyhow!("cannot start the recorder thread: {e}"))?;
        Ok(Recorder {
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
            last_sent: RwLock::new(HashMap::new()),
        })
    }

    /// Notes that key `id` authenticated at `now`; written unless sent within the last minute.
    pub fn key_used(&self, id: &str, now: i64) {
        let recent = |last_sent: &HashMap<String, i64>| {
            last_sent
                .get(id)
                .is_some_and(|at| now - at < LAST_USED_EVERY_SECS && now >= *at)
        };
        // Every authenticated request asks; a shared lock lets them ask at once.
        if recent(&self.last_sent.read().unwrap_or_else(|e| e.into_inner())) {
            return;
        }
        {
            let mut last_sent = self.last_sent.write().unwrap_or_else(|e| e.into_inner());
            if recent(&last_sent) {
                return;
            }
            if last_sent.len() >= MAX_REMEMBERED {
                last_sent.retain(|_, at| now - *at < LAST_USED_EVERY_SECS);
            }
            last_sent.insert(id.to_string(), now);
        }
        self.send(Msg::KeyUsed {
            id: id.to_string(),
            at: now,
        });
    }

    pub fn audit(&self, event: Event, now: i64) {
        self.send(Msg::Audit { event, at: now });
    }

    fn send(&self, msg: Msg) {
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        let Some(sender) = sender.as_ref() else { return };
        match sender.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => log::warn!("recorder queue full: dropped a lastUsedAt/audit write"),
            Err(TrySendError::Disconnected(_)) => log::warn!("recorder stopped: dropped a lastUsedAt/audit write"),
        }
    }

    /// Waits until everything recorded so far is in the database.
    pub fn flush(&self) {
        let (ack, done) = mpsc::channel();
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(sender) = sender {
            // A blocking send: a flush is never dropped, even when the queue is full.
            if sender.send(Msg::Flush(ack)).is_ok() {
                let _ = done.recv();
            }
        }
    }

    /// Writes what is pending and stops the thread.
    pub fn shutdown(&self) {
        drop(self.sender.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs until every sender is gone, then returns having written everything received.
fn write_loop(conn: &db::Conn, receiver: &Receiver<Msg>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(msg) => batch.push(msg),
                Err(_) => break,
            }
        }
        let result = db::write(conn, |tx| -> rusqlite::Result<()> {
            for msg in &batch {
                match msg {
                    Msg::KeyUsed { id, at } => db::keys::touch(tx, id, *at)?,
                    Msg::Audit { event, at } => db::audit::record(tx, event, *at)?,
                    Msg::Flush(_) => {}
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            log::warn!("recorder: could not write {} pending records: {e}", batch.len());
        }
        for msg in batch {
            if let Msg::Flush(ack) = msg {
                let _ = ack.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        (dir, path)
    }

    #[test]
    fn audit_events_are_written_by_flush_and_shutdown() {
        let (_dir, path) = temp_db();
        let recorder = Recorder::start(db::open(&path).unwrap()).unwrap();
        recorder.audit(Event::for_client("DEMO.REPO", "auth.failed"), 10);
        recorder.flush();
        let conn = db::open(&path).unwrap();
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count(&conn), 1);
        recorder.audit(Event::for_client("DEMO.REPO", "auth.failed"), 11);
        recorder.shutdown();
        assert_eq!(count(&conn), 2);
        // After shutdown nothing is queued and flush returns at once.
        recorder.audit(Event::for_client("DEMO.REPO", "auth.failed"), 12);
        recorder.flush();
        assert_eq!(count(&conn), 2);
    }

    #[test]
    fn key_use_is_sent_once_a_minute() {
        let recorder = Recorder::disabled();
        recorder.key_used("k", 100);
        let sent = |r: &Recorder| r.last_sent.read().unwrap().get("k").copied();
        assert_eq!(sent(&recorder), Some(100));
        recorder.key_used("k", 159);
        assert_eq!(sent(&recorder), Some(100));
        recorder.key_used("k", 160);
        assert_eq!(sent(&recorder), Some(160));
    }
}
