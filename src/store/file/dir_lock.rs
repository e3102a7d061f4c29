//! An advisory lock on the credentials directory: the files backend keeps its state in one process,
//! so a second process (or a second store in the same process) must not write the same files.
//! The kernel drops the lock when the holder dies, even on `kill -9`.

use std::fs::File;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::store::StoreError;

const LOCK_FILE: &str = ".lock";
const RETRY_EVERY: Duration = Duration::from_millis(20);

pub(super) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Waits up to `wait` because a store dropped a moment ago may still be compacting on its thread.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let file = crate::private_files::private_options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        crate::private_files::private_file(&path)?;
        let deadline = Instant::now() + wait;
        loop {
            if try_lock(&file)? {
                return Ok(Self { _file: file });
            }
            if Instant::now() >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "{} is in use by another gcli2api store (lock file {LOCK_FILE})",
                    dir.display()
                )));
            }
            std::thread::sleep(RETRY_EVERY);
        }
    }
}

/// `flock(LOCK_EX | LOCK_NB)` on Unix, through the standard library (no unsafe code here).
fn try_lock(file: &File) -> io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(err)) if err.kind() == io::ErrorKind::Interrupted => {
            Ok(false)
        }
        Err(std::fs::TryLockError::Error(err)) => Err(err),
    }
}
