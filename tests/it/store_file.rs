//! The file store: round trips, private modes, and every kind of untrustworthy session file
//! turned into `Rejected` with a reason instead of a crash.

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::store_support::{found, key, numbered_session, rejected, TempDir};
use authcli::store::{
    ignore_warnings, FileStore, LoadOutcome, Storage, StoreError, WarningSink,
    SESSION_FORMAT_VERSION,
};

fn store(dir: &TempDir) -> FileStore {
    FileStore::new(dir.sessions()).with_warnings(ignore_warnings())
}

#[cfg_attr(not(unix), allow(dead_code))] // the tests that collect warnings are Unix-only
fn collecting_sink() -> (WarningSink, Arc<Mutex<Vec<String>>>) {
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let warnings = Arc::clone(&warnings);
        Arc::new(move |w: &str| warnings.lock().unwrap().push(w.to_owned())) as WarningSink
    };
    (sink, warnings)
}

#[test]
fn saved_session_loads_back_identical() {
    let dir = TempDir::new("roundtrip");
    let store = store(&dir);
    let session = numbered_session(&key("default"), 7, 10);
    assert!(matches!(
        store.load(&session.key).unwrap(),
        LoadOutcome::Absent
    ));
    store.save(&session).unwrap();
    assert_eq!(found(store.load(&session.key).unwrap()), session);

    let newer = numbered_session(&key("default"), 8, 10);
    store.save(&newer).unwrap();
    assert_eq!(found(store.load(&session.key).unwrap()), newer);
}

#[test]
fn session_file_is_named_by_hash_and_holds_no_plain_key_in_its_name() {
    let dir = TempDir::new("names");
    let store = store(&dir);
    let session = numbered_session(&key("default"), 1, 0);
    store.save(&session).unwrap();
    let names: Vec<String> = fs::read_dir(dir.sessions())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec![format!("{}.json", session.key.file_stem())]);
    assert_eq!(
        store.session_path(&session.key),
        dir.sessions().join(&names[0])
    );
}

#[test]
fn sessions_of_different_keys_do_not_overwrite_each_other() {
    let dir = TempDir::new("keys");
    let store = store(&dir);
    let a = numbered_session(&key("a"), 1, 0);
    let b = numbered_session(&key("b"), 2, 0);
    store.save(&a).unwrap();
    store.save(&b).unwrap();
    assert_eq!(found(store.load(&a.key).unwrap()), a);
    assert_eq!(found(store.load(&b.key).unwrap()), b);
}

#[test]
fn storage_wrapper_delegates_to_the_file_store() {
    let dir = TempDir::new("wrapper");
    let storage = Storage::File(store(&dir));
    let session = numbered_session(&key("default"), 3, 0);
    storage.save(&session).unwrap();
    assert_eq!(found(storage.load(&session.key).unwrap()), session);
    assert_eq!(storage.list().unwrap().len(), 1);
    assert!(storage.delete(&session.key).unwrap());
    assert!(!storage.delete(&session.key).unwrap());
}

// `--storage none` writing nothing is checked where a write could go, through the binary with
// its AUTHCLI_HOME (sessions::storage_none_writes_nothing): a store given no directory has
// nowhere to be looked at from here.

/// `AUTHCLI_HOME` picks the session directory. Checked in a child copy of this test binary with
/// its own environment, because `set_var` here would race every other test thread.
#[test]
fn default_dir_follows_authcli_home() {
    let dir = TempDir::new("home");
    let exe = std::env::current_exe().unwrap();
    let child = |home: &std::ffi::OsStr| {
        std::process::Command::new(&exe)
            .args(["--exact", "store_file::default_dir_child", "--ignored"])
            .env("AUTHCLI_HOME", home)
            .env(DEFAULT_DIR_EXPECTED, dir.path().join("sessions"))
            .output()
            .unwrap()
    };
    let right = child(dir.path().as_os_str());
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stdout)
    );
    // The child really checks: another AUTHCLI_HOME makes it fail.
    let wrong = child(dir.path().join("elsewhere").as_os_str());
    assert!(!wrong.status.success(), "the child checks nothing");
}

const DEFAULT_DIR_EXPECTED: &str = "AUTHCLI_TEST_DEFAULT_DIR_EXPECTED";

#[test]
#[ignore = "child process of store_file::default_dir_follows_authcli_home"]
fn default_dir_child() {
    // Run by hand (`--ignored`) without its parent, it has nothing to check.
    let Some(expected) = std::env::var_os(DEFAULT_DIR_EXPECTED) else {
        return;
    };
    assert_eq!(FileStore::default_dir().unwrap(), PathBuf::from(expected));
}

#[cfg(unix)]
#[test]
fn directory_is_0700_and_files_are_0600() {
    use crate::store_support::mode;
    let dir = TempDir::new("modes");
    let store = store(&dir);
    let session = numbered_session(&key("default"), 1, 0);
    store.save(&session).unwrap();
    let _lock = store.lock(&session.key).unwrap();
    assert_eq!(mode(&dir.sessions()), 0o700);
    assert_eq!(mode(&store.session_path(&session.key)), 0o600);
    assert_eq!(mode(&store.lock_path(&session.key)), 0o600);
}

#[cfg(unix)]
#[test]
fn a_loose_existing_directory_is_made_private_with_a_warning() {
    use crate::store_support::{mode, set_mode};
    let dir = TempDir::new("loose-dir");
    fs::create_dir_all(dir.sessions()).unwrap();
    set_mode(&dir.sessions(), 0o755);
    let (sink, warnings) = collecting_sink();
    let store = FileStore::new(dir.sessions()).with_warnings(sink);
    store
        .save(&numbered_session(&key("default"), 1, 0))
        .unwrap();
    assert_eq!(mode(&dir.sessions()), 0o700);
    let warnings = warnings.lock().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("755"), "{warnings:?}");
}

#[cfg(unix)]
#[test]
fn saving_replaces_a_loose_file_with_a_private_one() {
    use crate::store_support::{mode, set_mode};
    let dir = TempDir::new("replace-loose");
    let store = store(&dir);
    let session = numbered_session(&key("default"), 1, 0);
    store.save(&session).unwrap();
    let path = store.session_path(&session.key);
    set_mode(&path, 0o644);
    store.save(&session).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(found(store.load(&session.key).unwrap()), session);
}

/// Writes `bytes` where the session for `profile` belongs, 0600, and returns its load outcome.
fn load_planted(name: &str, bytes: &[u8]) -> (String, String) {
    let dir = TempDir::new(name);
    let store = store(&dir);
    let key = key("default");
    fs::create_dir_all(dir.sessions()).unwrap();
    let path = store.session_path(&key);
    fs::write(&path, bytes).unwrap();
    #[cfg(unix)]
    crate::store_support::set_mode(&path, 0o600);
    (
        rejected(store.load(&key).unwrap()),
        path.display().to_string(),
    )
}

#[test]
fn garbage_is_rejected_with_a_reason_naming_the_file() {
    let (reason, path) = load_planted("garbage", b"\x00\xffnot json at all");
    assert!(reason.contains("corrupt"), "{reason}");
    assert!(reason.contains(&path), "{reason}");
}

#[test]
fn truncated_session_is_rejected() {
    let session = numbered_session(&key("default"), 1, 100);
    let bytes = serde_json::to_vec(&session).unwrap();
    for cut in [1, bytes.len() / 3, bytes.len() - 2] {
        let (reason, _) = load_planted("truncated", &bytes[..cut]);
        assert!(reason.contains("truncated"), "cut at {cut}: {reason}");
    }
}

#[test]
fn empty_session_file_is_rejected() {
    let (reason, _) = load_planted("empty", b"");
    assert!(reason.contains("empty"), "{reason}");
}

#[test]
fn unknown_format_version_is_rejected() {
    let mut session = numbered_session(&key("default"), 1, 0);
    session.version = SESSION_FORMAT_VERSION + 1;
    let (reason, _) = load_planted("version", &serde_json::to_vec(&session).unwrap());
    assert!(
        reason.contains(&format!("version {}", SESSION_FORMAT_VERSION + 1)),
        "{reason}"
    );
    // A future format may not even have today's fields.
    let (reason, _) = load_planted("version2", br#"{"version": 9, "tokens": []}"#);
    assert!(reason.contains("version 9"), "{reason}");
}

#[test]
fn a_session_of_another_key_under_this_name_is_rejected() {
    let other = numbered_session(&key("other"), 1, 0);
    let (reason, _) = load_planted("moved", &serde_json::to_vec(&other).unwrap());
    assert!(reason.contains("another profile"), "{reason}");
}

#[test]
fn a_directory_in_place_of_the_session_is_rejected() {
    let dir = TempDir::new("dir-in-place");
    let store = store(&dir);
    let key = key("default");
    fs::create_dir_all(store.session_path(&key)).unwrap();
    let reason = rejected(store.load(&key).unwrap());
    assert!(reason.contains("not a regular file"), "{reason}");
}

#[cfg(unix)]
#[test]
fn group_or_world_readable_session_is_rejected() {
    let dir = TempDir::new("readable");
    let store = store(&dir);
    let session = numbered_session(&key("default"), 1, 0);
    store.save(&session).unwrap();
    let path = store.session_path(&session.key);
    for loose in [0o640, 0o604, 0o660, 0o606] {
        crate::store_support::set_mode(&path, loose);
        let reason = rejected(store.load(&session.key).unwrap());
        assert!(reason.contains(&format!("{loose:03o}")), "{reason}");
    }
    crate::store_support::set_mode(&path, 0o600);
    assert_eq!(found(store.load(&session.key).unwrap()), session);
}

#[cfg(unix)]
#[test]
fn symlinked_session_is_rejected_and_saving_does_not_write_through_it() {
    let dir = TempDir::new("symlink");
    let store = store(&dir);
    let session = numbered_session(&key("default"), 1, 0);
    // A perfectly valid, private session elsewhere: the link itself is the problem.
    let elsewhere = TempDir::new("symlink-target");
    let target = FileStore::new(elsewhere.path()).with_warnings(ignore_warnings());
    target.save(&session).unwrap();
    let target_path = target.session_path(&session.key);
    let before = fs::read(&target_path).unwrap();

    fs::create_dir_all(dir.sessions()).unwrap();
    std::os::unix::fs::symlink(&target_path, store.session_path(&session.key)).unwrap();
    let reason = rejected(store.load(&session.key).unwrap());
    assert!(reason.contains("symbolic link"), "{reason}");

    store
        .save(&numbered_session(&key("default"), 2, 0))
        .unwrap();
    assert_eq!(fs::read(&target_path).unwrap(), before);
    assert_eq!(found(store.load(&session.key).unwrap()).obtained_at, 2);
}

#[test]
fn oversized_file_is_rejected_without_reading_it_all() {
    let (reason, _) = load_planted("huge", &vec![b' '; 2 * 1024 * 1024]);
    assert!(reason.contains("too large"), "{reason}");
}

#[test]
fn list_reports_good_and_bad_sessions_and_ignores_other_files() {
    let dir = TempDir::new("list");
    let store = store(&dir);
    let good = numbered_session(&key("good"), 1, 0);
    store.save(&good).unwrap();
    let _lock = store.lock(&good.key).unwrap();
    let bad_key = key("bad");
    fs::write(store.session_path(&bad_key), b"{").unwrap();
    #[cfg(unix)]
    crate::store_support::set_mode(&store.session_path(&bad_key), 0o600);
    fs::write(dir.sessions().join("notes.json"), b"{}").unwrap();
    fs::write(dir.sessions().join(".abc.1.2.3.tmp"), b"{").unwrap();

    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let good_entry = listed
        .iter()
        .find(|l| l.path == store.session_path(&good.key))
        .unwrap();
    assert_eq!(good_entry.session.as_ref().unwrap(), &good);
    let bad_entry = listed
        .iter()
        .find(|l| l.path == store.session_path(&bad_key))
        .unwrap();
    assert!(bad_entry.session.as_ref().unwrap_err().contains("corrupt"));
}

#[test]
fn list_of_a_missing_directory_is_empty() {
    let dir = TempDir::new("list-missing");
    assert!(store(&dir).list().unwrap().is_empty());
}

#[test]
fn list_removes_stale_temp_files_but_not_fresh_ones() {
    let dir = TempDir::new("stale");
    let store = store(&dir);
    store
        .save(&numbered_session(&key("default"), 1, 0))
        .unwrap();
    let stale = dir.sessions().join(".deadbeef.1.2.3.tmp");
    let fresh = dir.sessions().join(".deadbeef.4.5.6.tmp");
    fs::write(&stale, b"{\"half").unwrap();
    fs::write(&fresh, b"{\"half").unwrap();
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    assert_eq!(store.list().unwrap().len(), 1);
    assert!(!stale.exists(), "a stale temp file was left behind");
    assert!(fresh.exists(), "a writer's live temp file was removed");
}

#[test]
fn delete_removes_one_session_and_delete_all_removes_the_rest_even_corrupt() {
    let dir = TempDir::new("delete");
    let store = store(&dir);
    let a = numbered_session(&key("a"), 1, 0);
    let b = numbered_session(&key("b"), 2, 0);
    store.save(&a).unwrap();
    store.save(&b).unwrap();
    assert!(store.delete(&a.key).unwrap());
    assert!(!store.delete(&a.key).unwrap());
    assert!(matches!(store.load(&a.key).unwrap(), LoadOutcome::Absent));
    fs::write(store.session_path(&key("corrupt")), b"nope").unwrap();
    assert_eq!(store.delete_all().unwrap(), 2);
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn store_errors_are_exit_code_1_and_name_the_path() {
    let dir = TempDir::new("error");
    // A file where the session directory should be: creating it must fail.
    fs::write(dir.sessions(), b"").unwrap();
    let store = store(&dir);
    let err = store
        .save(&numbered_session(&key("default"), 1, 0))
        .unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert_eq!(err.exit_code(), authcli::ExitCode::Other);
    assert!(
        err.to_string()
            .contains(&dir.sessions().display().to_string()),
        "{err}"
    );
    let top: authcli::Error = err.into();
    assert_eq!(top.exit_code(), authcli::ExitCode::Other);
}
