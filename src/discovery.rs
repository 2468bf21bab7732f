//! Provider metadata: where each endpoint is (SPEC §3, endpoint resolution).
//!
//! Order: explicit `--*-url` overrides win; otherwise OIDC discovery
//! (`{issuer}/.well-known/openid-configuration`), then RFC 8414 metadata, then Auth0's fixed
//! paths. A discovery document whose `issuer` differs from the configured one is refused
//! (mix-up defence): this module never lets a login talk to endpoints another issuer named.

use serde::Deserialize;
use url::Url;

use crate::config::{check_transport, is_loopback_host, ProviderConfig};
use crate::exit::ExitCode;
use crate::http::{HttpClient, HttpError};
use crate::output;

/// Why the provider's endpoints could not be determined.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("issuer mismatch: the discovery document at {url} names issuer `{found}`, but the configured issuer is `{expected}` (mix-up defence)\n  hint: if `{found}` is the right provider, pass --issuer {found}")]
    IssuerMismatch {
        url: String,
        expected: String,
        found: String,
    },
    #[error("the discovery document at {url} is not usable: {detail}")]
    Malformed { url: String, detail: String },
    #[error("the provider advertises no {what}\n  hint: pass {flag} URL")]
    MissingEndpoint {
        what: &'static str,
        flag: &'static str,
    },
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl DiscoveryError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            DiscoveryError::IssuerMismatch { .. } => ExitCode::Refused,
            DiscoveryError::Malformed { .. } => ExitCode::Unreachable,
            DiscoveryError::MissingEndpoint { .. } => ExitCode::Other,
            DiscoveryError::Http(e) => e.exit_code(),
        }
    }
}

/// Where the endpoints came from (shown by `-v` and `doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// OpenID Connect discovery.
    OpenIdConfiguration(Url),
    /// RFC 8414 authorization server metadata.
    Rfc8414(Url),
    /// No metadata: Auth0's well-known paths.
    Auth0Defaults,
    /// `--authorize-url` and `--token-url` given; no metadata fetched.
    Overrides,
}

/// The provider's endpoints and the capabilities authcli cares about.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub source: Source,
    /// The issuer exactly as the provider spells it (`iss` in tokens and RFC 9207 responses is
    /// compared with this string): from the metadata when there is some, else as configured.
    pub issuer: String,
    pub authorization: Url,
    pub token: Url,
    pub device_authorization: Option<Url>,
    pub revocation: Option<Url>,
    pub userinfo: Option<Url>,
    pub jwks: Option<Url>,
    pub end_session: Option<Url>,
    /// RFC 9207: the provider puts `iss` on authorization responses, so it must be checked.
    pub iss_parameter_supported: bool,
    pub code_challenge_methods: Option<Vec<String>>,
    pub token_auth_methods: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    jwks_uri: Option<String>,
    end_session_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    code_challenge_methods_supported: Option<Vec<String>>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// `{issuer}/.well-known/openid-configuration` (OIDC Discovery §4).
pub fn openid_configuration_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = format!(
        "{}/.well-known/openid-configuration",
        issuer.path().trim_end_matches('/')
    );
    url.set_path(&path);
    url
}

/// RFC 8414 §3: the well-known segment goes between host and path.
pub fn rfc8414_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let rest = issuer.path().trim_end_matches('/');
    url.set_path(&format!("/.well-known/oauth-authorization-server{rest}"));
    url
}

/// Resolves the endpoints for `cfg`.
pub async fn resolve(
    client: &HttpClient,
    cfg: &ProviderConfig,
) -> Result<Endpoints, DiscoveryError> {
    let o = &cfg.overrides;
    if let (Some(authorization), Some(token)) = (&o.authorization, &o.token) {
        output::step("endpoints given on the command line: skipping discovery");
        return Ok(Endpoints {
            source: Source::Overrides,
            issuer: cfg.issuer.to_string(),
            authorization: authorization.clone(),
            token: token.clone(),
            device_authorization: o.device_authorization.clone(),
            revocation: o.revocation.clone(),
            userinfo: o.userinfo.clone(),
            jwks: o.jwks.clone(),
            end_session: None,
            iss_parameter_supported: false,
            code_challenge_methods: None,
            token_auth_methods: None,
        });
    }

    let mut discovered = None;
    for (url, is_oidc) in [
        (openid_configuration_url(&cfg.issuer), true),
        (rfc8414_url(&cfg.issuer), false),
    ] {
        output::step(&format!("discovery: {url}"));
        if let Some(doc) = client.get_json("discovery document", &url).await? {
            discovered = Some((url, is_oidc, doc));
            break;
        }
    }

    let mut endpoints = match discovered {
        Some((url, is_oidc, doc)) => from_metadata(cfg, url, is_oidc, doc)?,
        None => {
            output::step("no discovery document: using Auth0's endpoint paths");
            auth0_defaults(&cfg.issuer)
        }
    };
    // Explicit flags win over discovery.
    let apply = |slot: &mut Url, o: &Option<Url>| {
        if let Some(u) = o {
            *slot = u.clone();
        }
    };
    apply(&mut endpoints.authorization, &o.authorization);
    apply(&mut endpoints.token, &o.token);
    for (slot, o) in [
        (&mut endpoints.device_authorization, &o.device_authorization),
        (&mut endpoints.revocation, &o.revocation),
        (&mut endpoints.userinfo, &o.userinfo),
        (&mut endpoints.jwks, &o.jwks),
    ] {
        if o.is_some() {
            slot.clone_from(o);
        }
    }
    Ok(endpoints)
}

pub(crate) fn from_metadata(
    cfg: &ProviderConfig,
    url: Url,
    is_oidc: bool,
    doc: serde_json::Value,
) -> Result<Endpoints, DiscoveryError> {
    let malformed = |detail: String| DiscoveryError::Malformed {
        url: url.to_string(),
        detail,
    };
    let meta: Metadata = serde_json::from_value(doc).map_err(|e| malformed(e.to_string()))?;
    let found = Url::parse(&meta.issuer).ok();
    if found.as_ref() != Some(&cfg.issuer) {
        return Err(DiscoveryError::IssuerMismatch {
            url: url.to_string(),
            expected: cfg.issuer.to_string(),
            found: output::sanitize(&meta.issuer),
        });
    }
    // An https issuer naming a plain-http endpoint (even on loopback) would send codes and
    // tokens unencrypted, or to whatever listens on this machine's port: only a loopback
    // issuer (a local IdP, the mock tenant) may use plain http.
    let issuer_loopback =
        cfg.issuer.scheme() == "http" || cfg.issuer.host().is_some_and(|h| is_loopback_host(&h));
    let endpoint = |name: &str, raw: &Option<String>| -> Result<Option<Url>, DiscoveryError> {
        raw.as_deref()
            .map(|r| {
                let u = Url::parse(r).map_err(|e| malformed(format!("{name}: {e}")))?;
                check_transport(&u).map_err(|e| malformed(format!("{name}: {e}")))?;
                if u.scheme() == "http" && !issuer_loopback {
                    return Err(malformed(format!(
                        "{name} `{u}` is plain http, but the issuer is not on this machine: only a loopback issuer may name http endpoints"
                    )));
                }
                Ok(u)
            })
            .transpose()
    };
    let defaults = auth0_defaults(&cfg.issuer);
    let authorization = endpoint("authorization_endpoint", &meta.authorization_endpoint)?;
    let token = endpoint("token_endpoint", &meta.token_endpoint)?;
    Ok(Endpoints {
        issuer: meta.issuer.clone(),
        source: if is_oidc {
            Source::OpenIdConfiguration(url.clone())
        } else {
            Source::Rfc8414(url.clone())
        },
        authorization: authorization.unwrap_or(defaults.authorization),
        token: token.unwrap_or(defaults.token),
        device_authorization: endpoint(
            "device_authorization_endpoint",
            &meta.device_authorization_endpoint,
        )?,
        revocation: endpoint("revocation_endpoint", &meta.revocation_endpoint)?,
        userinfo: endpoint("userinfo_endpoint", &meta.userinfo_endpoint)?,
        jwks: endpoint("jwks_uri", &meta.jwks_uri)?,
        end_session: endpoint("end_session_endpoint", &meta.end_session_endpoint)?,
        iss_parameter_supported: meta.authorization_response_iss_parameter_supported,
        code_challenge_methods: meta.code_challenge_methods_supported,
        token_auth_methods: meta.token_endpoint_auth_methods_supported,
    })
}

/// Auth0's paths, used when the provider publishes no metadata.
pub fn auth0_defaults(issuer: &Url) -> Endpoints {
    let at = |path: &str| {
        let mut u = issuer.clone();
        u.set_path(&format!("{}{path}", issuer.path().trim_end_matches('/')));
        u
    };
    Endpoints {
        source: Source::Auth0Defaults,
        issuer: issuer.to_string(),
        authorization: at("/authorize"),
        token: at("/oauth/token"),
        device_authorization: Some(at("/oauth/device/code")),
        revocation: Some(at("/oauth/revoke")),
        userinfo: Some(at("/userinfo")),
        jwks: Some(at("/.well-known/jwks.json")),
        end_session: None,
        iss_parameter_supported: false,
        code_challenge_methods: None,
        token_auth_methods: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(issuer: &str) -> ProviderConfig {
        let args = crate::cli::ProviderArgs {
            issuer: Some(issuer.into()),
            client_id: Some("c".into()),
            ..Default::default()
        };
        ProviderConfig::resolve(&args, &crate::config::Profile::default()).unwrap()
    }

    fn metadata(issuer: &str, token: &str) -> serde_json::Value {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}authorize"),
            "token_endpoint": token,
        })
    }

    #[test]
    fn https_issuer_may_not_name_plain_http_endpoints() {
        let url = Url::parse("https://idp.example/.well-known/openid-configuration").unwrap();
        let cfg = provider("https://idp.example/");
        for token in [
            "http://127.0.0.1:8080/oauth/token",
            "http://localhost/oauth/token",
        ] {
            let doc = metadata("https://idp.example/", token);
            let err = from_metadata(&cfg, url.clone(), true, doc).unwrap_err();
            assert!(err.to_string().contains("plain http"), "{err}");
        }
        let doc = metadata("https://idp.example/", "https://idp.example/oauth/token");
        assert!(from_metadata(&cfg, url, true, doc).is_ok());
        // A loopback issuer (the mock tenant, a local IdP) keeps plain http.
        let local = provider("http://127.0.0.1:9000/");
        let url = Url::parse("http://127.0.0.1:9000/.well-known/openid-configuration").unwrap();
        let doc = metadata(
            "http://127.0.0.1:9000/",
            "http://127.0.0.1:9000/oauth/token",
        );
        assert!(from_metadata(&local, url, true, doc).is_ok());
    }

    #[test]
    fn well_known_urls() {
        let auth0 = Url::parse("https://tenant.us.auth0.com/").unwrap();
        assert_eq!(
            openid_configuration_url(&auth0).as_str(),
            "https://tenant.us.auth0.com/.well-known/openid-configuration"
        );
        let keycloak = Url::parse("https://kc.example/realms/dev").unwrap();
        assert_eq!(
            openid_configuration_url(&keycloak).as_str(),
            "https://kc.example/realms/dev/.well-known/openid-configuration"
        );
        assert_eq!(
            rfc8414_url(&keycloak).as_str(),
            "https://kc.example/.well-known/oauth-authorization-server/realms/dev"
        );
        assert_eq!(
            auth0_defaults(&auth0).token.as_str(),
            "https://tenant.us.auth0.com/oauth/token"
        );
    }
}
