//! The access log, written by its own thread: a request hands its line to a bounded queue
//! and never waits for the log's lock or its `write` (one of each per request before).
//! When the queue is full the line is dropped and counted, and the count is logged before
//! the next line that gets through: a slow terminal must not slow the server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};

/// Lines waiting at most; past it new ones are dropped.
const QUEUE: usize = 4096;

enum Message {
    Line(String),
    /// Answered once every line queued before it has been written.
    Flush(SyncSender<()>),
}

pub struct AccessLog {
    queue: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

impl AccessLog {
    /// A log whose thread hands each line (and each note of dropped lines) to `sink`.
    pub fn start(capacity: usize, mut sink: impl FnMut(&str) + Send + 'static) -> std::io::Result<AccessLog> {
        let (queue, lines): (SyncSender<Message>, Receiver<Message>) = sync_channel(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        std::thread::Builder::new().name("access-log".into()).spawn(move || {
            for message in lines {
                let missed = counted.swap(0, Ordering::Relaxed);
                if missed > 0 {
                    sink(&format!(
                        "{missed} access log lines dropped (the log could not keep up)"
                    ));
                }
                match message {
                    Message::Line(line) => sink(&line),
                    Message::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        })?;
        Ok(AccessLog { queue, dropped })
    }

    /// Queues `line`, or drops and counts it when the queue is full; never blocks.
    pub fn record(&self, line: String) {
        match self.queue.try_send(Message::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits until every line recorded before has been written (tests, shutdown).
    pub fn flush(&self) {
        let (done, wait) = sync_channel(1);
        if self.queue.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }
}

/// The process's access log (target `access`, level info), started on first use.
fn global() -> Option<&'static AccessLog> {
    static LOG: OnceLock<Option<AccessLog>> = OnceLock::new();
    LOG.get_or_init(|| {
        AccessLog::start(QUEUE, |line| log::info!(target: "access", "{line}"))
            .map_err(|e| log::error!("cannot start the access log thread, no access log: {e}"))
            .ok()
    })
    .as_ref()
}

/// Whether access lines would be written at all (the level of target `access`).
pub fn enabled() -> bool {
    log::log_enabled!(target: "access", log::Level::Info)
}

/// Queues one access log line.
pub fn record(line: String) {
    if let Some(log) = global() {
        log.record(line);
    }
}

/// Waits until every access line recorded so far has been written: the server's shutdown
/// calls it, and tests that read the log do before reading it.
pub fn flush() {
    if let Some(log) = global() {
        log.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::sync::Mutex;

    #[test]
    fn a_full_queue_drops_and_counts_without_blocking() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let (got_first, first) = channel();
        let (release, released) = channel::<()>();
        let released = Mutex::new(released);
        let out = written.clone();
        let log = AccessLog::start(2, move |line: &str| {
            out.lock().unwrap().push(line.to_string());
            if line == "1" {
                let _ = got_first.send(());
                let _ = released.lock().unwrap().recv();
            }
        })
        .unwrap();
        log.record("1".into());
        // The thread holds line 1 in its sink: the queue's two places are free.
        first.recv().unwrap();
        for n in 2..=11 {
            log.record(n.to_string());
        }
        release.send(()).unwrap();
        log.flush();
        assert_eq!(
            *written.lock().unwrap(),
            ["1", "8 access log lines dropped (the log could not keep up)", "2", "3"]
        );
    }

    #[test]
    fn flush_waits_for_the_lines_before_it() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let out = written.clone();
        let log = AccessLog::start(16, move |line: &str| out.lock().unwrap().push(line.to_string())).unwrap();
        for n in 0..10 {
            log.record(n.to_string());
        }
        log.flush();
        assert_eq!(written.lock().unwrap().len(), 10);
    }
}
