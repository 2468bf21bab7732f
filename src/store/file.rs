//! `--storage file`: one JSON file per session in a private directory.
//!
//! Hygiene after int128/kubelogin's token cache: hashed file names, a 0700 directory, 0600
//! files created with that mode (never chmod-ed after the secret is in them), one `.lock` file
//! per session. Every write goes to a unique temp file in the same directory, is fsync-ed and
//! renamed over the session, so a reader sees the old session or the new one, never a mix, even
//! if the writer is killed. Loading a session is one lstat, one open and one read: no directory
//! scan on the hot path.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{
    decode, encode, ListedSession, LoadOutcome, Session, SessionKey, SessionLock, StorageKind,
    StoreError, WarningSink, DEFAULT_LOCK_TIMEOUT,
};

/// Bigger than any real session (a few KiB of tokens); a bigger file is not ours.
const MAX_SESSION_BYTES: u64 = 1024 * 1024;

/// Temp files older than this belong to a writer that died; younger ones may be mid-write.
const STALE_TEMP_AGE: Duration = Duration::from_secs(300);

const SESSION_EXT: &str = "json";
const LOCK_EXT: &str = "lock";
const TEMP_EXT: &str = "tmp";
const MARKER_EXT: &str = "keyring";
/// Per-profile pointer to the current session (a `SessionKey` as JSON).
const CURRENT_EXT: &str = "current";

/// Sessions as files in one directory.
pub struct FileStore {
    dir: PathBuf,
    lock_timeout: Duration,
    // Only the unix directory-mode repair warns today.
    #[cfg_attr(not(unix), allow(dead_code))]
    warnings: WarningSink,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.dir)
            .field("lock_timeout", &self.lock_timeout)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// A store in `dir` (created on the first write), for tests and library users.
    /// Warnings go to stderr until [`FileStore::with_warnings`] says otherwise.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStore {
            dir: dir.into(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            warnings: Arc::new(|message| eprintln!("warning: {message}")),
        }
    }

    /// The store at [`FileStore::default_dir`].
    pub fn open_default() -> Result<Self, StoreError> {
        Ok(Self::new(Self::default_dir()?))
    }

    /// `$AUTHCLI_HOME/sessions` when `AUTHCLI_HOME` is set and not empty, else `sessions` in
    /// the platform's local data directory (`~/.local/share/authcli/sessions` on Linux; on
    /// Windows `%LOCALAPPDATA%`, not the roaming `%APPDATA%` that follows a user to other
    /// machines: tokens belong to this one).
    pub fn default_dir() -> Result<PathBuf, StoreError> {
        match std::env::var_os("AUTHCLI_HOME") {
            Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join("sessions")),
            _ => directories::ProjectDirs::from("", "", "authcli")
                .map(|dirs| dirs.data_local_dir().join("sessions"))
                .ok_or(StoreError::NoDataDir),
        }
    }

    /// Sends warnings to `warnings` instead of stderr.
    pub fn with_warnings(mut self, warnings: WarningSink) -> Self {
        self.warnings = warnings;
        self
    }

    /// Changes how long [`FileStore::lock`] waits (default [`DEFAULT_LOCK_TIMEOUT`]).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The directory holding the sessions.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the session for `key` lives.
    pub fn session_path(&self, key: &SessionKey) -> PathBuf {
        self.dir.join(format!("{}.{SESSION_EXT}", key.file_stem()))
    }

    /// Where the session file named `stem` lives.
    pub(super) fn stem_path(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{stem}.{SESSION_EXT}"))
    }

    /// The lock file of the session for `key`.
    pub fn lock_path(&self, key: &SessionKey) -> PathBuf {
        self.dir.join(format!("{}.{LOCK_EXT}", key.file_stem()))
    }

    /// Looks the session for `key` up: the hot path of `authcli token`.
    pub fn load(&self, key: &SessionKey) -> Result<LoadOutcome, StoreError> {
        Ok(self.load_stem(&key.file_stem()))
    }

    /// Looks the session file named `stem` up.
    pub(super) fn load_stem(&self, stem: &str) -> LoadOutcome {
        let path = self.stem_path(stem);
        match read_private_file(&path) {
            Ok(None) => LoadOutcome::Absent,
            Ok(Some(bytes)) => match decode(&bytes, stem, &place(&path)) {
                Ok(session) => LoadOutcome::Found(session),
                Err(reason) => LoadOutcome::Rejected { reason },
            },
            Err(reason) => LoadOutcome::Rejected { reason },
        }
    }

    /// Writes `session` atomically over the one with the same key.
    pub fn save(&self, session: &Session) -> Result<(), StoreError> {
        let bytes = encode(session)?;
        self.ensure_dir()?;
        write_atomic(&self.dir, &self.session_path(&session.key), &bytes)
    }

    /// Remembers `key` as the profile's current session (the last one logged in or used), so
    /// `authcli token` without provider flags finds it in one small read.
    pub fn set_current(&self, key: &SessionKey) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(key).map_err(StoreError::Encode)?;
        self.ensure_dir()?;
        write_atomic(&self.dir, &self.current_path(&key.profile), &bytes)
    }

    /// The profile's current session key, if one was recorded and is readable.
    pub fn current(&self, profile: &str) -> Option<SessionKey> {
        let bytes = read_private_file(&self.current_path(profile)).ok()??;
        serde_json::from_slice::<SessionKey>(&bytes)
            .ok()
            .filter(|key| key.profile == profile)
    }

    fn current_path(&self, profile: &str) -> PathBuf {
        let hex = crate::hex::sha256(profile.as_bytes());
        self.dir.join(format!("{hex}.{CURRENT_EXT}"))
    }

    /// Deletes the session for `key`; `true` if there was one. The lock file stays: deleting
    /// it while another process waits on it would let a third one lock a new file and both
    /// believe they hold the lock.
    pub fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        remove_if_present(&self.session_path(key))
    }

    /// Deletes every session file, readable or not; returns how many there were.
    pub fn delete_all(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        for (_, path) in self.session_files()? {
            if remove_if_present(&path)? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Every session file with its session or the reason it cannot be used. Also removes temp
    /// files left by writers that were killed, since this is the one place that scans anyway.
    pub fn list(&self) -> Result<Vec<ListedSession>, StoreError> {
        self.remove_stale_temp_files();
        Ok(self
            .session_files()?
            .into_iter()
            .map(|(stem, path)| {
                let session = read_private_file(&path).and_then(|bytes| match bytes {
                    Some(bytes) => decode(&bytes, &stem, &place(&path)),
                    // Deleted between the scan and the read.
                    None => Err(format!("{} disappeared while being read", place(&path))),
                });
                ListedSession {
                    path,
                    session,
                    location: StorageKind::File,
                }
            })
            .collect())
    }

    /// Takes the exclusive lock of `key`'s session, polling until the lock timeout.
    ///
    /// `File::lock` would block forever if a process hung while holding the lock; polling
    /// `try_lock` bounds the wait and lets the error name the lock file.
    pub fn lock(&self, key: &SessionKey) -> Result<SessionLock, StoreError> {
        self.ensure_dir()?;
        let path = self.lock_path(key);
        let file = open_no_follow(
            private_options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
            &path,
        )
        .map_err(|e| StoreError::io("open the lock file", &path, e))?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(SessionLock {
                        file: Some(file),
                        path: Some(path),
                    })
                }
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => {
                    return Err(StoreError::io("lock", &path, e));
                }
            }
            let waited = started.elapsed();
            if waited >= self.lock_timeout {
                return Err(StoreError::LockTimeout { path, waited });
            }
            std::thread::sleep(pause.min(self.lock_timeout - waited));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Creates the directory private, and makes an existing one private again.
    fn ensure_dir(&self) -> Result<(), StoreError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(|e| StoreError::io("create the session directory", &self.dir, e))?;
            let meta = fs::metadata(&self.dir)
                .map_err(|e| StoreError::io("inspect the session directory", &self.dir, e))?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(|e| {
                    StoreError::io("make the session directory private", &self.dir, e)
                })?;
                (self.warnings)(&format!(
                    "the session directory {} was accessible to other users (mode {mode:03o}); \
                     it is now 0700",
                    self.dir.display()
                ));
            }
        }
        #[cfg(not(unix))]
        fs::create_dir_all(&self.dir)
            .map_err(|e| StoreError::io("create the session directory", &self.dir, e))?;
        Ok(())
    }

    /// Records that the keychain holds the session named `stem`: keychains cannot be listed
    /// portably, so `status` finds keychain sessions through these empty files.
    ///
    /// The marker is written before the keychain entry and removed after it, so whenever the
    /// keychain may hold a session a marker says so, and loading follows it.
    pub(super) fn write_marker(&self, stem: &str) -> Result<(), StoreError> {
        self.ensure_dir()?;
        let path = self.marker_path(stem);
        open_no_follow(
            private_options().write(true).create(true).truncate(false),
            &path,
        )
        .map(drop)
        .map_err(|e| StoreError::io("create", &path, e))
    }

    pub(super) fn remove_marker(&self, stem: &str) -> Result<bool, StoreError> {
        remove_if_present(&self.marker_path(stem))
    }

    /// Whether the keychain may hold the session named `stem`: one lstat, no keychain call.
    pub(super) fn has_marker(&self, stem: &str) -> bool {
        fs::symlink_metadata(self.marker_path(stem)).is_ok_and(|m| m.is_file())
    }

    fn marker_path(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{stem}.{MARKER_EXT}"))
    }

    pub(super) fn marker_files(&self) -> Result<Vec<(String, PathBuf)>, StoreError> {
        self.files_with_ext(MARKER_EXT)
    }

    pub(super) fn session_files(&self) -> Result<Vec<(String, PathBuf)>, StoreError> {
        self.files_with_ext(SESSION_EXT)
    }

    /// `(stem, path)` of every `{64 hex}.{ext}` in the directory, sorted; none if it is missing.
    fn files_with_ext(&self, ext: &str) -> Result<Vec<(String, PathBuf)>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("list the session directory", &self.dir, e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| StoreError::io("list the session directory", &self.dir, e))?;
            let name = entry.file_name();
            let Some(stem) = name
                .to_str()
                .and_then(|n| n.strip_suffix(ext)?.strip_suffix('.'))
            else {
                continue;
            };
            if is_stem(stem) {
                files.push((stem.to_owned(), entry.path()));
            }
        }
        files.sort();
        Ok(files)
    }

    fn remove_stale_temp_files(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let is_temp = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with('.') && n.ends_with(&format!(".{TEMP_EXT}")));
            let stale = || {
                entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= STALE_TEMP_AGE)
            };
            if is_temp && stale() {
                // Best effort: another process may be cleaning up the same file.
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

fn is_stem(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn place(path: &Path) -> String {
    format!("session file {}", path.display())
}

/// `OpenOptions` that create files readable by the owner only, from the first byte on.
fn private_options() -> OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Opens `path` without following a symbolic link in its last component (`O_NOFOLLOW`): a
/// link planted at a lock or marker path must not make authcli create or open a file
/// elsewhere. The opened file must be a regular file.
fn open_no_follow(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NOFOLLOW);
    #[cfg(not(unix))]
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(not_followed());
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return not_followed();
        }
        e
    })?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(
            "it is not a regular file; delete it and try again",
        ));
    }
    Ok(file)
}

fn not_followed() -> io::Error {
    io::Error::other(
        "it is a symbolic link, which authcli does not follow in its session directory; \
         delete it and try again",
    )
}

/// Reads a session file if it is one we can trust: `Ok(None)` if it does not exist,
/// `Err(reason)` if it is a symlink, not a regular file, readable by others, too big or
/// unreadable.
fn read_private_file(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let place = place(path);
    let mut attempts = 0;
    let (file, meta) = loop {
        let link_meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{place} cannot be inspected: {e}")),
        };
        if link_meta.file_type().is_symlink() {
            // A link could point anywhere, including at a file an attacker controls.
            return Err(format!("{place} is a symbolic link"));
        }
        if !link_meta.is_file() {
            return Err(format!("{place} is not a regular file"));
        }
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{place} cannot be opened: {e}")),
        };
        // Check what was opened, not what was looked at: the name may have changed between
        // the lstat and the open. A concurrent save renaming a new session over it is the
        // usual reason, so look again; only a name that keeps changing is suspicious.
        let meta = file
            .metadata()
            .map_err(|e| format!("{place} cannot be inspected: {e}"))?;
        if same_file(&link_meta, &meta) {
            break (file, meta);
        }
        attempts += 1;
        if attempts == 5 {
            return Err(format!("{place} kept changing while being opened"));
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{place} is accessible to other users (mode {mode:03o}); it must be 0600, \
                 and its tokens should be considered leaked"
            ));
        }
    }
    if !meta.is_file() {
        return Err(format!("{place} is not a regular file"));
    }
    if meta.len() > MAX_SESSION_BYTES {
        return Err(format!("{place} is too large to be a session"));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // `take` bounds the read even if the file grows after the size check.
    (&file)
        .take(MAX_SESSION_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{place} cannot be read: {e}"))?;
    if bytes.len() as u64 > MAX_SESSION_BYTES {
        return Err(format!("{place} is too large to be a session"));
    }
    Ok(Some(bytes))
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Windows exposes no stable file id through std; the symlink check above still holds.
#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata) -> bool {
    true
}

/// Replaces `target` with `bytes` so that no reader, and no crash, ever sees a partial file:
/// unique temp file beside it, write, fsync, rename, fsync the directory.
fn write_atomic(dir: &Path, target: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let (temp_path, mut temp) = create_temp_file(dir, target)?;
    let written = temp
        .write_all(bytes)
        .and_then(|()| temp.sync_all())
        .map_err(|e| StoreError::io("write", &temp_path, e))
        .and_then(|()| {
            drop(temp);
            fs::rename(&temp_path, target).map_err(|e| StoreError::io("replace", target, e))
        });
    if let Err(err) = written {
        let _ = fs::remove_file(&temp_path);
        return Err(err);
    }
    sync_dir(dir)
}

/// A new file no other writer can have opened: `create_new` with a name made of the target,
/// the process id, a per-process counter and the clock.
fn create_temp_file(dir: &Path, target: &Path) -> Result<(PathBuf, File), StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let stem = target
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("session");
    loop {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = dir.join(format!(
            ".{stem}.{}.{}.{nanos}.{TEMP_EXT}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        match private_options().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(StoreError::io("create a temporary file in", dir, e)),
        }
    }
}

/// Makes the rename itself durable: without it a power loss can bring the old name back.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("sync the session directory", dir, e))
}

/// Windows cannot open a directory as a file; NTFS journals the rename itself.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), StoreError> {
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<bool, StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StoreError::io("delete", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_64_lowercase_hex() {
        assert!(is_stem(&"a".repeat(64)));
        assert!(!is_stem(&"A".repeat(64)));
        assert!(!is_stem(&"a".repeat(63)));
        assert!(!is_stem(&format!("{}g", "a".repeat(63))));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_lock_path_is_not_followed() {
        let dir = private_test_dir("lock-link");
        let store = FileStore::new(&dir);
        let key = SessionKey {
            profile: "default".into(),
            issuer: "https://issuer.example/".into(),
            client_id: "cli".into(),
            audience: None,
            scopes: Default::default(),
        };
        // A dangling link (would be created through) and a link to an existing file (would be
        // opened and locked through).
        let target = dir.join("created-through-the-link");
        std::os::unix::fs::symlink(&target, store.lock_path(&key)).unwrap();
        let err = store.lock(&key).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(!target.exists());
        fs::remove_file(store.lock_path(&key)).unwrap();
        let existing = dir.join("existing");
        fs::write(&existing, b"keep").unwrap();
        std::os::unix::fs::symlink(&existing, store.lock_path(&key)).unwrap();
        assert!(store.lock(&key).is_err());
        assert_eq!(fs::read(&existing).unwrap(), b"keep");
        // A real lock file works.
        fs::remove_file(store.lock_path(&key)).unwrap();
        assert!(store.lock(&key).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }

    fn private_test_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "authcli-{name}-{}-{}",
            std::process::id(),
            crate::secret::random_urlsafe(6)
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write_private(path: &Path, len: u64) {
        let file = private_options()
            .write(true)
            .create(true)
            .open(path)
            .unwrap();
        file.set_len(len).unwrap();
    }

    #[test]
    fn the_size_limit_admits_exactly_the_maximum() {
        let dir = private_test_dir("size-limit");
        let (at_limit, over) = (dir.join("at.json"), dir.join("over.json"));
        write_private(&at_limit, MAX_SESSION_BYTES);
        write_private(&over, MAX_SESSION_BYTES + 1);
        let read = read_private_file(&at_limit).unwrap().unwrap();
        assert_eq!(read.len() as u64, MAX_SESSION_BYTES);
        let err = read_private_file(&over).unwrap_err();
        assert!(err.contains("too large"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_cannot_be_inspected_is_an_error_not_a_missing_session() {
        // A regular file where the sessions directory should be: lstat fails with ENOTDIR
        // (running as root rules out a permission error). "Not found" would hide the problem
        // behind "not logged in".
        let dir = private_test_dir("not-a-dir");
        let file = dir.join("sessions");
        fs::write(&file, b"").unwrap();
        let err = read_private_file(&file.join("x.json")).unwrap_err();
        assert!(err.contains("cannot be inspected"), "{err}");
        assert_eq!(read_private_file(&dir.join("absent.json")), Ok(None));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_temp_file_in_a_missing_directory_is_an_error_not_a_retry() {
        let dir = private_test_dir("temp-missing");
        let missing = dir.join("missing");
        let err = create_temp_file(&missing, &missing.join("x.json")).unwrap_err();
        assert!(err.to_string().contains("temporary file"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temp_files_are_unique_and_private() {
        let dir = private_test_dir("temp-test");
        let target = dir.join("x.json");
        let (a, _fa) = create_temp_file(&dir, &target).unwrap();
        let (b, _fb) = create_temp_file(&dir, &target).unwrap();
        assert_ne!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&a).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
