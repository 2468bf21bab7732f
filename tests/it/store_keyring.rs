//! `--storage keyring` with the real OS backend where there is no keychain to talk to (a CI
//! container without a D-Bus session): the tool must fall back to files quickly, with a warning,
//! and never hang or panic. The fake-keychain tests beside the code cover splitting, timeouts
//! and stale entries; this one checks the real backend's failure path.

use std::sync::{Arc, Mutex};

use crate::store_support::{found, key, numbered_session, TempDir};
use authcli::store::{FileStore, KeyringStore, OsKeyring, WarningSink};

#[cfg(target_os = "linux")]
#[test]
fn without_a_session_bus_keyring_storage_falls_back_to_files() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        // A desktop session: its real keychain is not ours to write test entries into.
        crate::tools::skipped(
            "store_keyring::without_a_session_bus_keyring_storage_falls_back_to_files",
            "a D-Bus session bus is present",
        );
        return;
    }
    let dir = TempDir::new("os-keyring");
    let warnings = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink: WarningSink = {
        let warnings = Arc::clone(&warnings);
        Arc::new(move |w: &str| warnings.lock().unwrap().push(w.to_owned()))
    };
    let store = KeyringStore::new(
        FileStore::new(dir.sessions()).with_warnings(sink.clone()),
        Arc::new(OsKeyring),
        sink,
    );
    let session = numbered_session(&key("keyring"), 1, 10);
    store.save(&session).unwrap();
    assert_eq!(found(store.load(&session.key).unwrap()), session);
    assert!(store.files().session_path(&session.key).exists());
    let warnings = warnings.lock().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("keychain"), "{warnings:?}");
    // It failed because there is no bus, not by waiting out the keychain timeout.
    assert!(!warnings[0].contains("no answer within"), "{warnings:?}");
}
