//! What this machine charges for writing into page-cache pages a file did not have before,
//! against writing over pages it has: a figure printed beside the write scenarios, because
//! a database that grows (every new DOI's row) pays it for every page it adds.
//!
//! On bare metal the two differ little. In a virtual machine whose guest hands free memory
//! back to the host (virtio-balloon's free page reporting, as on this project's Firecracker
//! machine), a page-cache page the guest allocates may be one the host has taken back, and
//! touching it first costs a fault on the host: the eighth pass of issue 20 (BENCHMARKS.md)
//! found the checkpointer's copies into the growing database file a third of the server's
//! CPU under `PUT` load for that reason. Both the raw baselines and tinydoi
//! pay it for the same rows, so the ratios stay fair; the figure says how much of every
//! absolute write figure is the machine.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

/// Bytes written in each measurement: well past what the kernel keeps of recently freed
/// pages, so "new" is mostly pages the file never had on this machine recently.
const SIZE: u64 = 128 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// Milliseconds per MiB written, once into a new file and once over the same file.
pub struct FileGrowth {
    pub new_ms_per_mib: f64,
    pub rewritten_ms_per_mib: f64,
}

pub fn measure(dir: &Path) -> anyhow::Result<FileGrowth> {
    measure_bytes(dir, SIZE)
}

fn measure_bytes(dir: &Path, size: u64) -> anyhow::Result<FileGrowth> {
    let path = dir.join("file-growth");
    let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    let chunk: Vec<u8> = (0..CHUNK).map(|i| (i % 251) as u8).collect();
    let pass = || -> std::io::Result<f64> {
        let started = Instant::now();
        let mut at = 0;
        while at < size {
            file.write_all_at(&chunk, at)?;
            at += CHUNK as u64;
        }
        Ok(started.elapsed().as_secs_f64() * 1000.0 / (size as f64 / (1 << 20) as f64))
    };
    let result = pass().and_then(|new| Ok((new, pass()?)));
    // Not fsynced: the cost measured is the page cache's, which is what a checkpoint's
    // copy pays before its one fsync.
    drop(file);
    std::fs::remove_file(&path)?;
    let (new_ms_per_mib, rewritten_ms_per_mib) = result?;
    Ok(FileGrowth {
        new_ms_per_mib,
        rewritten_ms_per_mib,
    })
}

impl std::fmt::Display for FileGrowth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "file writes (page cache, no fsync): {:.2} ms per MiB into a new file, {:.2} ms per MiB over the same \
             file ({:.1}×)",
            self.new_ms_per_mib,
            self.rewritten_ms_per_mib,
            self.new_ms_per_mib / self.rewritten_ms_per_mib.max(f64::MIN_POSITIVE)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_passes_are_timed_and_the_file_is_gone_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let growth = measure_bytes(dir.path(), 4 * CHUNK as u64).unwrap();
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(growth.new_ms_per_mib > 0.0 && growth.rewritten_ms_per_mib > 0.0);
        assert!(left.is_empty(), "the probe left {left:?} behind");
        assert!(growth.to_string().contains("ms per MiB into a new file"));
    }
}
