//! Sessions as the commands see them: which stored session a command means, turning a login
//! into a stored session, and renewing one (SPEC §6).
//!
//! The cache-hit path of `authcli token` lives in [`find`] and [`Session::valid_for`]: plain
//! synchronous file reads. Nothing here starts an async runtime or an HTTP client; renewal
//! ([`refresh`]) is async and only reached when the cached token is not good enough, after the
//! caller took the session's lock and looked again.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::cli::{ProviderArgs, SessionArgs};
use crate::config::{self, ConfigError, Profile, ProviderConfig, Transport};
use crate::discovery::Endpoints;
use crate::exit::ExitCode;
use crate::flow::client_auth::Credential;
use crate::flow::exchange::{self, TokenEndpoint};
use crate::flow::refresh::Identity;
use crate::flow::TokenSet;
use crate::http::HttpClient;
use crate::output;
use crate::secret::ClientAuthSpec;
use crate::store::{GrantKind, LoadOutcome, Session, SessionKey, Storage, StorageKind};

/// Why a stored session cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("not logged in: no stored session for profile `{profile}`{filter}\n  hint: run `authcli login{login_hint}` first (from a terminal)")]
    NoSession {
        profile: String,
        filter: String,
        login_hint: String,
    },
    #[error("the session for {issuer} has no refresh token, so it cannot be renewed\n  hint: run `authcli login` again (with the `offline_access` scope, and for Auth0 an API that allows offline access, to get refresh tokens)")]
    NoRefreshToken { issuer: String },
    #[error("the provider rejected the refresh token: {error}\n  hint: the session has ended or was revoked; log in again: {login_hint}")]
    RefreshRejected { error: String, login_hint: String },
    /// Boxed: the flows' errors carry the provider's answer and would make every `Result` large.
    #[error(transparent)]
    Flow(Box<crate::flow::FlowError>),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Http(Box<crate::http::HttpError>),
    #[error(transparent)]
    Discovery(Box<crate::discovery::DiscoveryError>),
    #[error("not logged in: the session's refresh token was rejected ({error}) and is forgotten\n  hint: log in again from a terminal: {login_hint}")]
    Ended { error: String, login_hint: String },
}

impl From<crate::flow::FlowError> for SessionError {
    fn from(e: crate::flow::FlowError) -> Self {
        SessionError::Flow(Box::new(e))
    }
}

impl From<crate::http::HttpError> for SessionError {
    fn from(e: crate::http::HttpError) -> Self {
        SessionError::Http(Box::new(e))
    }
}

impl From<crate::discovery::DiscoveryError> for SessionError {
    fn from(e: crate::discovery::DiscoveryError) -> Self {
        SessionError::Discovery(Box::new(e))
    }
}

impl SessionError {
    /// Exit code of SPEC §7: missing sessions mean "login required" (4).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            // For `token`, a dead refresh token means the same as no session (SPEC §6).
            SessionError::NoSession { .. }
            | SessionError::NoRefreshToken { .. }
            | SessionError::Ended { .. } => ExitCode::LoginRequired,
            SessionError::RefreshRejected { .. } => ExitCode::Refused,
            SessionError::Flow(e) => e.exit_code(),
            SessionError::Store(e) => e.exit_code(),
            SessionError::Config(e) => e.exit_code(),
            SessionError::Http(e) => e.exit_code(),
            SessionError::Discovery(e) => e.exit_code(),
        }
    }
}

/// Opens the store chosen by flag or environment (`None`: where each session lives, else
/// files), with its warnings on stderr even under `-q`: a keychain fallback or a directory
/// made private again changes where tokens are, and a script must not hide that.
pub fn open_storage(kind: Option<StorageKind>) -> Result<Storage, SessionError> {
    let sink: crate::store::WarningSink = Arc::new(|msg: &str| output::warn_always(msg));
    Ok(Storage::open_for(kind, sink)?)
}

/// What the command line says about the wanted session; unset fields match anything.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub profile: String,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub audience: Option<String>,
    pub scopes: Option<BTreeSet<String>>,
}

impl Wanted {
    /// Reads the selection from flags, environment and the profile, without requiring any.
    pub fn resolve(args: &ProviderArgs, profile: &Profile) -> Result<Self, ConfigError> {
        config::check_scope_flags(&args.scopes)?;
        let issuer = match args.issuer.as_ref().or(profile.issuer.as_ref()) {
            Some(raw) => Some(config::parse_issuer(raw)?.to_string()),
            None => None,
        };
        let scopes = if !args.scopes.is_empty() {
            Some(
                args.scopes
                    .iter()
                    .flat_map(|s| s.split_whitespace())
                    .map(String::from)
                    .collect(),
            )
        } else {
            profile.scope.as_ref().map(|s| match s {
                config::ScopeList::Spaced(s) => s.split_whitespace().map(String::from).collect(),
                config::ScopeList::List(l) => l
                    .iter()
                    .flat_map(|s| s.split_whitespace())
                    .map(String::from)
                    .collect(),
            })
        };
        Ok(Wanted {
            profile: args.profile.clone().unwrap_or_else(|| "default".into()),
            issuer,
            client_id: args.client_id.clone().or_else(|| profile.client_id.clone()),
            audience: args.audience.clone().or_else(|| profile.audience.clone()),
            scopes,
        })
    }

    /// Whether a stored session's key fits this selection.
    pub fn matches(&self, key: &SessionKey) -> bool {
        key.profile == self.profile
            && self.issuer.as_ref().is_none_or(|i| *i == key.issuer)
            && self.client_id.as_ref().is_none_or(|c| *c == key.client_id)
            && self
                .audience
                .as_ref()
                .is_none_or(|a| Some(a) == key.audience.as_ref())
            && self.scopes.as_ref().is_none_or(|s| *s == key.scopes)
    }

    fn no_session(&self) -> SessionError {
        let mut filter = Vec::new();
        let mut hint = String::new();
        if let Some(i) = &self.issuer {
            filter.push(format!("issuer {i}"));
            hint.push_str(&format!(" --issuer {i}"));
        } else {
            hint.push_str(" --issuer …");
        }
        if let Some(c) = &self.client_id {
            filter.push(format!("client {c}"));
            hint.push_str(&format!(" --client-id {c}"));
        } else {
            hint.push_str(" --client-id …");
        }
        if let Some(a) = &self.audience {
            filter.push(format!("audience {a}"));
            hint.push_str(&format!(" --audience {a}"));
        }
        if self.profile != "default" {
            hint.push_str(&format!(" --profile {}", self.profile));
        }
        SessionError::NoSession {
            profile: self.profile.clone(),
            filter: if filter.is_empty() {
                String::new()
            } else {
                format!(" matching {}", filter.join(", "))
            },
            login_hint: hint,
        }
    }
}

/// The selection and the store, read from a command's session options.
pub fn select(args: &SessionArgs) -> Result<(Wanted, Profile, Storage), SessionError> {
    let name = args.provider.profile.as_deref().unwrap_or("default");
    let profile = config::load_profile(name, args.provider.profile.is_some())?;
    let wanted = Wanted::resolve(&args.provider, &profile)?;
    let storage = open_storage(args.storage)?;
    Ok((wanted, profile, storage))
}

/// Finds the session a command means: the profile's current session when it fits, else the
/// most recent matching one. Unusable files are reported and skipped, never fatal.
pub fn find(storage: &Storage, wanted: &Wanted) -> Result<Option<Session>, SessionError> {
    if let Some(key) = storage
        .current(&wanted.profile)
        .filter(|k| wanted.matches(k))
    {
        match storage.load(&key)? {
            LoadOutcome::Found(session) => return Ok(Some(session)),
            LoadOutcome::Rejected { reason } => {
                output::warn(&format!("ignoring a stored session: {reason}"))
            }
            LoadOutcome::Absent => {}
        }
    }
    let mut best: Option<Session> = None;
    for entry in storage.list()? {
        match entry.session {
            Ok(session) if wanted.matches(&session.key) => {
                if best
                    .as_ref()
                    .is_none_or(|b| session.obtained_at > b.obtained_at)
                {
                    best = Some(session);
                }
            }
            Ok(_) => {}
            Err(reason) => output::step(&format!("skipping an unusable session file: {reason}")),
        }
    }
    Ok(best)
}

/// [`find`], or "login required".
pub fn require(storage: &Storage, wanted: &Wanted) -> Result<Session, SessionError> {
    find(storage, wanted)?.ok_or_else(|| wanted.no_session())
}

/// The session key of a login made with `provider`.
pub fn key_for(provider: &ProviderConfig) -> SessionKey {
    SessionKey {
        profile: provider.profile.clone(),
        issuer: provider.issuer.to_string(),
        client_id: provider.client_id.clone(),
        audience: provider.audience.clone(),
        scopes: provider.scopes.iter().cloned().collect(),
    }
}

/// A session to store for tokens obtained by `grant`.
pub fn from_tokens(
    key: SessionKey,
    grant: GrantKind,
    client_auth: ClientAuthSpec,
    tokens: &TokenSet,
    endpoints: &Endpoints,
    obtained_at: u64,
) -> Session {
    Session {
        version: crate::store::SESSION_FORMAT_VERSION,
        key,
        grant,
        access_token: tokens.access_token.clone(),
        token_type: tokens.token_type.clone(),
        expires_at: tokens.expires_at,
        scope: tokens.scope.clone(),
        id_token: tokens.id_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        subject: subject_of(tokens),
        token_endpoint: Some(endpoints.token.to_string()),
        revocation_endpoint: endpoints.revocation.as_ref().map(Url::to_string),
        obtained_at,
        client_auth,
        params: Vec::new(),
    }
}

/// `sub` from the verified id_token, else from the access token if it is a JWT.
fn subject_of(tokens: &TokenSet) -> Option<String> {
    let from_id = tokens
        .id_claims
        .as_ref()
        .and_then(|c| c.get("sub"))
        .and_then(Value::as_str)
        .map(String::from);
    from_id.or_else(|| {
        crate::jwt::decode_unverified("access token", tokens.access_token.expose())
            .ok()
            .and_then(|(_, claims)| claims.get("sub").and_then(Value::as_str).map(String::from))
    })
}

/// Stores a session and makes it the profile's current one.
pub fn save(storage: &Storage, session: &Session) -> Result<(), SessionError> {
    storage.save(session)?;
    storage.set_current(&session.key)?;
    Ok(())
}

/// The session's tokens in the shape the output formats take.
pub fn tokens_of(session: &Session, now: u64) -> TokenSet {
    TokenSet {
        access_token: session.access_token.clone(),
        token_type: session.token_type.clone(),
        expires_in: session.expires_at.map(|at| at.saturating_sub(now)),
        expires_at: session.expires_at,
        scope: session.scope.clone(),
        id_token: session.id_token.clone(),
        refresh_token: session.refresh_token.clone(),
        id_claims: None,
    }
}

/// Provider settings for a stored session: the session's identity, the command's transport
/// options (`--cacert`, `--timeout`, endpoint overrides).
pub fn provider_for(
    session: &Session,
    args: &ProviderArgs,
    profile: &Profile,
) -> Result<ProviderConfig, SessionError> {
    let key = &session.key;
    let mut transport = Transport::resolve(args, profile)?;
    if transport.extra_params.is_empty() {
        transport.extra_params = session.params.clone();
    }
    Ok(ProviderConfig::for_stored(
        &key.profile,
        &key.issuer,
        &key.client_id,
        key.audience.as_deref(),
        key.scopes.iter().cloned().collect(),
        transport,
    )?)
}

/// The outcome of a renewal.
pub enum Renewed {
    /// The provider issued new tokens.
    Refreshed(Session),
    /// Another process stored newer tokens while this one's refresh was refused: use those.
    Adopted(Session),
}

/// Who the session belongs to, from its stored (verified at login) id_token or its subject.
fn identity_of(session: &Session) -> Identity {
    session
        .id_token
        .as_ref()
        .and_then(|t| crate::jwt::decode_unverified("id_token", t.expose()).ok())
        .map(|(_, claims)| Identity::from_claims(&claims))
        .unwrap_or_else(|| Identity {
            sub: session.subject.clone(),
            ..Identity::default()
        })
}

/// Renews `session`: a client-credentials session runs its grant again, the others use their
/// refresh token. The caller holds the session's lock. A refresh token the provider refused
/// is forgotten (stored without it), so it is never sent again, unless another process stored
/// newer tokens meanwhile: those are adopted.
pub async fn renew(
    storage: &Storage,
    session: &Session,
    provider: &ProviderConfig,
) -> Result<Renewed, SessionError> {
    let http = HttpClient::for_provider(provider)?;
    let refresh_token = match (&session.grant, &session.refresh_token) {
        (GrantKind::ClientCredentials, _) => None,
        (_, Some(token)) => Some(token),
        (_, None) => {
            return Err(SessionError::NoRefreshToken {
                issuer: session.key.issuer.clone(),
            })
        }
    };
    let wants_id_token = session.key.scopes.contains("openid");
    let endpoints = endpoints_for(&http, session, provider, wants_id_token).await?;
    let credential = Credential::load(&session.client_auth, None, &endpoints)
        .map_err(crate::flow::FlowError::from)?;
    let te = TokenEndpoint {
        http: &http,
        provider,
        endpoints: &endpoints,
        credential: &credential,
    };
    let now = output::now_unix();
    let Some(refresh_token) = refresh_token else {
        output::step(&format!(
            "running the client credentials grant again at {}",
            endpoints.token
        ));
        let tokens = crate::flow::client_credentials::obtain(te).await?;
        return Ok(Renewed::Refreshed(successor(
            session, &tokens, &endpoints, now,
        )));
    };
    output::step(&format!("refreshing at {}", endpoints.token));
    let mut tokens = match crate::flow::refresh::refresh(te, refresh_token, &identity_of(session))
        .await
    {
        Ok(tokens) => tokens,
        Err(e) if exchange::oauth_error(&e) == Some("invalid_grant") => {
            // Rotation elsewhere: a newer session may have been stored meanwhile.
            if let Ok(LoadOutcome::Found(stored)) = storage.load(&session.key) {
                if stored.refresh_token != session.refresh_token && stored.valid_for(0, now) {
                    output::step("the refresh token was already rotated by another process: using its tokens");
                    return Ok(Renewed::Adopted(stored));
                }
            }
            // Dead: keep the session (for `status` and the hint) without the token.
            let mut dead = session.clone();
            dead.refresh_token = None;
            if let Err(why) = storage.save(&dead) {
                output::warn(&format!(
                    "could not forget the rejected refresh token: {why}"
                ));
            }
            return Err(SessionError::RefreshRejected {
                error: e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("invalid_grant")
                    .to_string(),
                login_hint: login_hint(&session.key),
            });
        }
        Err(e) => return Err(e.into()),
    };
    // Without rotation the provider sends no new refresh token: keep the one that still works.
    if tokens.refresh_token.is_none() {
        tokens.refresh_token = session.refresh_token.clone();
    }
    if tokens.id_token.is_none() {
        tokens.id_token = session.id_token.clone();
    }
    Ok(Renewed::Refreshed(successor(
        session, &tokens, &endpoints, now,
    )))
}

/// The session that replaces `old` after a renewal: new tokens, the same key, grant,
/// credential source and parameters, and the old subject when the new tokens name none.
fn successor(old: &Session, tokens: &TokenSet, endpoints: &Endpoints, now: u64) -> Session {
    let mut renewed = from_tokens(
        old.key.clone(),
        old.grant,
        old.client_auth.clone(),
        tokens,
        endpoints,
        now,
    );
    renewed.subject = renewed.subject.or_else(|| old.subject.clone());
    renewed.params = old.params.clone();
    renewed
}

/// The `authcli login …` line that recreates the session with `key`.
pub fn login_hint(key: &SessionKey) -> String {
    let mut hint = format!(
        "authcli login --issuer {} --client-id {}",
        key.issuer, key.client_id
    );
    if let Some(aud) = &key.audience {
        hint.push_str(&format!(" --audience {aud}"));
    }
    if key.profile != "default" {
        hint.push_str(&format!(" --profile {}", key.profile));
    }
    hint
}

/// The endpoints a renewal needs: those stored with the session, unless JWKS is needed too or
/// an override was given, then discovery.
pub async fn endpoints_for(
    http: &HttpClient,
    session: &Session,
    provider: &ProviderConfig,
    need_discovery: bool,
) -> Result<Endpoints, SessionError> {
    let stored_token = session
        .token_endpoint
        .as_deref()
        .and_then(|u| Url::parse(u).ok());
    let overridden = provider.overrides.token.is_some();
    match stored_token {
        Some(token) if !need_discovery && !overridden => {
            let mut endpoints = crate::discovery::auth0_defaults(&provider.issuer);
            endpoints.token = token;
            endpoints.revocation = session
                .revocation_endpoint
                .as_deref()
                .and_then(|u| Url::parse(u).ok())
                .or(endpoints.revocation);
            Ok(endpoints)
        }
        _ => Ok(crate::discovery::resolve(http, provider).await?),
    }
}
