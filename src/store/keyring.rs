//! `--storage keyring`: sessions in the operating system's keychain, with files as the fallback.
//!
//! A keychain can hang (a locked Secret Service waiting for a prompt nobody sees, a D-Bus that
//! never answers), so every keychain operation runs on a helper thread under a short timeout;
//! on timeout or error the session goes to, or comes from, the file store, with a warning, and
//! the keychain is not tried again by this process. Values larger than one keychain entry can
//! hold (Windows Credential Manager: 2560 bytes) are split into parts under a manifest that is
//! written last, so a reader never assembles a mix of two writes. A non-secret marker file per
//! session in the session directory records that the keychain holds it: keychains cannot be
//! enumerated portably, and every command follows the markers, so a session is found wherever
//! it lives whatever `--storage` says, and a session without a marker never costs a keychain
//! call. Locks are always the file store's lock files.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    decode, encode, FileStore, ListedSession, LoadOutcome, Session, SessionKey, StorageKind,
    StoreError, WarningSink,
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
        keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| match e {
            // The crate's own text ("No default store has been set") hides the cause: say
            // what could not be reached, and why.
            keyring::Error::NoDefaultStore => match keyring::Entry::store_status() {
                Err(cause) => format!("no keychain service could be reached: {cause}"),
                Ok(()) => "no keychain service could be reached".into(),
            },
            other => other.to_string(),
        })
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

/// Where [`KeyringStore::save`] puts a session. Loading does not depend on it: a session is
/// found wherever it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteTo {
    /// `--storage keyring`: the keychain, or files if the keychain fails.
    Keychain,
    /// `--storage file`: files; a keychain copy of the same session is removed.
    Files,
    /// No `--storage` given: where the session already lives (the keychain if its marker says
    /// so), else files.
    WhereStored,
}

/// Sessions in the keychain and in files. Every session the keychain may hold has a marker
/// file in the session directory; loading, listing and deleting follow the markers, so a
/// session is found wherever it was stored, whatever `--storage` says now, and the keychain is
/// never asked about a session it cannot hold.
pub struct KeyringStore {
    files: FileStore,
    backend: Arc<dyn KeyringBackend>,
    timeout: Duration,
    warnings: WarningSink,
    write_to: WriteTo,
    /// Set after the first failure: a keychain that hung once will hang again, and each
    /// attempt would cost the whole timeout.
    given_up: AtomicBool,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore")
            .field("files", &self.files)
            .field("timeout", &self.timeout)
            .field("write_to", &self.write_to)
            .field("given_up", &self.given_up)
            .finish_non_exhaustive()
    }
}

impl KeyringStore {
    /// A keychain store over `backend`, with `files` for fallback, markers and locks. It
    /// writes to the keychain until [`KeyringStore::writing_to`] says otherwise.
    pub fn new(files: FileStore, backend: Arc<dyn KeyringBackend>, warnings: WarningSink) -> Self {
        KeyringStore {
            files,
            backend,
            timeout: KEYRING_TIMEOUT,
            warnings,
            write_to: WriteTo::Keychain,
            given_up: AtomicBool::new(false),
        }
    }

    /// Changes the per-operation timeout (default [`KEYRING_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Changes where [`KeyringStore::save`] writes (default [`WriteTo::Keychain`]).
    pub fn writing_to(mut self, write_to: WriteTo) -> Self {
        self.write_to = write_to;
        self
    }

    /// The file store used for fallback, markers and locks.
    pub fn files(&self) -> &FileStore {
        &self.files
    }

    /// Looks the session up in the files and, if its marker says the keychain may hold it, in
    /// the keychain, and returns the newer: a session saved to files while the keychain was
    /// down must win over the stale copy the keychain still holds (its refresh token may have
    /// been rotated away).
    pub fn load(&self, key: &SessionKey) -> Result<LoadOutcome, StoreError> {
        Ok(self.load_stem(&key.file_stem()).0)
    }

    /// Where the session for `key` lives now: `Some(Keyring)` or `Some(File)`, `None` if it
    /// is stored nowhere (or cannot be read).
    pub fn location(&self, key: &SessionKey) -> Option<StorageKind> {
        match self.load_stem(&key.file_stem()) {
            (LoadOutcome::Found(_), location) => Some(location),
            _ => None,
        }
    }

    /// The session named `stem` and where it lives.
    fn load_stem(&self, stem: &str) -> (LoadOutcome, StorageKind) {
        let from_file = self.files.load_stem(stem);
        if !self.files.has_marker(stem) {
            return (from_file, StorageKind::File);
        }
        let place = entry_place(stem);
        let read = self.run("read the session from", {
            let stem = stem.to_owned();
            move |backend| read_entries(backend, &stem)
        });
        let from_keyring = match read {
            // A marker left by a write that never reached the keychain.
            Ok(None) => return (from_file, StorageKind::File),
            Ok(Some(Ok(bytes))) => decode(&bytes, stem, &place),
            Ok(Some(Err(reason))) => Err(format!("{place} {reason}")),
            Err(failure) => Err(format!("{place} cannot be read: {failure}")),
        };
        match (from_keyring, from_file) {
            (Ok(k), LoadOutcome::Found(f)) if f.obtained_at > k.obtained_at => {
                (LoadOutcome::Found(f), StorageKind::File)
            }
            (Ok(k), _) => (LoadOutcome::Found(k), StorageKind::Keyring),
            (Err(_), found @ LoadOutcome::Found(_)) => (found, StorageKind::File),
            (Err(reason), _) => (LoadOutcome::Rejected { reason }, StorageKind::Keyring),
        }
    }

    /// Stores `session` where [`WriteTo`] says; a keychain that fails means files, with a
    /// warning.
    pub fn save(&self, session: &Session) -> Result<(), StoreError> {
        let stem = session.key.file_stem();
        let had_marker = self.files.has_marker(&stem);
        let to_keychain = match self.write_to {
            WriteTo::Keychain => true,
            WriteTo::Files => false,
            WriteTo::WhereStored => had_marker,
        };
        if !to_keychain {
            self.files.save(session)?;
            // `--storage file` moves the session out of the keychain. If the keychain cannot
            // be reached the marker stays, and the newer file wins on load.
            if had_marker && self.delete_entries(&stem).is_ok() {
                self.files.remove_marker(&stem)?;
            }
            return Ok(());
        }
        let bytes = encode(session)?;
        // Marker first: a process killed after the keychain write must not leave an entry
        // that nothing points to.
        self.files.write_marker(&stem)?;
        let written = self.run("store the session in", {
            let stem = stem.clone();
            move |backend| write_entries(backend, &stem, &bytes)
        });
        match written {
            Ok(()) => {
                // The keychain now has the newest session; an older fallback copy would only
                // confuse `status`.
                self.files.delete(&session.key)?;
                Ok(())
            }
            Err(_) => {
                if !had_marker {
                    self.files.remove_marker(&stem)?;
                }
                self.files.save(session)
            }
        }
    }

    /// Deletes the session from the files and, if its marker says so, from the keychain;
    /// `true` if either had it.
    ///
    /// Fails if the keychain cannot be reached, keeping the marker: a logout that reported
    /// success while the tokens stayed in the keychain would resurrect the session later.
    pub fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let stem = key.file_stem();
        let had_file = self.files.delete(key)?;
        if !self.files.has_marker(&stem) {
            return Ok(had_file);
        }
        self.delete_entries(&stem)?;
        self.files.remove_marker(&stem)?;
        Ok(true)
    }

    /// Deletes every session the markers and files know of; returns how many sessions there
    /// were. Fails like [`KeyringStore::delete`].
    pub fn delete_all(&self) -> Result<usize, StoreError> {
        let mut stems: BTreeSet<String> = self
            .files
            .session_files()?
            .into_iter()
            .map(|(stem, _)| stem)
            .collect();
        let markers = self.files.marker_files()?;
        stems.extend(markers.iter().map(|(stem, _)| stem.clone()));
        self.files.delete_all()?;
        for (stem, _) in markers {
            self.delete_entries(&stem)?;
            self.files.remove_marker(&stem)?;
        }
        Ok(stems.len())
    }

    /// Every session once, wherever it lives, sorted by name; a session in both places is
    /// listed as [`KeyringStore::load`] would find it.
    pub fn list(&self) -> Result<Vec<ListedSession>, StoreError> {
        let mut listed: BTreeMap<String, ListedSession> = BTreeMap::new();
        for entry in self.files.list()? {
            let stem = entry
                .path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            listed.insert(stem, entry);
        }
        for (stem, marker) in self.files.marker_files()? {
            let (outcome, location) = self.load_stem(&stem);
            let session = match outcome {
                LoadOutcome::Found(session) => Ok(session),
                LoadOutcome::Rejected { reason } => Err(reason),
                LoadOutcome::Absent => Err(format!("{} is missing", entry_place(&stem))),
            };
            let path = match location {
                StorageKind::Keyring => marker,
                _ => self.files.stem_path(&stem),
            };
            listed.insert(
                stem,
                ListedSession {
                    path,
                    session,
                    location,
                },
            );
        }
        Ok(listed.into_values().collect())
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
    if bytes.len() != manifest.len || crate::hex::sha256(&bytes) != manifest.sha256 {
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
            sha256: crate::hex::sha256(bytes),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;
    use crate::store::{GrantKind, SESSION_FORMAT_VERSION};
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};
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
        let store = store_over(&dir, backend.clone(), &warnings);
        Fixture {
            dir,
            backend,
            warnings,
            store,
        }
    }

    /// A store in `dir` over `backend` whose warnings (its own and the file store's) are
    /// collected in `warnings`.
    fn store_over(
        dir: &Path,
        backend: Arc<dyn KeyringBackend>,
        warnings: &Arc<Mutex<Vec<String>>>,
    ) -> KeyringStore {
        let warnings = Arc::clone(warnings);
        let sink: WarningSink =
            Arc::new(move |w: &str| warnings.lock().unwrap().push(w.to_owned()));
        KeyringStore::new(
            FileStore::new(dir).with_warnings(sink.clone()),
            backend,
            sink,
        )
        .with_timeout(Duration::from_millis(200))
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

    /// Built without the `keyring` feature (`.ci/steps features`): `--storage keyring` warns
    /// once and keeps the session in files.
    #[cfg(not(feature = "keyring"))]
    #[test]
    fn without_the_keyring_feature_sessions_go_to_files_with_one_warning() {
        let os = OsKeyring;
        assert_eq!(os.get("x"), Err(NO_KEYRING.to_string()));
        assert_eq!(os.set("x", b"v"), Err(NO_KEYRING.to_string()));
        assert_eq!(os.delete("x"), Err(NO_KEYRING.to_string()));
        assert_eq!(os.max_value_len(), usize::MAX);
        let f = fixture("no-feature", 64 * 1024);
        let store = store_over(&f.dir, Arc::new(OsKeyring), &f.warnings);
        let s = session("at-no-feature", 10);
        store.save(&s).unwrap();
        assert!(store.files().session_path(&s.key).exists());
        assert_eq!(found(store.load(&s.key).unwrap()), s);
        let warnings = f.warnings.lock().unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains(NO_KEYRING), "{warnings:?}");
    }

    #[test]
    fn a_changed_part_of_the_same_length_is_rejected() {
        let f = fixture("changed-part", 300);
        let s = session(&"c".repeat(1000), 10);
        f.store.save(&s).unwrap();
        let stem = s.key.file_stem();
        {
            let mut entries = f.backend.entries.lock().unwrap();
            let (name, part) = entries
                .iter_mut()
                .find(|(k, _)| k.starts_with(&stem) && k.ends_with(".1"))
                .unwrap();
            let at = part
                .iter()
                .position(|b| *b == b'c')
                .unwrap_or_else(|| panic!("{name}"));
            part[at] = b'd';
        }
        match f.store.load(&s.key).unwrap() {
            LoadOutcome::Rejected { reason } => {
                assert!(reason.contains("do not match"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_newer_keychain_copy_wins_over_a_stale_file() {
        let f = fixture("stale-file", 64 * 1024);
        let newer = session("at-keychain", 20);
        f.store.save(&newer).unwrap();
        // A fallback file from an earlier run, older than what the keychain holds.
        f.store.files().save(&session("at-stale-file", 10)).unwrap();
        let later = reopen(&f, WriteTo::WhereStored);
        assert_eq!(found(later.load(&newer.key).unwrap()), newer);
        assert_eq!(later.location(&newer.key), Some(StorageKind::Keyring));
    }

    #[test]
    fn a_keychain_session_is_listed_at_its_marker_and_counted_by_delete_all() {
        let f = fixture("list-marker", 64 * 1024);
        let s = session("at-listed", 10);
        f.store.save(&s).unwrap();
        let mut other = session("at-other", 10);
        other.key.profile = "work".into();
        f.store.save(&other).unwrap();
        let listed = f.store.list().unwrap();
        assert_eq!(listed.len(), 2, "{listed:?}");
        for entry in &listed {
            assert_eq!(entry.location, StorageKind::Keyring);
            assert_eq!(
                entry.path.extension().and_then(|e| e.to_str()),
                Some("keyring"),
                "{entry:?}"
            );
        }
        assert_eq!(f.store.delete_all().unwrap(), 2);
        assert!(f.backend.entries.lock().unwrap().is_empty());
        assert_eq!(f.store.delete_all().unwrap(), 0);
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
        // Outcome, not a duration: the save returns at all (the hung call never would) and
        // says why it fell back.
        f.store.save(&s).unwrap();
        assert_eq!(found(f.store.load(&s.key).unwrap()), s);
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

    /// Another store over the same directory and keychain, as a later command would open it.
    fn reopen(f: &Fixture, write_to: WriteTo) -> KeyringStore {
        KeyringStore::new(
            FileStore::new(&f.dir).with_warnings(crate::store::ignore_warnings()),
            f.backend.clone(),
            crate::store::ignore_warnings(),
        )
        .with_timeout(Duration::from_millis(200))
        .writing_to(write_to)
    }

    #[test]
    fn a_keychain_session_is_found_and_kept_there_without_a_flag() {
        let f = fixture("where-stored", 64 * 1024);
        let s = session("at-1", 10);
        f.store.save(&s).unwrap();
        let later = reopen(&f, WriteTo::WhereStored);
        assert_eq!(found(later.load(&s.key).unwrap()), s);
        assert_eq!(later.location(&s.key), Some(StorageKind::Keyring));
        // A refresh without --storage stays in the keychain, with no file beside it.
        let renewed = session("at-2", 20);
        later.save(&renewed).unwrap();
        assert!(!f.store.files().session_path(&s.key).exists());
        assert_eq!(found(f.store.load(&s.key).unwrap()), renewed);
        let listed = later.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].location, StorageKind::Keyring);
        assert!(later.delete(&s.key).unwrap());
        assert!(f.backend.entries.lock().unwrap().is_empty());
        assert!(f.store.files().marker_files().unwrap().is_empty());
    }

    #[test]
    fn without_a_marker_the_keychain_is_never_asked() {
        let f = fixture("no-marker", 64 * 1024);
        let s = session("at-file", 10);
        let files_first = reopen(&f, WriteTo::WhereStored);
        files_first.save(&s).unwrap();
        assert!(f.store.files().session_path(&s.key).exists());
        // A keychain that would hang is not touched by load, list or delete.
        f.backend.hang.store(true, Ordering::Relaxed);
        assert_eq!(found(files_first.load(&s.key).unwrap()), s);
        assert_eq!(files_first.list().unwrap()[0].location, StorageKind::File);
        assert!(files_first.delete(&s.key).unwrap());
        assert!(f.warnings.lock().unwrap().is_empty());
    }

    #[test]
    fn storage_file_moves_a_session_out_of_the_keychain() {
        let f = fixture("move-out", 64 * 1024);
        f.store.save(&session("at-1", 10)).unwrap();
        let to_files = reopen(&f, WriteTo::Files);
        let s = session("at-2", 20);
        to_files.save(&s).unwrap();
        assert!(f.backend.entries.lock().unwrap().is_empty());
        assert!(f.store.files().marker_files().unwrap().is_empty());
        assert_eq!(to_files.location(&s.key), Some(StorageKind::File));
    }

    #[test]
    fn a_fallback_session_is_listed_as_a_file_once() {
        let f = fixture("fallback-list", 64 * 1024);
        f.store.save(&session("at-old", 10)).unwrap();
        f.backend.fail.store(true, Ordering::Relaxed);
        let s = session("at-new", 20);
        f.store.save(&s).unwrap();
        let later = reopen(&f, WriteTo::Keychain);
        let listed = later.list().unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].location, StorageKind::File);
        assert_eq!(listed[0].session.as_ref().unwrap(), &s);
        // The keychain comes back: the newer file still wins, and is still labelled a file.
        f.backend.fail.store(false, Ordering::Relaxed);
        let later = reopen(&f, WriteTo::WhereStored);
        assert_eq!(later.location(&s.key), Some(StorageKind::File));
        assert_eq!(found(later.load(&s.key).unwrap()), s);
    }

    #[test]
    fn a_fallback_without_an_earlier_keychain_copy_leaves_no_marker() {
        let f = fixture("fallback-marker", 64 * 1024);
        f.backend.fail.store(true, Ordering::Relaxed);
        f.store.save(&session("at", 10)).unwrap();
        assert!(f.store.files().marker_files().unwrap().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_marker_path_is_not_followed() {
        let f = fixture("marker-link", 64 * 1024);
        let s = session("at", 10);
        std::fs::create_dir_all(&f.dir).unwrap();
        let target = f.dir.join("elsewhere");
        let marker = f.dir.join(format!("{}.keyring", s.key.file_stem()));
        std::os::unix::fs::symlink(&target, &marker).unwrap();
        let err = f.store.save(&s).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(!target.exists(), "the link was followed");
        assert!(f.backend.entries.lock().unwrap().is_empty());
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
