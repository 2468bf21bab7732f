//! Client authentication at the token endpoint: none, a secret (post or basic), or an RFC 7523
//! `private_key_jwt` assertion.
//!
//! The session stores only *where* the credential comes from ([`ClientAuthSpec`]); this module
//! reads the value when a request is about to be made, so a renewal re-reads the same file or
//! variable. A secret that came from stdin or argv cannot be read twice: renewing such a
//! session says which flag to use instead. Values stay in [`ClientSecret`] until the request
//! body; a private key never leaves this module.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use url::Url;

use crate::discovery::Endpoints;
use crate::exit::ExitCode;
use crate::http::ClientAuth;
use crate::secret::{random_urlsafe, AuthMethod, ClientAuthSpec, ClientSecret, SecretSource};

/// Lifetime of a client assertion: long enough for one request, short enough to be useless
/// when replayed later (RFC 7523 §3 asks for an `exp`; providers reject long ones).
const ASSERTION_LIFETIME_SECS: u64 = 60;

/// Why the client's credential could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    #[error("the client secret came from {flag} when the session was made and cannot be read again\n  hint: use AUTHCLI_CLIENT_SECRET or --client-secret-file PATH (or `client_secret_file` in the profile) so `authcli token` can renew the session")]
    NotRereadable { flag: &'static str },
    #[error("the environment variable {var} that held the client secret is not set\n  hint: export {var} again, or log in with --client-secret-file PATH")]
    EnvMissing { var: String },
    #[error("could not read the client secret from {}: {source}", path.display())]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("the client secret from {from} is empty")]
    Empty { from: String },
    #[error("could not use the private key {}: {detail}\n  hint: pass an RSA (RS256) or EC P-256 (ES256) private key in PEM, e.g. PKCS#8", path.display())]
    Key {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error("could not sign the client assertion: {0}")]
    Sign(String),
}

impl ClientAuthError {
    /// Exit code of SPEC §7: a secret that cannot be re-read means a new login is needed.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            ClientAuthError::NotRereadable { .. } | ClientAuthError::EnvMissing { .. } => {
                ExitCode::LoginRequired
            }
            _ => ExitCode::Other,
        }
    }
}

/// A credential ready to authenticate requests.
pub enum Credential {
    None,
    Secret {
        method: AuthMethod,
        secret: ClientSecret,
    },
    PrivateKey {
        key: EncodingKey,
        alg: Algorithm,
        key_id: Option<String>,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::None => write!(f, "Credential::None"),
            Credential::Secret { method, .. } => write!(f, "Credential::Secret({method:?})"),
            Credential::PrivateKey { alg, .. } => write!(f, "Credential::PrivateKey({alg:?})"),
        }
    }
}

impl Credential {
    /// Reads the credential `spec` names. `given` is the secret a one-shot source (stdin,
    /// argv) already delivered for this run; without it such a source is an error.
    pub fn load(
        spec: &ClientAuthSpec,
        given: Option<&ClientSecret>,
        endpoints: &Endpoints,
    ) -> Result<Self, ClientAuthError> {
        match spec {
            ClientAuthSpec::None => Ok(Credential::None),
            ClientAuthSpec::Secret { method, source } => {
                let secret = match (source, given) {
                    (SecretSource::Stdin | SecretSource::Argv, Some(secret)) => secret.clone(),
                    (SecretSource::Stdin, None) => {
                        return Err(ClientAuthError::NotRereadable {
                            flag: "--client-secret-stdin",
                        })
                    }
                    (SecretSource::Argv, None) => {
                        return Err(ClientAuthError::NotRereadable {
                            flag: "--client-secret",
                        })
                    }
                    (SecretSource::Env { var }, _) => match std::env::var(var) {
                        Ok(v) if !v.is_empty() => ClientSecret::new(v),
                        _ => return Err(ClientAuthError::EnvMissing { var: var.clone() }),
                    },
                    (SecretSource::File { path }, _) => read_secret_file(path)?,
                };
                Ok(Credential::Secret {
                    method: method.unwrap_or_else(|| default_secret_method(endpoints)),
                    secret,
                })
            }
            ClientAuthSpec::PrivateKey { key, key_id } => {
                let pem = std::fs::read(key).map_err(|e| ClientAuthError::Key {
                    path: key.clone(),
                    detail: e.to_string(),
                })?;
                let (key_bytes, alg) = match EncodingKey::from_rsa_pem(&pem) {
                    Ok(k) => (k, Algorithm::RS256),
                    Err(_) => match EncodingKey::from_ec_pem(&pem) {
                        Ok(k) => (k, Algorithm::ES256),
                        Err(_) => {
                            return Err(ClientAuthError::Key {
                                path: key.clone(),
                                detail: "not an RSA or EC private key in PEM".into(),
                            })
                        }
                    },
                };
                Ok(Credential::PrivateKey {
                    key: key_bytes,
                    alg,
                    key_id: key_id.clone(),
                })
            }
        }
    }

    /// How to authenticate one request to `token_url`. A private key signs a fresh assertion
    /// (new `jti`) for each request, since providers refuse a replayed one.
    pub fn for_request(
        &self,
        client_id: &str,
        token_url: &Url,
        now: u64,
    ) -> Result<RequestAuth, ClientAuthError> {
        Ok(match self {
            Credential::None => RequestAuth::None,
            Credential::Secret {
                method: AuthMethod::ClientSecretBasic,
                secret,
            } => RequestAuth::Basic(secret.clone()),
            Credential::Secret { secret, .. } => RequestAuth::Post(secret.clone()),
            Credential::PrivateKey { key, alg, key_id } => {
                let mut header = Header::new(*alg);
                header.kid = key_id.clone();
                let claims = json!({
                    "iss": client_id,
                    "sub": client_id,
                    "aud": token_url.as_str(),
                    "jti": random_urlsafe(16),
                    "iat": now,
                    "exp": now + ASSERTION_LIFETIME_SECS,
                });
                crate::crypto_init();
                let jwt = jsonwebtoken::encode(&header, &claims, key)
                    .map_err(|e| ClientAuthError::Sign(e.to_string()))?;
                RequestAuth::Assertion(ClientSecret::new(jwt))
            }
        })
    }
}

/// The authentication of one request, owning what it sends.
#[derive(Debug)]
pub enum RequestAuth {
    None,
    Post(ClientSecret),
    Basic(ClientSecret),
    Assertion(ClientSecret),
}

impl RequestAuth {
    /// The borrowed form the HTTP layer takes.
    pub fn as_http(&self) -> ClientAuth<'_> {
        match self {
            RequestAuth::None => ClientAuth::None,
            RequestAuth::Post(s) => ClientAuth::Post(s),
            RequestAuth::Basic(s) => ClientAuth::Basic(s),
            RequestAuth::Assertion(a) => ClientAuth::Assertion(a),
        }
    }
}

/// SPEC §4: the first secret method discovery lists, else `client_secret_post`.
fn default_secret_method(endpoints: &Endpoints) -> AuthMethod {
    endpoints
        .token_auth_methods
        .iter()
        .flatten()
        .find_map(|m| match m.as_str() {
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            _ => None,
        })
        .unwrap_or(AuthMethod::ClientSecretPost)
}

/// The first line of a secret file, without its line ending.
fn read_secret_file(path: &std::path::Path) -> Result<ClientSecret, ClientAuthError> {
    let text = std::fs::read_to_string(path).map_err(|source| ClientAuthError::File {
        path: path.to_path_buf(),
        source,
    })?;
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Err(ClientAuthError::Empty {
            from: path.display().to_string(),
        });
    }
    Ok(ClientSecret::new(line))
}

/// Reads one secret line from stdin (`--client-secret-stdin`, `--password-stdin`).
pub fn read_stdin_line(what: &str) -> Result<ClientSecret, ClientAuthError> {
    let line = super::stdin_line().map_err(|source| ClientAuthError::File {
        path: "stdin".into(),
        source,
    })?;
    if line.is_empty() {
        return Err(ClientAuthError::Empty {
            from: format!("stdin ({what})"),
        });
    }
    Ok(ClientSecret::new(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_sources_cannot_be_reread() {
        let endpoints =
            crate::discovery::auth0_defaults(&Url::parse("https://t.example/").unwrap());
        for (source, flag) in [
            (SecretSource::Stdin, "--client-secret-stdin"),
            (SecretSource::Argv, "--client-secret"),
        ] {
            let spec = ClientAuthSpec::Secret {
                method: None,
                source,
            };
            let err = Credential::load(&spec, None, &endpoints).unwrap_err();
            assert_eq!(err.exit_code(), ExitCode::LoginRequired);
            assert!(err.to_string().contains(flag), "{err}");
        }
    }

    #[test]
    fn discovery_picks_the_first_secret_method() {
        let mut endpoints =
            crate::discovery::auth0_defaults(&Url::parse("https://t.example/").unwrap());
        endpoints.token_auth_methods = Some(vec![
            "private_key_jwt".into(),
            "client_secret_basic".into(),
            "client_secret_post".into(),
        ]);
        assert_eq!(
            default_secret_method(&endpoints),
            AuthMethod::ClientSecretBasic
        );
        endpoints.token_auth_methods = None;
        assert_eq!(
            default_secret_method(&endpoints),
            AuthMethod::ClientSecretPost
        );
    }

    #[test]
    fn discovery_listing_post_before_basic_picks_post() {
        let mut endpoints =
            crate::discovery::auth0_defaults(&Url::parse("https://t.example/").unwrap());
        endpoints.token_auth_methods = Some(vec![
            "private_key_jwt".into(),
            "client_secret_post".into(),
            "client_secret_basic".into(),
        ]);
        assert_eq!(
            default_secret_method(&endpoints),
            AuthMethod::ClientSecretPost
        );
    }
}
