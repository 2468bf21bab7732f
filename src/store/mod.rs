//! Sessions at rest: what a login leaves behind so that `authcli token` can answer from cache.
//!
//! This module owns the session format, where sessions live (`--storage file|keyring|none`),
//! and the per-session lock that makes concurrent refreshes happen once. It is plain,
//! synchronous std code on purpose: the cache hit of `authcli token` is one small file read and
//! one JSON parse, with no HTTP client, no TLS, no async runtime and no directory scan. A session
//! that cannot be trusted (unreadable, corrupt, truncated, of an unknown format version, a
//! symlink, readable by others) is reported as [`LoadOutcome::Rejected`] and never crashes the
//! tool; a write never leaves a half-written session behind, whatever kills the writer. It never
//! talks to a provider and never prints a token.

mod file;
mod keyring;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::exit::ExitCode;
use crate::secret::{AccessToken, IdToken, RefreshToken};

pub use self::file::FileStore;
pub use self::keyring::{KeyringBackend, KeyringStore, OsKeyring, WriteTo};

/// The session format this build writes and the only one it reads.
pub const SESSION_FORMAT_VERSION: u32 = 1;

/// How long [`Storage::lock`] waits for another process before giving up.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the store sends the warnings the caller should show (keyring fallback, a directory
/// whose mode was tightened). The store never prints by itself: the printer decides.
pub type WarningSink = Arc<dyn Fn(&str) + Send + Sync>;

/// A sink that drops warnings, for library users and tests that do not want them.
pub fn ignore_warnings() -> WarningSink {
    Arc::new(|_| {})
}

/// What identifies a session (SPEC §6): one per profile, issuer, client, audience and scope set.
///
/// Fields are taken verbatim; normalising the issuer (trailing `/`) is the config layer's job,
/// so that one configuration always maps to one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionKey {
    pub profile: String,
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub scopes: BTreeSet<String>,
}

impl SessionKey {
    /// The name of this session on disk and in the keychain: hex SHA-256 of an unambiguous
    /// encoding of the five fields.
    ///
    /// Hashing keeps issuers, client ids and audiences out of directory listings and file names
    /// free of path characters; length prefixes make the encoding injective, so two different
    /// keys can only share a name through a SHA-256 collision.
    pub fn file_stem(&self) -> String {
        fn field(h: &mut Sha256, s: &str) {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
        let mut h = Sha256::new();
        h.update(b"authcli session key v1\0");
        field(&mut h, &self.profile);
        field(&mut h, &self.issuer);
        field(&mut h, &self.client_id);
        match &self.audience {
            None => h.update([0u8]),
            Some(aud) => {
                h.update([1u8]);
                field(&mut h, aud);
            }
        }
        h.update((self.scopes.len() as u64).to_be_bytes());
        for scope in &self.scopes {
            field(&mut h, scope);
        }
        crate::hex::lower(&h.finalize())
    }
}

/// The grant that produced a session, which decides how it is renewed: a client-credentials
/// session is renewed by re-running that grant, the others by their refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    AuthorizationCode,
    Device,
    ClientCredentials,
    Password,
}

/// One stored login: the tokens and what is needed to use and renew them without discovery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Format version; anything but [`SESSION_FORMAT_VERSION`] is rejected on load.
    pub version: u32,
    pub key: SessionKey,
    pub grant: GrantKind,
    pub access_token: AccessToken,
    pub token_type: String,
    /// Unix seconds. `None` when the provider sent no `expires_in`: such a token is treated as
    /// already expired by [`Session::valid_for`], never as one that never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshToken>,
    /// `sub` of the id_token or access token, shown by `authcli status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Unix seconds when the tokens were received.
    pub obtained_at: u64,
    /// Where the client's credential comes from (never its value): renewal reads it again.
    #[serde(default, skip_serializing_if = "is_public_client")]
    pub client_auth: crate::secret::ClientAuthSpec,
    /// The `--param` pairs of the login (never a credential: those are refused). A renewal
    /// whose run gives none sends these again, so a client-credentials session keeps asking for
    /// the same RFC 8707 `resource` instead of silently getting a token for another audience.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
}

fn is_public_client(spec: &crate::secret::ClientAuthSpec) -> bool {
    *spec == crate::secret::ClientAuthSpec::None
}

impl Session {
    /// Whether the access token stays valid for at least `min_ttl_secs` more seconds at `now`
    /// (unix seconds). A token without a known expiry is never valid: serving it from cache
    /// could hand a script a token that died long ago.
    pub fn valid_for(&self, min_ttl_secs: u64, now: u64) -> bool {
        match self.expires_at {
            Some(expires_at) => expires_at > now && expires_at - now >= min_ttl_secs,
            None => false,
        }
    }
}

/// The result of looking a session up.
// Returned once per command, never stored in bulk: boxing the session would only make every
// caller write `*session`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum LoadOutcome {
    Found(Session),
    /// No session is stored for this key.
    Absent,
    /// Something is stored but cannot be trusted. The caller warns with `reason` (which names
    /// the file or keychain entry, never a token) and goes on as if the session were absent.
    Rejected {
        reason: String,
    },
}

/// One entry of [`Storage::list`], for `authcli status` and `authcli logout --all`.
#[derive(Debug)]
pub struct ListedSession {
    /// The session's file (or, for the keychain, its marker file).
    pub path: PathBuf,
    /// The session, or why it cannot be used.
    pub session: Result<Session, String>,
    /// Where the session really lives: `File` for a session that fell back to files, even
    /// under `--storage keyring`.
    pub location: StorageKind,
}

/// Which storage `--storage` selects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    /// Files under `$AUTHCLI_HOME/sessions` or the platform data directory.
    #[default]
    File,
    /// The operating system's keychain, falling back to files.
    Keyring,
    /// Store nothing.
    None,
}

/// Failures of the store that the caller cannot just treat as "no session".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot find a directory for sessions: set AUTHCLI_HOME to a writable directory")]
    NoDataDir,
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "timed out after {}s waiting for the session lock {}: another authcli process is using \
         this session; try again when it has finished",
        waited.as_secs(),
        path.display()
    )]
    LockTimeout { path: PathBuf, waited: Duration },
    #[error("could not encode the session: {0}")]
    Encode(#[source] serde_json::Error),
    #[error(
        "could not delete {entry} ({reason}); unlock the keychain and retry, or delete the entry \
         with the keychain's own tool"
    )]
    Keychain { entry: String, reason: String },
}

impl StoreError {
    /// Exit code of SPEC §7: every store failure is a local problem.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            StoreError::NoDataDir
            | StoreError::Io { .. }
            | StoreError::LockTimeout { .. }
            | StoreError::Encode(_)
            | StoreError::Keychain { .. } => ExitCode::Other,
        }
    }

    fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// An exclusive lock on one session, held until dropped.
///
/// Concurrent `authcli token` processes take it before refreshing and re-read the session
/// under it, so a rotating refresh token is used once, not once per process.
#[derive(Debug)]
pub struct SessionLock {
    file: Option<std::fs::File>,
    path: Option<PathBuf>,
}

impl SessionLock {
    /// The lock file, or `None` under `--storage none`, where there is nothing to protect.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            // Closing the file releases the lock anyway; unlocking first just makes it
            // prompt even if something still holds a duplicate of the descriptor.
            let _ = file.unlock();
        }
    }
}

/// The session store chosen by `--storage`.
#[derive(Debug)]
pub enum Storage {
    File(FileStore),
    Keyring(KeyringStore),
    /// `--storage none`: nothing is read or written.
    None,
}

impl Storage {
    /// The store for `--storage kind` at its default place (`$AUTHCLI_HOME/sessions`, else the
    /// platform data directory), sending warnings to `warnings`. See [`Storage::open_for`].
    pub fn open(kind: StorageKind, warnings: WarningSink) -> Result<Self, StoreError> {
        Self::open_for(Some(kind), warnings)
    }

    /// The store for `--storage` as given (`None`: not given). Except under `none`, sessions
    /// are found wherever they live, in files or (by their marker) in the keychain; `kind`
    /// decides only where sessions are written: `file` to files, `keyring` to the keychain,
    /// and no flag where the session already lives, else files.
    pub fn open_for(kind: Option<StorageKind>, warnings: WarningSink) -> Result<Self, StoreError> {
        let write_to = match kind {
            Some(StorageKind::None) => return Ok(Storage::None),
            Some(StorageKind::File) => WriteTo::Files,
            Some(StorageKind::Keyring) => WriteTo::Keychain,
            None => WriteTo::WhereStored,
        };
        Ok(Storage::Keyring(
            KeyringStore::new(
                FileStore::open_default()?.with_warnings(warnings.clone()),
                Arc::new(OsKeyring),
                warnings,
            )
            .writing_to(write_to),
        ))
    }

    /// Looks the session for `key` up.
    pub fn load(&self, key: &SessionKey) -> Result<LoadOutcome, StoreError> {
        match self {
            Storage::File(files) => files.load(key),
            Storage::Keyring(keyring) => keyring.load(key),
            Storage::None => Ok(LoadOutcome::Absent),
        }
    }

    /// Stores `session`, replacing the one with the same key.
    pub fn save(&self, session: &Session) -> Result<(), StoreError> {
        match self {
            Storage::File(files) => files.save(session),
            Storage::Keyring(keyring) => keyring.save(session),
            Storage::None => Ok(()),
        }
    }

    /// Deletes the session for `key`; `true` if there was one.
    pub fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        match self {
            Storage::File(files) => files.delete(key),
            Storage::Keyring(keyring) => keyring.delete(key),
            Storage::None => Ok(false),
        }
    }

    /// Deletes every stored session, including ones that cannot be read; returns how many.
    pub fn delete_all(&self) -> Result<usize, StoreError> {
        match self {
            Storage::File(files) => files.delete_all(),
            Storage::Keyring(keyring) => keyring.delete_all(),
            Storage::None => Ok(0),
        }
    }

    /// Every stored session, readable or not, with where it lives.
    pub fn list(&self) -> Result<Vec<ListedSession>, StoreError> {
        match self {
            Storage::File(files) => files.list(),
            Storage::Keyring(keyring) => keyring.list(),
            Storage::None => Ok(Vec::new()),
        }
    }

    /// Records `key` as its profile's current session (see [`FileStore::set_current`]).
    pub fn set_current(&self, key: &SessionKey) -> Result<(), StoreError> {
        match self {
            Storage::File(files) => files.set_current(key),
            Storage::Keyring(keyring) => keyring.files().set_current(key),
            Storage::None => Ok(()),
        }
    }

    /// The profile's current session key, if any.
    pub fn current(&self, profile: &str) -> Option<SessionKey> {
        match self {
            Storage::File(files) => files.current(profile),
            Storage::Keyring(keyring) => keyring.files().current(profile),
            Storage::None => None,
        }
    }

    /// Takes the exclusive lock of `key`'s session, waiting up to the store's lock timeout.
    pub fn lock(&self, key: &SessionKey) -> Result<SessionLock, StoreError> {
        match self {
            Storage::File(files) => files.lock(key),
            Storage::Keyring(keyring) => keyring.files().lock(key),
            Storage::None => Ok(SessionLock {
                file: None,
                path: None,
            }),
        }
    }
}

/// Encodes a session the way every storage keeps it.
fn encode(session: &Session) -> Result<Vec<u8>, StoreError> {
    let mut bytes = serde_json::to_vec_pretty(session).map_err(StoreError::Encode)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Decodes stored bytes into a session for `expected` (or for whatever key the file names,
/// when listing by file stem), explaining any refusal. `place` names the file or entry.
fn decode(bytes: &[u8], expected_stem: &str, place: &str) -> Result<Session, String> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: u32,
    }
    let session: Session = match serde_json::from_slice(bytes) {
        Ok(session) => session,
        Err(err) => {
            // A file from a newer authcli may not parse as this format at all: say so rather
            // than calling it corrupt.
            return Err(match serde_json::from_slice::<VersionOnly>(bytes) {
                Ok(v) if v.version != SESSION_FORMAT_VERSION => unknown_version(place, v.version),
                _ if bytes.iter().all(u8::is_ascii_whitespace) => format!("{place} is empty"),
                _ => format!("{place} is corrupt or truncated ({})", describe(&err)),
            });
        }
    };
    if session.version != SESSION_FORMAT_VERSION {
        return Err(unknown_version(place, session.version));
    }
    if session.key.file_stem() != expected_stem {
        // A file copied or renamed by hand: its tokens belong to another session.
        return Err(format!(
            "{place} holds the session of another profile, issuer, client, audience or scope set"
        ));
    }
    Ok(session)
}

/// For `fuzz/`: decodes a session file's bytes as [`FileStore::load`] does.
#[doc(hidden)]
pub fn fuzz_decode(bytes: &[u8]) -> Result<Session, String> {
    let stem = serde_json::from_slice::<VersionedKey>(bytes)
        .map(|v| v.key.file_stem())
        .unwrap_or_default();
    decode(bytes, &stem, "session file")
}

#[derive(Deserialize)]
struct VersionedKey {
    key: SessionKey,
}

/// Where and what kind of JSON error, without serde_json's message: it may quote the offending
/// value, which in a session file can be a token.
fn describe(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Eof => "ends early",
        Category::Syntax => "invalid JSON",
        Category::Data => "unexpected field or value",
        Category::Io => "read error",
    };
    format!("{what} at line {}, column {}", err.line(), err.column())
}

fn unknown_version(place: &str, version: u32) -> String {
    format!(
        "{place} has session format version {version}, this authcli reads only version \
         {SESSION_FORMAT_VERSION}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey {
            profile: "default".into(),
            issuer: "https://tenant.example/".into(),
            client_id: "client".into(),
            audience: Some("https://api.example".into()),
            scopes: ["openid", "offline_access"]
                .into_iter()
                .map(String::from)
                .collect(),
        }
    }

    fn session(expires_at: Option<u64>) -> Session {
        Session {
            version: SESSION_FORMAT_VERSION,
            key: key(),
            grant: GrantKind::AuthorizationCode,
            access_token: AccessToken::new("at"),
            token_type: "Bearer".into(),
            expires_at,
            scope: None,
            id_token: None,
            refresh_token: None,
            subject: None,
            token_endpoint: None,
            revocation_endpoint: None,
            obtained_at: 0,
            client_auth: Default::default(),
            params: Vec::new(),
        }
    }

    #[test]
    fn file_stem_is_hex_sha256_and_stable() {
        let stem = key().file_stem();
        assert_eq!(stem.len(), 64);
        assert!(stem
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(stem, key().file_stem());
    }

    #[test]
    fn file_stem_leaks_no_field() {
        let stem = key().file_stem();
        assert!(!stem.contains("default") && !stem.contains("client"));
    }

    #[test]
    fn file_stem_differs_for_every_field_and_ambiguous_splits() {
        let base = key();
        let mut variants = vec![base.clone()];
        let mut k = base.clone();
        k.profile = "work".into();
        variants.push(k);
        let mut k = base.clone();
        k.issuer = "https://tenant.example".into();
        variants.push(k);
        let mut k = base.clone();
        k.client_id = "client2".into();
        variants.push(k);
        let mut k = base.clone();
        k.audience = None;
        variants.push(k);
        let mut k = base.clone();
        k.audience = Some(String::new());
        variants.push(k);
        let mut k = base.clone();
        k.scopes.insert("email".into());
        variants.push(k);
        // Moving a boundary between fields must change the name (no plain concatenation).
        let mut k = base.clone();
        k.profile = "defaulthttps://tenant.example/".into();
        k.issuer = String::new();
        variants.push(k);
        let mut k = base.clone();
        k.scopes = ["openid offline_access".to_string()].into_iter().collect();
        variants.push(k);
        let stems: BTreeSet<String> = variants.iter().map(SessionKey::file_stem).collect();
        assert_eq!(stems.len(), variants.len());
    }

    #[test]
    fn valid_for_respects_min_ttl() {
        let s = session(Some(1_000));
        assert!(s.valid_for(60, 900));
        assert!(s.valid_for(100, 900));
        assert!(!s.valid_for(101, 900));
        assert!(!s.valid_for(0, 1_000));
        assert!(!s.valid_for(0, 2_000));
    }

    #[test]
    fn a_token_without_expiry_is_never_valid() {
        assert!(!session(None).valid_for(0, 0));
    }

    #[test]
    fn session_serializes_grant_in_snake_case_and_round_trips() {
        let mut s = session(Some(5));
        s.grant = GrantKind::ClientCredentials;
        let bytes = encode(&s).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"client_credentials\""), "{text}");
        assert_eq!(decode(&bytes, &key().file_stem(), "f").unwrap(), s);
    }

    #[test]
    fn decode_explains_each_refusal() {
        let stem = key().file_stem();
        let good = encode(&session(Some(5))).unwrap();
        let reason = |bytes: &[u8]| decode(bytes, &stem, "the file").unwrap_err();
        assert!(reason(b"").contains("empty"));
        assert!(reason(b"{\"version\": 1, \"key\"").contains("corrupt or truncated"));
        assert!(reason(&good[..good.len() / 2]).contains("corrupt or truncated"));
        assert!(reason(b"{\"version\": 7}").contains("version 7"));
        let mut future = session(Some(5));
        future.version = 2;
        assert!(reason(&encode(&future).unwrap()).contains("version 2"));
        let mut other = session(Some(5));
        other.key.profile = "other".into();
        assert!(reason(&encode(&other).unwrap()).contains("another profile"));
    }

    #[test]
    fn decode_errors_do_not_quote_the_file() {
        let stem = key().file_stem();
        let mut text = String::from_utf8(encode(&session(Some(5))).unwrap()).unwrap();
        text = text.replace("\"obtained_at\": 0", "\"obtained_at\": \"eyJSECRET\"");
        let reason = decode(text.as_bytes(), &stem, "the file").unwrap_err();
        assert!(!reason.contains("SECRET"), "{reason}");
        assert!(reason.contains("line"), "{reason}");
    }

    #[test]
    fn none_storage_stores_nothing() {
        let store = Storage::None;
        store.save(&session(Some(5))).unwrap();
        assert!(matches!(store.load(&key()).unwrap(), LoadOutcome::Absent));
        assert!(store.list().unwrap().is_empty());
        assert!(!store.delete(&key()).unwrap());
        assert!(store.lock(&key()).unwrap().path().is_none());
    }
}
