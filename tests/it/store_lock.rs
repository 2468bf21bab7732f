//! The per-session lock: one holder at a time across threads and processes, a bounded wait
//! that names the lock file, release on drop, and no contention between different sessions.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::store_support::{key, TempDir};
use authcli::store::{ignore_warnings, FileStore, StoreError};

const CHILD_ENV: &str = "AUTHCLI_TEST_LOCK_CHILD_DIR";
const ITERATIONS: u32 = 10;

fn store(dir: &Path) -> FileStore {
    FileStore::new(dir).with_warnings(ignore_warnings())
}

/// One critical section: claims an "inside" marker that must not exist (so two holders at once
/// are caught), bumps a counter by read-sleep-write (so lost updates are caught), and leaves.
fn critical_section(dir: &Path) {
    let inside = dir.join("inside");
    if let Err(e) = fs::File::create_new(&inside) {
        panic!("two holders inside the lock at once ({e})");
    }
    let counter = dir.join("counter");
    let n: u32 = fs::read_to_string(&counter)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    std::thread::sleep(Duration::from_millis(2));
    fs::write(&counter, (n + 1).to_string()).unwrap();
    fs::remove_file(&inside).unwrap();
}

fn counter(dir: &Path) -> u32 {
    fs::read_to_string(dir.join("counter"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn take_turns(dir: &Path) {
    let store = store(&dir.join("sessions"));
    for _ in 0..ITERATIONS {
        let _lock = store.lock(&key("shared")).unwrap();
        critical_section(dir);
    }
}

/// A competing process, started by `processes_hold_the_lock_one_at_a_time`.
#[test]
#[ignore = "child process of store_lock::processes_hold_the_lock_one_at_a_time"]
fn lock_child() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        take_turns(Path::new(&dir));
    }
}

#[test]
fn threads_hold_the_lock_one_at_a_time() {
    let dir = Arc::new(TempDir::new("lock-threads"));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let dir = Arc::clone(&dir);
            std::thread::spawn(move || take_turns(dir.path()))
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(counter(dir.path()), 6 * ITERATIONS);
}

#[test]
fn processes_hold_the_lock_one_at_a_time() {
    let dir = TempDir::new("lock-processes");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "store_lock::lock_child",
                    "--ignored",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, dir.path())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    take_turns(dir.path());
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child saw two holders");
    }
    assert_eq!(counter(dir.path()), 4 * ITERATIONS);
}

#[test]
fn a_held_lock_times_out_with_an_error_naming_the_lock_file() {
    let dir = TempDir::new("lock-timeout");
    let holder = store(&dir.sessions());
    let waiter = store(&dir.sessions()).with_lock_timeout(Duration::from_millis(300));
    let key = key("default");
    let held = holder.lock(&key).unwrap();
    assert_eq!(held.path(), Some(holder.lock_path(&key).as_path()));

    let err = waiter.lock(&key).unwrap_err();
    assert!(matches!(err, StoreError::LockTimeout { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&holder.lock_path(&key).display().to_string()),
        "{message}"
    );
    assert_eq!(err.exit_code(), authcli::ExitCode::Other);

    // Dropping the guard releases the lock: the same short wait now succeeds.
    drop(held);
    let _again = waiter.lock(&key).unwrap();
}

#[test]
fn a_waiter_gets_the_lock_when_the_holder_lets_go() {
    let dir = TempDir::new("lock-handover");
    let held = store(&dir.sessions()).lock(&key("default")).unwrap();
    let released = Arc::new(AtomicBool::new(false));
    let (contended_tx, contended) = std::sync::mpsc::channel();
    let sessions = dir.sessions();
    let waiter = {
        let released = Arc::clone(&released);
        std::thread::spawn(move || {
            // The lock is really held: a short attempt times out ...
            let quick = store(&sessions).with_lock_timeout(Duration::from_millis(10));
            let busy = quick.lock(&key("default"));
            assert!(
                matches!(busy, Err(StoreError::LockTimeout { .. })),
                "{busy:?}"
            );
            contended_tx.send(()).unwrap();
            // ... and a patient one gets it, only after the holder let go.
            let _lock = store(&sessions).lock(&key("default")).unwrap();
            released.load(Ordering::SeqCst)
        })
    };
    contended.recv().unwrap();
    released.store(true, Ordering::SeqCst);
    drop(held);
    assert!(
        waiter.join().unwrap(),
        "the waiter got the lock while it was held"
    );
}

#[test]
fn locks_of_different_sessions_are_independent() {
    let dir = TempDir::new("lock-independent");
    let store = store(&dir.sessions()).with_lock_timeout(Duration::from_millis(100));
    let _a = store.lock(&key("a")).unwrap();
    let _b = store.lock(&key("b")).unwrap();
    assert_ne!(store.lock_path(&key("a")), store.lock_path(&key("b")));
}
