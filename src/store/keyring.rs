//! `--storage keyring`: sessions in the operating system's keychain, with files as the fallback.
//!
//! A keychain can hang (a locked Secret Service waiting for a prompt nobody sees, a D-Bus that
//! never answers), so every keychain operation runs on a helper thread under a short timeout;
//! on timeout or error the session goes to, or comes from, the file store, with a warning, and
//! the keychain is not tried again by this process. Values larger than one keychain entry can
//! hold (Windows Credential Manager: 2560 bytes) are split into parts under a manifest that is
//! written last, so a reader never assembles a mix of two writes. A non-secret marker file per
//! session in the session directory lets `authcli status` list what the keychain holds, since
//! keychains cannot be enumerated portably. Locks are always the file store's lock files.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    decode, encode, FileStore, ListedSession, LoadOutcome, Session, SessionKey, StoreError,
    WarningSink,
};

/// The keychain service name every authcli entry is filed under.
pub const KEYRING_SERVICE: &str = "authcli";

/// How long one keychain operation may take before the file store is used instead.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(2);

/// The few keychain operations the store needs, so tests can stand in for the OS keychain.
/// Errors are messages for a warning and must not contain secrets.
pub trait KeyringBackend: Send + Sync + 'static {
    /// The value of entry `name`, `None` if there is none.
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String>;
    /// Creates or replaces entry `name`.
    fn set(&self, name: &str, value: &[u8]) -> Result<(), String>;
    /// Deletes entry `name`; deleting a missing entry is not an error.
    fn delete(&self, name: &str) -> Result<(), String>;
    /// The largest value one entry holds.
    fn max_value_len(&self) -> usize;
}

/// The platform keychain through the `keyring` crate: macOS Keychain, Windows Credential
/// Manager, the Secret Service elsewhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsKeyring;

#[cfg(feature = "keyring")]
impl OsKeyring {
    fn entry(name: &str) -> Result<keyring::Entry, String> {
        keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| e.to_string())
    }
}

#[cfg(feature = "keyring")]
impl KeyringBackend for OsKeyring {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        match Self::entry(name)?.get_secret() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn set(&self, name: &str, value: &[u8]) -> Result<(), String> {
        Self::entry(name)?
            .set_secret(value)
            .map_err(|e| e.to_string())
    }

    fn delete(&self, name: &str) -> Result<(), String> {
        match Self::entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn max_value_len(&self) -> usize {
        // CRED_MAX_CREDENTIAL_BLOB_SIZE is 5 * 512 bytes; the others take far more, but a
        // bound keeps one entry a reasonable size for any keychain.
        if cfg!(windows) {
            2560
        } else {
            64 * 1024
        }
    }
}

/// Built without the `keyring` feature: every call fails, so the store warns once and uses
/// files.
#[cfg(not(feature = "keyring"))]
impl KeyringBackend for OsKeyring {
    fn get(&self, _name: &str) -> Result<Option<Vec<u8>>, String> {
        Err(NO_KEYRING.into())
    }

    fn set(&self, _name: &str, _value: &[u8]) -> Result<(), String> {
        Err(NO_KEYRING.into())
    }

    fn delete(&self, _name: &str) -> Result<(), String> {
        Err(NO_KEYRING.into())
    }

    fn max_value_len(&self) -> usize {
        usize::MAX
    }
}

#[cfg(not(feature = "keyring"))]
const NO_KEYRING: &str = "this authcli was built without keychain support";

/// What the main entry holds when the session had to be split.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// Random per write, so parts of two writes never mix.
    generation: String,
    parts: usize,
    len: usize,
    sha256: String,
}

fn part_name(stem: &str, generation: &str, index: usize) -> String {
    format!("{stem}.{generation}.{index}")
}

/// Sessions in the keychain, falling back to `files`.
pub struct KeyringStore {
    files: FileStore,
    backend: Arc<dyn KeyringBackend>,
    timeout: Duration,
    warnings: WarningSink,
    /// Set after the first failure: a keychain that hung once will hang again, and each
    /// attempt would cost the whole timeout.
    given_up: AtomicBool,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore")
            .field("files", &self.files)
            .field("timeout", &self.timeout)
            .field("given_up", &self.given_up)
            .finish_non_exhaustive()
    }
}

impl KeyringStore {
    /// A keychain store over `backend`, with `files` for fallback and locks.
    pub fn new(files: FileStore, backend: Arc<dyn KeyringBackend>, warnings: WarningSink) -> Self {
        KeyringStore {
            files,
            backend,
            timeout: KEYRING_TIMEOUT,
            warnings,
            given_up: AtomicBool::new(false),
        }
    }

    /// Changes the per-operation timeout (default [`KEYRING_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The file store used for fallback, markers and locks.
    pub fn files(&self) -> &FileStore {
        &self.files
    }

    /// Looks the session up in the keychain and in the fallback files, and returns the newer:
    /// a session saved to files while the keychain was down must win over the stale copy the
    /// keychain still holds (its refresh token may have been rotated away).
    pub fn load(&self, key: &SessionKey) -> Result<LoadOutcome, StoreError> {
        let stem = key.file_stem();
        let from_file = self.files.load(key)?;
        let read = self.run("read the session from", {
            let stem = stem.clone();
            move |backend| read_entries(backend, &stem)
        });
        let from_keyring = match read {
            Ok(None) | Err(_) => return Ok(from_file),
            Ok(Some(Ok(bytes))) => decode(&bytes, &stem, &entry_place(&stem)),
            Ok(Some(Err(reason))) => Err(format!("{} {reason}", entry_place(&stem))),
        };
        Ok(match (from_keyring, from_file) {
            (Ok(k), LoadOutcome::Found(f)) if f.obtained_at > k.obtained_at => {
                LoadOutcome::Found(f)
            }
            (Ok(k), _) => LoadOutcome::Found(k),
            (Err(_), found @ LoadOutcome::Found(_)) => found,
            (Err(reason), _) => LoadOutcome::Rejected { reason },
        })
    }

    /// Stores `session` in the keychain, or in the file store if the keychain fails.
    pub fn save(&self, session: &Session) -> Result<(), StoreError> {
        let bytes = encode(session)?;
        let stem = session.key.file_stem();
        let written = self.run("store the session in", {
            let stem = stem.clone();
            move |backend| write_entries(backend, &stem, &bytes)
        });
        match written {
            Ok(()) => {
                self.files.write_marker(&stem)?;
                // The keychain now has the newest session; an older fallback copy would only
                // confuse `status`.
                self.files.delete(&session.key)?;
                Ok(())
            }
            Err(_) => self.files.save(session),
        }
    }

    /// Deletes the session from the keychain and the files; `true` if either had it.
    ///
    /// Fails if the keychain cannot be reached, keeping the marker: a logout that reported
    /// success while the tokens stayed in the keychain would resurrect the session later.
    pub fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let stem = key.file_stem();
        let had_file = self.files.delete(key)?;
        self.delete_entries(&stem)?;
        let had_marker = self.files.remove_marker(&stem)?;
        Ok(had_marker || had_file)
    }

    /// Deletes every session the markers and files know of; fails like [`KeyringStore::delete`].
    pub fn delete_all(&self) -> Result<usize, StoreError> {
        let mut removed = self.files.delete_all()?;
        for (stem, _) in self.files.marker_files()? {
            self.delete_entries(&stem)?;
            if self.files.remove_marker(&stem)? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The keychain sessions (by marker) followed by the fallback files.
    pub fn list(&self) -> Result<Vec<ListedSession>, StoreError> {
        let mut listed = Vec::new();
        for (stem, path) in self.files.marker_files()? {
            let read = self.run("read the session from", {
                let stem = stem.clone();
                move |backend| read_entries(backend, &stem)
            });
            let place = entry_place(&stem);
            let session = match read {
                Ok(Some(Ok(bytes))) => decode(&bytes, &stem, &place),
                Ok(Some(Err(reason))) => Err(format!("{place} {reason}")),
                Ok(None) => Err(format!("{place} is missing")),
                Err(failure) => Err(format!("{place} cannot be read: {failure}")),
            };
            listed.push(ListedSession { path, session });
        }
        listed.extend(self.files.list()?);
        Ok(listed)
    }

    fn delete_entries(&self, stem: &str) -> Result<(), StoreError> {
        let owned = stem.to_owned();
        self.run("delete the session from", move |backend| {
            delete_entries(backend, &owned)
        })
        .map_err(|reason| StoreError::Keychain {
            entry: entry_place(stem),
            reason,
        })
    }

    /// Runs `op` on a helper thread under the timeout. The first failure is reported as a
    /// warning and makes every later call fail at once with the same message.
    fn run<T: Send + 'static>(
        &self,
        what: &str,
        op: impl FnOnce(&dyn KeyringBackend) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        if self.given_up.load(Ordering::Relaxed) {
            return Err("the keychain failed earlier in this run".into());
        }
        let backend = Arc::clone(&self.backend);
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("authcli-keyring".into())
            .spawn(move || {
                // The receiver is gone after a timeout; nobody needs the late answer.
                let _ = tx.send(op(backend.as_ref()));
            });
        // A thread stuck in the keychain is left behind: it cannot be cancelled, and the
        // process exits soon anyway.
        let failure = match spawned {
            Err(e) => format!("could not start a thread: {e}"),
            Ok(_) => match rx.recv_timeout(self.timeout) {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) => e,
                Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
            },
        };
        self.given_up.store(true, Ordering::Relaxed);
        (self.warnings)(&format!(
            "could not {what} the keychain ({failure}); for the rest of this run sessions are \
             kept in files in {}",
            self.files.dir().display()
        ));
        Err(failure)
    }
}

fn entry_place(stem: &str) -> String {
    format!("keychain entry {KEYRING_SERVICE}/{stem}")
}

/// The stored bytes: `Ok(None)` if there is no entry, `Ok(Some(Err(reason)))` if parts are
/// missing or do not match their manifest.
#[allow(clippy::type_complexity)]
fn read_entries(
    backend: &dyn KeyringBackend,
    stem: &str,
) -> Result<Option<Result<Vec<u8>, String>>, String> {
    let Some(head) = backend.get(stem)? else {
        return Ok(None);
    };
    let Ok(manifest) = serde_json::from_slice::<Manifest>(&head) else {
        return Ok(Some(Ok(head)));
    };
    let mut bytes = Vec::with_capacity(manifest.len.min(1024 * 1024));
    for index in 0..manifest.parts {
        match backend.get(&part_name(stem, &manifest.generation, index))? {
            Some(part) => bytes.extend_from_slice(&part),
            None => return Ok(Some(Err(format!("lacks part {index}")))),
        }
    }
    if bytes.len() != manifest.len || sha256_hex(&bytes) != manifest.sha256 {
        return Ok(Some(Err("has parts that do not match its manifest".into())));
    }
    Ok(Some(Ok(bytes)))
}

/// Writes the session: directly if it fits one entry, else parts first and the manifest last,
/// then removes the parts of the previous write.
fn write_entries(backend: &dyn KeyringBackend, stem: &str, bytes: &[u8]) -> Result<(), String> {
    let previous = previous_manifest(backend, stem)?;
    let max = backend.max_value_len().max(1);
    if bytes.len() <= max {
        backend.set(stem, bytes)?;
    } else {
        let generation = crate::secret::random_urlsafe(6);
        let mut parts = 0;
        for (index, chunk) in bytes.chunks(max).enumerate() {
            backend.set(&part_name(stem, &generation, index), chunk)?;
            parts += 1;
        }
        let manifest = Manifest {
            generation,
            parts,
            len: bytes.len(),
            sha256: sha256_hex(bytes),
        };
        let manifest = serde_json::to_vec(&manifest).map_err(|e| e.to_string())?;
        backend.set(stem, &manifest)?;
    }
    if let Some(previous) = previous {
        for index in 0..previous.parts {
            backend.delete(&part_name(stem, &previous.generation, index))?;
        }
    }
    Ok(())
}

fn delete_entries(backend: &dyn KeyringBackend, stem: &str) -> Result<(), String> {
    let previous = previous_manifest(backend, stem)?;
    backend.delete(stem)?;
    if let Some(previous) = previous {
        for index in 0..previous.parts {
            backend.delete(&part_name(stem, &previous.generation, index))?;
        }
    }
    Ok(())
}

fn previous_manifest(backend: &dyn KeyringBackend, stem: &str) -> Result<Option<Manifest>, String> {
    Ok(backend
        .get(stem)?
        .and_then(|head| serde_json::from_slice::<Manifest>(&head).ok()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;
    use crate::store::{GrantKind, SESSION_FORMAT_VERSION};
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::sync::Mutex;

    /// An in-memory keychain with a size limit that can be told to fail or hang.
    #[derive(Default)]
    struct FakeKeyring {
        entries: Mutex<BTreeMap<String, Vec<u8>>>,
        max: usize,
        hang: AtomicBool,
        fail: AtomicBool,
    }

    impl KeyringBackend for FakeKeyring {
        fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
            self.gate()?;
            Ok(self.entries.lock().unwrap().get(name).cloned())
        }
        fn set(&self, name: &str, value: &[u8]) -> Result<(), String> {
            self.gate()?;
            assert!(value.len() <= self.max, "entry over the limit");
            self.entries
                .lock()
                .unwrap()
                .insert(name.to_owned(), value.to_vec());
            Ok(())
        }
        fn delete(&self, name: &str) -> Result<(), String> {
            self.gate()?;
            self.entries.lock().unwrap().remove(name);
            Ok(())
        }
        fn max_value_len(&self) -> usize {
            self.max
        }
    }

    impl FakeKeyring {
        fn gate(&self) -> Result<(), String> {
            if self.hang.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(3600));
            }
            if self.fail.load(Ordering::Relaxed) {
                return Err("the keychain is locked".into());
            }
            Ok(())
        }
    }

    struct Fixture {
        dir: PathBuf,
        backend: Arc<FakeKeyring>,
        warnings: Arc<Mutex<Vec<String>>>,
        store: KeyringStore,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn fixture(name: &str, max: usize) -> Fixture {
        let dir = std::env::temp_dir().join(format!(
            "authcli-keyring-{name}-{}-{}",
            std::process::id(),
            crate::secret::random_urlsafe(6)
        ));
        let backend = Arc::new(FakeKeyring {
            max,
            ..FakeKeyring::default()
        });
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let sink: WarningSink = {
            let warnings = Arc::clone(&warnings);
            Arc::new(move |w: &str| warnings.lock().unwrap().push(w.to_owned()))
        };
        let store = KeyringStore::new(
            FileStore::new(&dir).with_warnings(sink.clone()),
            backend.clone(),
            sink,
        )
        .with_timeout(Duration::from_millis(200));
        Fixture {
            dir,
            backend,
            warnings,
            store,
        }
    }

    fn session(token: &str, obtained_at: u64) -> Session {
        Session {
            version: SESSION_FORMAT_VERSION,
            key: SessionKey {
                profile: "default".into(),
                issuer: "https://issuer.example/".into(),
                client_id: "cli".into(),
                audience: None,
                scopes: Default::default(),
            },
            grant: GrantKind::Device,
            access_token: AccessToken::new(token),
            token_type: "Bearer".into(),
            expires_at: Some(obtained_at + 3600),
            scope: None,
            id_token: None,
            refresh_token: None,
            subject: Some("alice".into()),
            token_endpoint: None,
            revocation_endpoint: None,
            obtained_at,
            client_auth: Default::default(),
            params: Vec::new(),
        }
    }

    fn found(outcome: LoadOutcome) -> Session {
        match outcome {
            LoadOutcome::Found(s) => s,
            other => panic!("expected a session, got {other:?}"),
        }
    }

    #[test]
    fn small_session_round_trips_through_the_keychain_only() {
        let f = fixture("small", 64 * 1024);
        let s = session("at-small", 10);
        f.store.save(&s).unwrap();
        assert_eq!(found(f.store.load(&s.key).unwrap()), s);
        assert!(!f.store.files().session_path(&s.key).exists());
        assert_eq!(f.backend.entries.lock().unwrap().len(), 1);
        let listed = f.store.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].session.as_ref().unwrap(), &s);
        assert!(f.store.delete(&s.key).unwrap());
        assert!(f.backend.entries.lock().unwrap().is_empty());
        assert!(matches!(f.store.load(&s.key).unwrap(), LoadOutcome::Absent));
        assert!(f.warnings.lock().unwrap().is_empty());
    }

    #[test]
    fn large_session_is_split_and_old_parts_are_removed() {
        let f = fixture("large", 300);
        let first = session(&"a".repeat(1000), 10);
        f.store.save(&first).unwrap();
        let entries = f.backend.entries.lock().unwrap().len();
        assert!(entries > 3, "{entries} entries");
        assert_eq!(found(f.store.load(&first.key).unwrap()), first);

        let second = session(&"b".repeat(700), 20);
        f.store.save(&second).unwrap();
        assert_eq!(found(f.store.load(&second.key).unwrap()), second);
        let after = f.backend.entries.lock().unwrap().len();
        assert!(after < entries, "parts of the first write were left behind");

        f.store.delete(&second.key).unwrap();
        assert!(f.backend.entries.lock().unwrap().is_empty());
    }

    #[test]
    fn a_missing_part_is_rejected_not_mixed() {
        let f = fixture("missing-part", 300);
        let s = session(&"c".repeat(1000), 10);
        f.store.save(&s).unwrap();
        let stem = s.key.file_stem();
        {
            let mut entries = f.backend.entries.lock().unwrap();
            let part = entries
                .keys()
                .find(|k| k.starts_with(&stem) && k.ends_with(".1"))
                .cloned()
                .unwrap();
            entries.remove(&part);
        }
        match f.store.load(&s.key).unwrap() {
            LoadOutcome::Rejected { reason } => assert!(reason.contains("part 1"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failing_keychain_falls_back_to_files_with_a_warning() {
        let f = fixture("fail", 64 * 1024);
        f.backend.fail.store(true, Ordering::Relaxed);
        let s = session("at-fallback", 10);
        f.store.save(&s).unwrap();
        assert!(f.store.files().session_path(&s.key).exists());
        assert_eq!(found(f.store.load(&s.key).unwrap()), s);
        let warnings = f.warnings.lock().unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("keychain is locked"), "{warnings:?}");
    }

    #[test]
    fn hung_keychain_times_out_and_falls_back() {
        let f = fixture("hang", 64 * 1024);
        f.backend.hang.store(true, Ordering::Relaxed);
        let s = session("at-hang", 10);
        let started = std::time::Instant::now();
        f.store.save(&s).unwrap();
        assert_eq!(found(f.store.load(&s.key).unwrap()), s);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "waited too long"
        );
        assert!(f.warnings.lock().unwrap()[0].contains("no answer"));
    }

    #[test]
    fn logout_with_a_failing_keychain_is_an_error_and_keeps_the_marker() {
        let f = fixture("delete-fail", 64 * 1024);
        let s = session("at-delete", 10);
        f.store.save(&s).unwrap();
        f.backend.fail.store(true, Ordering::Relaxed);
        let err = f.store.delete(&s.key).unwrap_err();
        assert!(matches!(err, StoreError::Keychain { .. }), "{err:?}");
        assert!(err.to_string().contains(&s.key.file_stem()), "{err}");
        assert_eq!(f.store.files().marker_files().unwrap().len(), 1);
        assert_eq!(f.backend.entries.lock().unwrap().len(), 1);
    }

    #[test]
    fn newer_fallback_file_wins_over_stale_keychain_entry() {
        let f = fixture("stale", 64 * 1024);
        let old = session("at-old", 10);
        f.store.save(&old).unwrap();
        let new = session("at-new", 20);
        f.store.files().save(&new).unwrap();
        assert_eq!(found(f.store.load(&new.key).unwrap()), new);
    }
}
