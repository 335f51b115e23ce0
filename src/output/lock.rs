//! An exclusive lock per output file, held for the whole run, so two overlapping runs (a slow
//! nightly job and its next start) write their files one after the other instead of mixing one
//! run's report with the other's credit table.
//!
//! The lock is an OS file lock on a hidden `.NAME.lock` beside the output. The lock file is left
//! in place: deleting it on exit would let a third run lock a fresh file while the second still
//! holds the old one.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Locks held until dropped.
#[derive(Debug, Default)]
pub struct Locks(Vec<File>);

fn lock_path(output: &Path) -> Result<PathBuf> {
    let name = output.file_name().with_context(|| format!("{} is not a file name", output.display()))?;
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(dir.join(format!(".{}.lock", name.to_string_lossy())))
}

/// Locks every output, waiting up to `wait` for a run that holds one of them.
pub fn acquire(outputs: &[&Path], wait: Duration) -> Result<Locks> {
    // A device or a pipe (`-o /dev/null`) is not a file two runs could leave half-written.
    let files = outputs.iter().filter(|o| !super::is_special(o));
    let mut paths: Vec<(PathBuf, &Path)> = files.map(|o| Ok((lock_path(o)?, *o))).collect::<Result<_>>()?;
    // A fixed order, so two runs locking the same set cannot deadlock.
    paths.sort();
    paths.dedup_by(|a, b| a.0 == b.0);
    let mut held = Locks::default();
    for (p, output) in paths {
        if let Some(dir) = p.parent() {
            if !dir.is_dir() {
                bail!("cannot write into {}: the folder does not exist", dir.display());
            }
        }
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .with_context(|| format!("opening lock file {}", p.display()))?;
        let start = Instant::now();
        let mut told = false;
        loop {
            match f.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if start.elapsed() >= wait {
                        bail!(
                            "another touchpath run is writing {} (it holds {}; waited {:.1} s): try again later or raise --lock-wait",
                            output.display(),
                            p.display(),
                            start.elapsed().as_secs_f64()
                        );
                    }
                    if !told {
                        crate::log::info("waiting", &format!("waiting for another touchpath run that holds {}", p.display()));
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(TryLockError::Error(e)) => return Err(e).with_context(|| format!("locking {}", p.display())),
            }
        }
        held.0.push(f);
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.csv");
        let first = acquire(&[&out], Duration::ZERO).unwrap();
        let err = acquire(&[&out], Duration::from_millis(250)).unwrap_err();
        assert!(err.to_string().contains("another touchpath run"), "{err}");
        drop(first);
        acquire(&[&out], Duration::ZERO).unwrap();
        assert!(dir.path().join(".r.csv.lock").exists());
    }
}
