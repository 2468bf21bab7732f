//! A writer killed with SIGKILL at random moments never leaves a corrupt session: every load
//! afterwards finds the previous session or a newer complete one. The loads made while the
//! writer runs also prove that a reader racing a save never sees a partial or rejected file.
//!
//! The writer is this test binary itself, re-run with `CHILD_ENV` set so that only
//! `crash_writer_child` does anything.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::store_support::{assert_whole, found, key, numbered_session, TempDir};
use authcli::store::{ignore_warnings, FileStore, LoadOutcome};

const CHILD_ENV: &str = "AUTHCLI_TEST_CRASH_WRITER_DIR";
/// Big enough that a write takes measurable time, so kills land inside writes.
const PADDING: usize = 64 * 1024;
const ROUNDS: usize = 30;

/// The writer: saves ever newer sessions until it is killed.
#[test]
#[ignore = "child process of store_crash::sigkill_during_saves_never_leaves_a_corrupt_session"]
fn crash_writer_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = FileStore::new(dir).with_warnings(ignore_warnings());
    let key = key("crash");
    // Go on from what the last (killed) writer left, so numbers only grow.
    let mut n = match store.load(&key).unwrap() {
        LoadOutcome::Found(session) => session.obtained_at,
        other => panic!("the writer found {other:?}"),
    };
    loop {
        n += 1;
        store.save(&numbered_session(&key, n, PADDING)).unwrap();
    }
}

/// A small xorshift generator: the kill moments only need to vary, not be unpredictable.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn sigkill_during_saves_never_leaves_a_corrupt_session() {
    let dir = TempDir::new("crash");
    let store = FileStore::new(dir.sessions()).with_warnings(ignore_warnings());
    let key = key("crash");
    store.save(&numbered_session(&key, 0, PADDING)).unwrap();
    let exe = std::env::current_exe().unwrap();
    // The kill moments vary per run; the seed is printed (shown when the test fails) and
    // AUTHCLI_TEST_SEED=N replays a run's moments.
    let seed = std::env::var("AUTHCLI_TEST_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
        | 1;
    eprintln!("store_crash seed: AUTHCLI_TEST_SEED={seed}");
    let mut rng = seed;
    let mut last = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store_crash::crash_writer_child",
                "--ignored",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.sessions())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until it is inside its save loop (a newer session appeared), then kill it a
        // random moment later: most kills then land in the middle of a write.
        let deadline = Instant::now() + Duration::from_secs(20);
        while found(store.load(&key).unwrap()).obtained_at == last {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("round {round}: the writer stopped by itself ({status})");
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: the writer never saved"
            );
            std::thread::sleep(Duration::from_micros(500));
        }
        std::thread::sleep(Duration::from_micros(next(&mut rng) % 60_000));
        child.kill().unwrap(); // SIGKILL on unix, TerminateProcess on Windows
        child.wait().unwrap();

        let session = found(store.load(&key).unwrap());
        assert_whole(&session, PADDING);
        assert!(
            session.obtained_at >= last,
            "round {round}: went back from session {last} to {}",
            session.obtained_at
        );
        last = session.obtained_at;
    }
    eprintln!(
        "{ROUNDS} kills, {last} saves, {} temp files left by killed writers",
        std::fs::read_dir(dir.sessions()).unwrap().count() - 1
    );

    // Killed writers leave temp files behind; listing must not mistake them for sessions.
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_whole(listed[0].session.as_ref().unwrap(), PADDING);
}
