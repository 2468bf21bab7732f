//! The mock tenant's static model: clients, APIs, client grants, users and lifetimes.
//!
//! This is what an Auth0 dashboard would hold. It is read once (built-in defaults, or a
//! `--config` TOML file where every section left out keeps its default) and never changes
//! while the server runs; everything that does change (codes, refresh-token families, device
//! codes) lives in `state.rs`. Validation happens here so that handlers can trust the model.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::MockError;

/// The built-in native public client.
pub const PUBLIC_CLIENT_ID: &str = "authcli-test";
/// The built-in machine-to-machine client.
pub const M2M_CLIENT_ID: &str = "authcli-m2m";
/// The built-in M2M client's secret. Public knowledge: never expose the mock beyond loopback.
pub const M2M_CLIENT_SECRET: &str = "authcli-m2m-secret";
/// The built-in API identifier (Auth0 `audience`).
pub const API_AUDIENCE: &str = "https://api.example.test";

/// Grant types the mock implements, with the names Auth0 uses in an application's settings.
pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The resource owner password grant (RFC 6749 §4.3), against the tenant's default directory.
pub const GRANT_PASSWORD: &str = "password";
/// Auth0's password grant against a named connection (`realm`).
pub const GRANT_PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const KNOWN_GRANTS: [&str; 6] = [
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
    GRANT_PASSWORD,
    GRANT_PASSWORD_REALM,
];

/// The database connection users belong to unless configured otherwise; also the tenant's
/// default directory, which the plain `password` grant uses.
pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

/// Everything the tenant is configured with. Each section left out of a config file keeps
/// its built-in default, so a file with only `[lifetimes]` still has the default clients.
#[derive(Debug, Clone, Serialize)]
pub struct TenantConfig {
    pub clients: Vec<ClientConfig>,
    pub apis: Vec<ApiConfig>,
    pub client_grants: Vec<ClientGrant>,
    pub users: Vec<UserConfig>,
    /// Username of the user `/authorize` signs in when there is no `login_hint`.
    pub default_user: Option<String>,
    /// Tenant-wide Allowed Logout URLs, used by `/v2/logout` when no `client_id` is given.
    pub allowed_logout_urls: Vec<String>,
    pub lifetimes: Lifetimes,
    pub device: DeviceSettings,
}

/// The file as written: a section left out is `None` and gets its default in `resolve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    clients: Option<Vec<ClientConfig>>,
    apis: Option<Vec<ApiConfig>>,
    client_grants: Option<Vec<ClientGrant>>,
    users: Option<Vec<UserConfig>>,
    default_user: Option<String>,
    #[serde(default)]
    allowed_logout_urls: Vec<String>,
    #[serde(default)]
    lifetimes: Lifetimes,
    #[serde(default)]
    device: DeviceSettings,
}

impl RawTenant {
    fn resolve(self) -> TenantConfig {
        let clients = self.clients.unwrap_or_else(default_clients);
        let apis = self.apis.unwrap_or_else(default_apis);
        // Default grants only for the default client and API that still exist: a file that
        // replaces the clients must not fail over a grant it never wrote.
        let client_grants = self.client_grants.unwrap_or_else(|| {
            default_client_grants()
                .into_iter()
                .filter(|g| clients.iter().any(|c| c.client_id == g.client_id))
                .filter(|g| apis.iter().any(|a| a.identifier == g.audience))
                .collect()
        });
        TenantConfig {
            clients,
            apis,
            client_grants,
            users: self.users.unwrap_or_else(default_users),
            default_user: self.default_user,
            allowed_logout_urls: self.allowed_logout_urls,
            lifetimes: self.lifetimes,
            device: self.device,
        }
    }
}

/// The kind of application, as Auth0 names them. Only `native` gets RFC 8252 any-port matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    Native,
    Spa,
    RegularWeb,
    NonInteractive,
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    None,
    ClientSecretPost,
    ClientSecretBasic,
    /// RFC 7523 / OIDC Core §9: a JWT signed with the client's private key.
    PrivateKeyJwt,
}

/// One application.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub app_type: AppType,
    /// Present for confidential clients; public clients (native, SPA) have none.
    #[serde(default)]
    pub secret: Option<String>,
    /// Accepted authentication methods; default `none` without a secret or key, post and
    /// basic with a secret, `private_key_jwt` with a public key.
    #[serde(default)]
    pub auth_methods: Option<Vec<AuthMethod>>,
    /// Public key for `private_key_jwt` (PEM `PUBLIC KEY`, or `RSA PUBLIC KEY`): RSA → RS256,
    /// EC P-256 → ES256.
    #[serde(default)]
    pub public_key_pem: Option<String>,
    /// The same as a JWK (`kty` `RSA` with `n`/`e`, or `EC` `P-256` with `x`/`y`).
    #[serde(default)]
    pub public_key_jwk: Option<serde_json::Value>,
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub callbacks: Vec<String>,
    #[serde(default)]
    pub allowed_logout_urls: Vec<String>,
    /// Refresh-token rotation: a new refresh token on each use, reuse revokes the family.
    #[serde(default = "yes")]
    pub refresh_token_rotation: bool,
    /// RFC 8252 §7.3: any port on a registered loopback callback (native clients only).
    /// Real Auth0 matches ports exactly; set `false` to reproduce that.
    #[serde(default = "yes")]
    pub loopback_any_port: bool,
}

/// One API (resource server), identified by its `audience`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub identifier: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default = "yes")]
    pub allow_offline_access: bool,
    /// Access-token lifetime for this API; Auth0's default is a day.
    #[serde(default = "default_access_token_secs")]
    pub token_lifetime_secs: u64,
    /// RBAC with "add permissions in the access token": users' permissions go into `permissions`.
    #[serde(default = "yes")]
    pub rbac: bool,
}

/// An M2M client's authorisation to call an API with some scopes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientGrant {
    pub client_id: String,
    pub audience: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// One end user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub username: String,
    /// The `sub` claim, `auth0|…` style.
    pub user_id: String,
    pub email: String,
    #[serde(default = "yes")]
    pub email_verified: bool,
    pub name: String,
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub picture: Option<String>,
    /// `API identifier → permissions` for RBAC APIs.
    #[serde(default)]
    pub permissions: BTreeMap<String, Vec<String>>,
    /// Extra claims copied into ID tokens and `/userinfo` (use namespaced names, as Auth0 asks).
    #[serde(default)]
    pub claims: BTreeMap<String, serde_json::Value>,
    /// Password for the password grants; `USERNAME-password` when left out. Public test
    /// credentials: the ready file lists them.
    #[serde(default)]
    pub password: Option<String>,
    /// Database connection (Auth0 `realm`) the user belongs to.
    #[serde(default = "default_connection")]
    pub connection: String,
    /// The password grants answer 403 `mfa_required` (with an `mfa_token`) for this user.
    #[serde(default)]
    pub mfa_required: bool,
}

/// Token and code lifetimes, in seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lifetimes {
    pub authorization_code_secs: u64,
    pub id_token_secs: u64,
    /// For opaque (no-audience) access tokens; APIs have their own.
    pub access_token_secs: u64,
    /// Absolute lifetime of a refresh-token family; rotation does not extend it.
    pub refresh_token_secs: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            authorization_code_secs: 60,
            id_token_secs: 36_000,
            access_token_secs: 86_400,
            refresh_token_secs: 30 * 86_400,
        }
    }
}

/// Device authorization grant settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceSettings {
    pub expires_in_secs: u64,
    pub interval_secs: u64,
    /// Approve as the default user after this many `authorization_pending` answers.
    /// `None` (leave the key out) waits for `/activate` or the control API.
    pub auto_approve_after_polls: Option<u32>,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        DeviceSettings {
            expires_in_secs: 900,
            interval_secs: 5,
            auto_approve_after_polls: Some(1),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_connection() -> String {
    DEFAULT_CONNECTION.into()
}

fn default_access_token_secs() -> u64 {
    86_400
}

fn default_clients() -> Vec<ClientConfig> {
    vec![
        ClientConfig {
            client_id: PUBLIC_CLIENT_ID.into(),
            name: Some("authcli test (native)".into()),
            app_type: AppType::Native,
            secret: None,
            auth_methods: None,
            public_key_pem: None,
            public_key_jwk: None,
            grant_types: vec![
                GRANT_AUTHORIZATION_CODE.into(),
                GRANT_REFRESH_TOKEN.into(),
                GRANT_DEVICE_CODE.into(),
                GRANT_PASSWORD.into(),
                GRANT_PASSWORD_REALM.into(),
            ],
            callbacks: vec![
                "http://127.0.0.1/callback".into(),
                "http://localhost/callback".into(),
                "http://[::1]/callback".into(),
            ],
            allowed_logout_urls: vec![
                "http://127.0.0.1/".into(),
                "http://localhost/".into(),
                "http://[::1]/".into(),
            ],
            refresh_token_rotation: true,
            loopback_any_port: true,
        },
        ClientConfig {
            client_id: M2M_CLIENT_ID.into(),
            name: Some("authcli test (machine to machine)".into()),
            app_type: AppType::NonInteractive,
            secret: Some(M2M_CLIENT_SECRET.into()),
            auth_methods: None,
            public_key_pem: None,
            public_key_jwk: None,
            grant_types: vec![GRANT_CLIENT_CREDENTIALS.into()],
            callbacks: vec![],
            allowed_logout_urls: vec![],
            refresh_token_rotation: true,
            loopback_any_port: true,
        },
    ]
}

fn default_apis() -> Vec<ApiConfig> {
    vec![ApiConfig {
        identifier: API_AUDIENCE.into(),
        name: Some("Example API".into()),
        scopes: vec!["read:events".into(), "write:events".into()],
        allow_offline_access: true,
        token_lifetime_secs: default_access_token_secs(),
        rbac: true,
    }]
}

fn default_client_grants() -> Vec<ClientGrant> {
    vec![ClientGrant {
        client_id: M2M_CLIENT_ID.into(),
        audience: API_AUDIENCE.into(),
        scopes: vec!["read:events".into(), "write:events".into()],
    }]
}

fn default_users() -> Vec<UserConfig> {
    let both = vec!["read:events".to_string(), "write:events".to_string()];
    vec![
        UserConfig {
            username: "alice".into(),
            user_id: "auth0|alice".into(),
            email: "alice@example.test".into(),
            email_verified: true,
            name: "Alice Example".into(),
            nickname: Some("alice".into()),
            picture: None,
            permissions: BTreeMap::from([(API_AUDIENCE.to_string(), both)]),
            claims: BTreeMap::new(),
            password: Some("alice-password".into()),
            connection: default_connection(),
            mfa_required: false,
        },
        UserConfig {
            username: "bob".into(),
            user_id: "auth0|bob".into(),
            email: "bob@example.test".into(),
            email_verified: false,
            name: "Bob Example".into(),
            nickname: Some("bob".into()),
            picture: None,
            permissions: BTreeMap::from([(
                API_AUDIENCE.to_string(),
                vec!["read:events".to_string()],
            )]),
            claims: BTreeMap::new(),
            password: Some("bob-password".into()),
            connection: default_connection(),
            mfa_required: false,
        },
    ]
}

impl Default for TenantConfig {
    fn default() -> Self {
        TenantConfig {
            clients: default_clients(),
            apis: default_apis(),
            client_grants: default_client_grants(),
            users: default_users(),
            default_user: None,
            allowed_logout_urls: vec![],
            lifetimes: Lifetimes::default(),
            device: DeviceSettings::default(),
        }
    }
}

impl UserConfig {
    /// The password the password grants accept.
    pub fn password(&self) -> String {
        self.password
            .clone()
            .unwrap_or_else(|| format!("{}-password", self.username))
    }
}

impl ClientConfig {
    /// Whether the client has a secret or a public key, i.e. must authenticate at the token
    /// endpoint.
    pub fn is_confidential(&self) -> bool {
        self.secret.is_some() || self.has_public_key()
    }

    /// Whether a key for `private_key_jwt` is configured.
    pub fn has_public_key(&self) -> bool {
        self.public_key_pem.is_some() || self.public_key_jwk.is_some()
    }

    /// The configured public key, parsed, with the one algorithm it verifies.
    pub fn assertion_key(&self) -> Result<Option<AssertionKey>, String> {
        match (&self.public_key_pem, &self.public_key_jwk) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => {
                Err("give either `public_key_pem` or `public_key_jwk`, not both".into())
            }
            (Some(pem), None) => AssertionKey::from_pem(pem).map(Some),
            (None, Some(jwk)) => AssertionKey::from_jwk(jwk).map(Some),
        }
    }

    /// Whether `grant` is enabled for this client.
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// The methods accepted at the token endpoint.
    pub fn accepted_auth_methods(&self) -> Vec<AuthMethod> {
        match (&self.auth_methods, &self.secret) {
            (Some(methods), _) => methods.clone(),
            (None, None) if self.has_public_key() => vec![AuthMethod::PrivateKeyJwt],
            (None, None) => vec![AuthMethod::None],
            (None, Some(_)) if self.has_public_key() => vec![
                AuthMethod::ClientSecretPost,
                AuthMethod::ClientSecretBasic,
                AuthMethod::PrivateKeyJwt,
            ],
            (None, Some(_)) => vec![AuthMethod::ClientSecretPost, AuthMethod::ClientSecretBasic],
        }
    }
}

/// A client's public key for `private_key_jwt` and the only `alg` it accepts: the header's
/// `alg` must match the key, so neither `none` nor HMAC (with a public key as the secret) is
/// ever tried.
#[derive(Clone)]
pub struct AssertionKey {
    pub alg: jsonwebtoken::Algorithm,
    pub key: jsonwebtoken::DecodingKey,
}

impl std::fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AssertionKey({:?})", self.alg)
    }
}

impl AssertionKey {
    /// An RSA (`PUBLIC KEY` or `RSA PUBLIC KEY`) or EC P-256 (`PUBLIC KEY`) PEM.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        use jsonwebtoken::{Algorithm, DecodingKey};
        if pem.contains("PRIVATE KEY") {
            return Err("`public_key_pem` holds a private key: give the public key only".into());
        }
        if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
            return Ok(AssertionKey {
                alg: Algorithm::RS256,
                key,
            });
        }
        DecodingKey::from_ec_pem(pem.as_bytes())
            .map(|key| AssertionKey {
                alg: Algorithm::ES256,
                key,
            })
            .map_err(|e| {
                format!("`public_key_pem` is not an RSA or EC P-256 public key in PEM ({e})")
            })
    }

    /// An RSA or EC P-256 public JWK; an `alg` member, if any, must agree with the key.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, String> {
        use jsonwebtoken::{Algorithm, DecodingKey};
        let field = |name: &str| {
            jwk.get(name)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("`public_key_jwk` has no `{name}`"))
        };
        if jwk.get("d").is_some() {
            return Err(
                "`public_key_jwk` holds a private key (`d`): give the public key only".into(),
            );
        }
        let (alg, key) = match field("kty")? {
            "RSA" => (
                Algorithm::RS256,
                DecodingKey::from_rsa_components(field("n")?, field("e")?),
            ),
            "EC" => {
                let crv = field("crv")?;
                if crv != "P-256" {
                    return Err(format!(
                        "`public_key_jwk`: curve `{crv}` is not supported (use P-256 for ES256)"
                    ));
                }
                (
                    Algorithm::ES256,
                    DecodingKey::from_ec_components(field("x")?, field("y")?),
                )
            }
            other => {
                return Err(format!(
                    "`public_key_jwk`: kty `{other}` is not supported (use RSA or EC)"
                ))
            }
        };
        let key = key.map_err(|e| format!("`public_key_jwk` is not a usable key ({e})"))?;
        if let Some(named) = jwk.get("alg").and_then(|v| v.as_str()) {
            let wanted = match alg {
                Algorithm::ES256 => "ES256",
                _ => "RS256",
            };
            if named != wanted {
                return Err(format!(
                    "`public_key_jwk`: alg `{named}` does not fit the key (expected {wanted})"
                ));
            }
        }
        Ok(AssertionKey { alg, key })
    }
}

impl TenantConfig {
    /// Reads and validates a TOML file; errors name the file, the line and the key.
    pub fn load(path: &Path) -> Result<Self, MockError> {
        let text = std::fs::read_to_string(path).map_err(|source| MockError::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses TOML text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, MockError> {
        let raw: RawTenant = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .and_then(|span| text.get(..span.start))
                .map(|before| before.matches('\n').count() + 1);
            MockError::Config {
                path: path.to_path_buf(),
                line,
                message: e.message().to_string(),
            }
        })?;
        let config = raw.resolve();
        config.validate().map_err(|message| MockError::Config {
            path: path.to_path_buf(),
            line: None,
            message,
        })?;
        Ok(config)
    }

    /// Cross-references that serde cannot check; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        if self.users.is_empty() {
            return Err("`users`: at least one user is needed to sign in".into());
        }
        for (i, c) in self.clients.iter().enumerate() {
            for g in &c.grant_types {
                if !KNOWN_GRANTS.contains(&g.as_str()) {
                    return Err(format!(
                        "`clients[{i}].grant_types`: unknown grant `{g}` (known: {})",
                        KNOWN_GRANTS.join(", ")
                    ));
                }
            }
            let methods = c.accepted_auth_methods();
            let secret_method = |m: &AuthMethod| {
                matches!(
                    m,
                    AuthMethod::ClientSecretPost | AuthMethod::ClientSecretBasic
                )
            };
            if c.secret.is_none() && methods.iter().any(secret_method) {
                return Err(format!(
                    "`clients[{i}].auth_methods`: client `{}` has no `secret`",
                    c.client_id
                ));
            }
            if c.is_confidential() && methods.contains(&AuthMethod::None) {
                return Err(format!(
                    "`clients[{i}].auth_methods`: client `{}` has a `secret` or public key, so `none` is not allowed",
                    c.client_id
                ));
            }
            if !c.has_public_key() && methods.contains(&AuthMethod::PrivateKeyJwt) {
                return Err(format!(
                    "`clients[{i}].auth_methods`: client `{}` has no `public_key_pem` or `public_key_jwk` for private_key_jwt",
                    c.client_id
                ));
            }
            c.assertion_key()
                .map_err(|e| format!("`clients[{i}]` (`{}`): {e}", c.client_id))?;
            for cb in &c.callbacks {
                if url::Url::parse(cb).is_err() {
                    return Err(format!("`clients[{i}].callbacks`: `{cb}` is not a URL"));
                }
            }
            if self.clients[..i].iter().any(|o| o.client_id == c.client_id) {
                return Err(format!(
                    "`clients[{i}].client_id`: `{}` appears twice",
                    c.client_id
                ));
            }
        }
        for (i, g) in self.client_grants.iter().enumerate() {
            if self.client(&g.client_id).is_none() {
                return Err(format!(
                    "`client_grants[{i}].client_id`: no client `{}`",
                    g.client_id
                ));
            }
            let Some(api) = self.api(&g.audience) else {
                return Err(format!(
                    "`client_grants[{i}].audience`: no API `{}`",
                    g.audience
                ));
            };
            if let Some(s) = g.scopes.iter().find(|s| !api.scopes.contains(s)) {
                return Err(format!(
                    "`client_grants[{i}].scopes`: API `{}` has no scope `{s}`",
                    g.audience
                ));
            }
        }
        for (i, u) in self.users.iter().enumerate() {
            if self.users[..i].iter().any(|o| o.username == u.username) {
                return Err(format!(
                    "`users[{i}].username`: `{}` appears twice",
                    u.username
                ));
            }
            if u.connection.is_empty() {
                return Err(format!("`users[{i}].connection`: must not be empty"));
            }
        }
        if let Some(u) = &self.default_user {
            if self.user_by_hint(u).is_none() {
                return Err(format!("`default_user`: no user `{u}`"));
            }
        }
        if self.device.interval_secs == 0 {
            return Err("`device.interval_secs`: must be at least 1".into());
        }
        Ok(())
    }

    pub fn client(&self, id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id == id)
    }

    pub fn api(&self, identifier: &str) -> Option<&ApiConfig> {
        self.apis.iter().find(|a| a.identifier == identifier)
    }

    pub fn client_grant(&self, client_id: &str, audience: &str) -> Option<&ClientGrant> {
        self.client_grants
            .iter()
            .find(|g| g.client_id == client_id && g.audience == audience)
    }

    /// A user by username, email or `sub`: whatever a `login_hint` may carry.
    pub fn user_by_hint(&self, hint: &str) -> Option<&UserConfig> {
        self.users
            .iter()
            .find(|u| u.username == hint || u.email == hint || u.user_id == hint)
    }

    /// The user a password grant names: username or email, within `connection`.
    pub fn user_for_login(&self, connection: &str, username: &str) -> Option<&UserConfig> {
        self.users
            .iter()
            .find(|u| u.connection == connection && (u.username == username || u.email == username))
    }

    /// Whether a database connection of this name exists: the default one, or one a user
    /// belongs to.
    pub fn has_connection(&self, name: &str) -> bool {
        name == DEFAULT_CONNECTION || self.users.iter().any(|u| u.connection == name)
    }

    pub fn user_by_id(&self, sub: &str) -> Option<&UserConfig> {
        self.users.iter().find(|u| u.user_id == sub)
    }

    /// The user signed in when nothing picks another one.
    pub fn default_user(&self) -> Option<&UserConfig> {
        match &self.default_user {
            Some(name) => self.user_by_hint(name),
            None => self.users.first(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        assert_eq!(TenantConfig::default().validate(), Ok(()));
    }

    #[test]
    fn missing_sections_keep_defaults() {
        let c = TenantConfig::parse("[lifetimes]\nid_token_secs = 5\n", Path::new("t.toml"));
        let c = c.map_err(|e| e.to_string());
        let c = c
            .as_ref()
            .map(|c| (c.lifetimes.id_token_secs, c.clients.len()));
        assert_eq!(c, Ok((5, 2)));
    }

    fn parse_err(text: &str) -> String {
        TenantConfig::parse(text, Path::new("k.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn built_in_users_have_passwords_and_the_default_connection() {
        let t = TenantConfig::default();
        let alice = t.user_for_login(DEFAULT_CONNECTION, "alice@example.test");
        assert_eq!(
            alice.map(|u| (u.username.as_str(), u.password())),
            Some(("alice", "alice-password".to_string()))
        );
        assert!(t.user_for_login("Other-Connection", "alice").is_none());
        assert!(t.has_connection(DEFAULT_CONNECTION));
        assert!(!t.has_connection("Other-Connection"));
        let native = t.client(PUBLIC_CLIENT_ID);
        assert!(native.is_some_and(
            |c| c.allows_grant(GRANT_PASSWORD) && c.allows_grant(GRANT_PASSWORD_REALM)
        ));
        assert!(t
            .client(M2M_CLIENT_ID)
            .is_some_and(|c| !c.allows_grant(GRANT_PASSWORD)));
    }

    #[test]
    fn user_keys_for_the_password_grants() {
        let text = "[[users]]\nusername = \"eve\"\nuser_id = \"auth0|eve\"\nemail = \"e@x.test\"\nname = \"Eve\"\nconnection = \"Staff\"\nmfa_required = true\n";
        let t = TenantConfig::parse(text, Path::new("u.toml")).map_err(|e| e.to_string());
        let eve = t
            .as_ref()
            .ok()
            .and_then(|t| t.user_for_login("Staff", "eve"));
        assert_eq!(
            eve.map(|u| (u.password(), u.mfa_required)),
            Some(("eve-password".to_string(), true))
        );
        assert!(t.is_ok_and(|t| t.has_connection("Staff")));
    }

    #[test]
    fn client_keys_are_checked_at_load() {
        let client = |extra: &str| {
            format!("[[clients]]\nclient_id = \"k\"\napp_type = \"non_interactive\"\ngrant_types = [\"client_credentials\"]\n{extra}\n")
        };
        let err = parse_err(&client("public_key_pem = \"not a key\""));
        assert!(
            err.contains("clients[0]") && err.contains("public_key_pem"),
            "{err}"
        );
        let err = parse_err(&client(
            "public_key_jwk = { kty = \"EC\", crv = \"P-384\", x = \"AA\", y = \"AA\" }",
        ));
        assert!(err.contains("P-384"), "{err}");
        let err = parse_err(&client(
            "public_key_jwk = { kty = \"oct\", k = \"c2VjcmV0\" }",
        ));
        assert!(err.contains("kty `oct`"), "{err}");
        let err = parse_err(&client("auth_methods = [\"private_key_jwt\"]"));
        assert!(err.contains("no `public_key_pem`"), "{err}");
        let err = parse_err(&client(
            "public_key_pem = \"-----BEGIN PRIVATE KEY-----\\nAA\\n-----END PRIVATE KEY-----\"",
        ));
        assert!(err.contains("private key"), "{err}");
    }

    #[test]
    fn a_key_makes_a_client_confidential_with_private_key_jwt() {
        let key = AssertionKey::from_jwk(&serde_json::json!({
            "kty": "RSA", "n": "sXch", "e": "AQAB", "alg": "RS256"
        }));
        assert_eq!(
            key.map(|k| k.alg).ok(),
            Some(jsonwebtoken::Algorithm::RS256)
        );
        let mut c = TenantConfig::default().clients[1].clone();
        c.secret = None;
        c.public_key_jwk = Some(serde_json::json!({"kty": "RSA", "n": "sXch", "e": "AQAB"}));
        assert!(c.is_confidential());
        assert_eq!(c.accepted_auth_methods(), vec![AuthMethod::PrivateKeyJwt]);
        let wrong_alg = AssertionKey::from_jwk(&serde_json::json!({
            "kty": "RSA", "n": "sXch", "e": "AQAB", "alg": "HS256"
        }));
        assert!(wrong_alg.is_err());
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = "[lifetimes]\nid_token_secs = 5\nbogus_key = 1\n";
        let err = TenantConfig::parse(text, Path::new("tenant.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tenant.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("bogus_key"), "{err}");
    }
}
