//! Shared helpers of the `store_*` integration tests: private temp directories and sessions
//! whose content proves they were written whole.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use authcli::secret::{AccessToken, IdToken, RefreshToken};
use authcli::store::{GrantKind, LoadOutcome, Session, SessionKey, SESSION_FORMAT_VERSION};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "authcli-{name}-{}-{}",
            std::process::id(),
            authcli::secret::random_urlsafe(6)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The `sessions` directory a `FileStore` would use under this one.
    pub fn sessions(&self) -> PathBuf {
        self.0.join("sessions")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn key(profile: &str) -> SessionKey {
    SessionKey {
        profile: profile.into(),
        issuer: "https://tenant.eu.auth0.example/".into(),
        client_id: "authcli-test".into(),
        audience: Some("https://api.example.test".into()),
        scopes: ["openid", "profile", "offline_access"]
            .into_iter()
            .map(String::from)
            .collect(),
    }
}

/// Session number `n` for `key`, with an access token of `padding` extra bytes so that writing
/// it takes a while. Every field is derived from `n`, so a mix of two writes is detectable.
pub fn numbered_session(key: &SessionKey, n: u64, padding: usize) -> Session {
    Session {
        version: SESSION_FORMAT_VERSION,
        key: key.clone(),
        grant: GrantKind::AuthorizationCode,
        access_token: AccessToken::new(format!("at-{n}-{}", "x".repeat(padding))),
        token_type: "Bearer".into(),
        expires_at: Some(1_700_000_000 + n),
        scope: Some("openid profile offline_access".into()),
        id_token: Some(IdToken::new(format!("id-{n}"))),
        refresh_token: Some(RefreshToken::new(format!("rt-{n}"))),
        subject: Some(format!("auth0|{n}")),
        token_endpoint: Some("https://tenant.eu.auth0.example/oauth/token".into()),
        revocation_endpoint: Some("https://tenant.eu.auth0.example/oauth/revoke".into()),
        obtained_at: n,
        client_auth: Default::default(),
        params: Vec::new(),
    }
}

/// Panics unless `session` is exactly what `numbered_session` wrote for its number.
pub fn assert_whole(session: &Session, padding: usize) {
    let expected = numbered_session(&session.key, session.obtained_at, padding);
    assert!(
        *session == expected,
        "session {} is a mix of two writes",
        session.obtained_at
    );
}

pub fn found(outcome: LoadOutcome) -> Session {
    match outcome {
        LoadOutcome::Found(session) => session,
        other => panic!("expected a stored session, got {other:?}"),
    }
}

pub fn rejected(outcome: LoadOutcome) -> String {
    match outcome {
        LoadOutcome::Rejected { reason } => reason,
        other => panic!("expected a rejected session, got {other:?}"),
    }
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
