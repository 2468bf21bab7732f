//! `authcli verify [TOKEN|-]`: check an access token the way an API must (SPEC §9).
//!
//! The four checks, in order: a well-formed JWT; its signature against the issuer's JWKS (from
//! discovery, `--jwks-url` or `--jwks-file`, through the shared cache with one refetch for an
//! unknown `kid`) with an asymmetric algorithm, or HMAC only with a secret from
//! `--secret-file`/`AUTHCLI_VERIFY_SECRET`; `exp`/`nbf`/`iat` within `--leeway`, `iss` exact,
//! `aud` containing `--audience`, optional `typ`; each `--scope` in `scope` or Auth0's
//! `permissions`. Exit 0 with the claims on stdout, 7 naming the failed check and the value
//! found, 6 when no JWKS can be had. A secret never comes from argv.

use std::io::IsTerminal;
use std::path::PathBuf;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{AlgorithmFamily, DecodingKey, Header};
use serde_json::{json, Value};
use url::Url;

use super::error::Error;
use crate::cli::{ReportFormat, VerifyArgs};
use crate::config::{self, EndpointOverrides, ProviderConfig};
use crate::exit::ExitCode;
use crate::http::HttpClient;
use crate::jwt::{self, JwtError};
use crate::secret::{AccessToken, VerifySecret};
use crate::{discovery, jwks, output, session};

const WHAT: &str = "access token";

/// Why `verify` could not say "valid".
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The token failed a check (exit 7).
    #[error("{0}")]
    Invalid(JwtError),
    /// No keys to check the signature with (exit 6).
    #[error("{0}\n  hint: check --issuer / --jwks-url and the network, or pass --jwks-file for an offline check")]
    NoKeys(String),
    #[error("no issuer to check the token against: pass --issuer (or --jwks-url / --jwks-file to find the keys; then `iss` is only checked with --issuer)")]
    NoIssuer,
    #[error("could not read the HMAC secret from {}: {source}", path.display())]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the HMAC secret is empty: check --secret-file / AUTHCLI_VERIFY_SECRET")]
    EmptySecret,
    #[error("--secret is refused: a secret on the command line is visible in the process list\n  hint: put it in a file and pass --secret-file PATH, or set AUTHCLI_VERIFY_SECRET")]
    SecretOnArgv,
}

impl VerifyError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            VerifyError::Invalid(_) => ExitCode::InvalidToken,
            VerifyError::NoKeys(_) => ExitCode::Unreachable,
            VerifyError::NoIssuer | VerifyError::SecretOnArgv => ExitCode::Usage,
            VerifyError::SecretFile { .. } | VerifyError::EmptySecret => ExitCode::Other,
        }
    }
}

/// A JWT problem is the token's fault (7), unless it is about getting the keys (6).
fn classify(e: JwtError) -> VerifyError {
    match e {
        JwtError::Jwks { .. } | JwtError::Http(_) => VerifyError::NoKeys(e.to_string()),
        other => VerifyError::Invalid(other),
    }
}

fn check(check: &'static str, detail: String) -> VerifyError {
    VerifyError::Invalid(JwtError::Check {
        what: WHAT,
        check,
        detail,
    })
}

/// What the claims must satisfy.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// `iss` must equal this string exactly.
    pub issuer: Option<String>,
    /// `aud` (a string or an array) must contain this.
    pub audience: Option<String>,
    /// Each must be in `scope` (space-separated) or `permissions` (Auth0 RBAC).
    pub scopes: Vec<String>,
    pub leeway: u64,
}

/// The claim checks of SPEC §9, naming the check that failed and the value found.
pub fn check_claims(claims: &Value, expect: &Expectations, now: u64) -> Result<(), VerifyError> {
    let leeway = expect.leeway;
    let time = |name: &str| -> Result<Option<u64>, VerifyError> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .map(Some)
                .ok_or_else(|| {
                    check(
                        match name {
                            "exp" => "exp",
                            "nbf" => "nbf",
                            _ => "iat",
                        },
                        format!(
                            "`{name}` is not a number: {}",
                            output::sanitize(&v.to_string())
                        ),
                    )
                }),
        }
    };
    match time("exp")? {
        None => return Err(check("exp", "the token has no `exp` claim".into())),
        Some(exp) if exp.saturating_add(leeway) < now => {
            return Err(check(
                "exp",
                format!(
                    "expired at {} ({} ago; leeway {leeway} s)",
                    output::rfc3339(exp),
                    output::span(now - exp)
                ),
            ))
        }
        Some(_) => {}
    }
    if let Some(nbf) = time("nbf")? {
        if nbf > now.saturating_add(leeway) {
            return Err(check(
                "nbf",
                format!(
                    "not valid before {} (in {}; leeway {leeway} s)",
                    output::rfc3339(nbf),
                    output::span(nbf - now)
                ),
            ));
        }
    }
    if let Some(iat) = time("iat")? {
        if iat > now.saturating_add(leeway) {
            return Err(check(
                "iat",
                format!(
                    "issued in the future, at {} (in {}; leeway {leeway} s)",
                    output::rfc3339(iat),
                    output::span(iat - now)
                ),
            ));
        }
    }
    if let Some(expected) = &expect.issuer {
        let found = claims.get("iss").and_then(Value::as_str);
        if found != Some(expected.as_str()) {
            let found_text = found.map_or("missing".to_string(), |f| {
                format!("`{}`", output::sanitize(f))
            });
            let near =
                found.is_some_and(|f| f.trim_end_matches('/') == expected.trim_end_matches('/'));
            return Err(check(
                "iss",
                format!(
                    "`iss` is {found_text}, expected `{expected}`{}",
                    if near {
                        " (they differ only by a trailing slash: pass --issuer exactly as the token spells it)"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    if let Some(expected) = &expect.audience {
        let aud = claims.get("aud");
        let contains = match aud {
            Some(Value::String(s)) => s == expected,
            Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(expected)),
            _ => false,
        };
        if !contains {
            return Err(check(
                "aud",
                format!(
                    "`aud` is {}, which does not contain `{expected}`",
                    aud.map_or("missing".into(), |a| output::sanitize(&a.to_string()))
                ),
            ));
        }
    }
    if !expect.scopes.is_empty() {
        let granted: Vec<&str> = claims
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| s.split_whitespace().collect())
            .unwrap_or_default();
        let permissions: Vec<&str> = claims
            .get("permissions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for wanted in &expect.scopes {
            if !granted.contains(&wanted.as_str()) && !permissions.contains(&wanted.as_str()) {
                return Err(check(
                    "scope",
                    format!(
                        "`{wanted}` is neither in `scope` ({}) nor in `permissions` ({})",
                        if granted.is_empty() {
                            "none".to_string()
                        } else {
                            output::sanitize(&granted.join(" "))
                        },
                        if permissions.is_empty() {
                            "none".to_string()
                        } else {
                            output::sanitize(&permissions.join(" "))
                        },
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `typ` equality per RFC 9068 §4: `at+jwt` and `application/at+jwt` are the same.
fn typ_matches(found: Option<&str>, wanted: &str) -> bool {
    let norm = |t: &str| {
        let t = t.to_ascii_lowercase();
        t.strip_prefix("application/")
            .map(str::to_string)
            .unwrap_or(t)
    };
    found.is_some_and(|f| norm(f) == norm(wanted))
}

fn read_secret(args: &VerifyArgs) -> Result<Option<VerifySecret>, VerifyError> {
    let raw = if let Some(path) = &args.secret_file {
        let text = std::fs::read_to_string(path).map_err(|source| VerifyError::SecretFile {
            path: path.clone(),
            source,
        })?;
        // One trailing newline is how editors end files, not part of the secret.
        let text = text
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(&text)
            .to_string();
        Some(text)
    } else {
        std::env::var("AUTHCLI_VERIFY_SECRET").ok()
    };
    match raw {
        Some(s) if s.is_empty() => Err(VerifyError::EmptySecret),
        Some(s) => Ok(Some(VerifySecret::new(s))),
        None => Ok(None),
    }
}

/// The token: the argument, stdin for `-` or nothing, or on a terminal the current
/// session's access token (with that session's issuer and audience as defaults).
struct Subject {
    token: AccessToken,
    issuer: Option<String>,
    audience: Option<String>,
}

fn subject(args: &VerifyArgs) -> Result<Subject, Error> {
    let plain = |t: String| Subject {
        token: AccessToken::new(t),
        issuer: None,
        audience: None,
    };
    match args.token.as_deref() {
        Some("-") => Ok(plain(super::decode::read_stdin_token()?)),
        Some(t) => Ok(plain(t.trim().to_string())),
        None if !std::io::stdin().is_terminal() => Ok(plain(super::decode::read_stdin_token()?)),
        None => {
            // `--scope` here means "required", not "the session's scopes".
            let mut selection = args.session.clone();
            selection.provider.scopes.clear();
            let (wanted, _, storage) = session::select(&selection)?;
            // `--audience` picks the session made for that API (Auth0); a session made without
            // one (RFC 8707 `--param resource=…`, oidc-provider) is still checked against it.
            let found = match session::find(&storage, &wanted)? {
                Some(found) => found,
                None if selection.provider.audience.is_some() => {
                    selection.provider.audience = None;
                    let (anyaud, _, _) = session::select(&selection)?;
                    match session::find(&storage, &anyaud)? {
                        Some(found) => found,
                        None => session::require(&storage, &wanted)?,
                    }
                }
                None => session::require(&storage, &wanted)?,
            };
            output::info(&format!(
                "Verifying the access token of the current session ({}, client {}).",
                found.key.issuer, found.key.client_id
            ));
            Ok(Subject {
                token: found.access_token.clone(),
                issuer: Some(found.key.issuer.clone()),
                audience: found.key.audience.clone(),
            })
        }
    }
}

/// `--issuer` as the token must spell it: a bare host becomes `https://host/`, a URL is
/// compared as typed.
fn expected_issuer(raw: &str) -> Result<String, Error> {
    let raw = raw.trim();
    if raw.contains("://") {
        config::parse_issuer(raw)?;
        Ok(raw.to_string())
    } else {
        Ok(config::parse_issuer(raw)?.to_string())
    }
}

/// Where the keys come from.
enum KeySource {
    File(JwkSet),
    Url(Url),
    Discover(Url),
}

fn provider_for(args: &VerifyArgs, issuer: &Url) -> ProviderConfig {
    let p = &args.session.provider;
    ProviderConfig {
        profile: p.profile.clone().unwrap_or_else(|| "default".into()),
        issuer: issuer.clone(),
        client_id: p.client_id.clone().unwrap_or_default(),
        audience: None,
        scopes: Vec::new(),
        extra_params: Vec::new(),
        overrides: EndpointOverrides::default(),
        cacert: p.cacert.clone(),
        timeout: p
            .timeout
            .filter(|t| *t > 0)
            .map_or(config::DEFAULT_HTTP_TIMEOUT, std::time::Duration::from_secs),
    }
}

async fn asymmetric_key(
    args: &VerifyArgs,
    source: KeySource,
    header: &Header,
) -> Result<DecodingKey, VerifyError> {
    let jwk = match source {
        KeySource::File(set) => jwt::select_key(WHAT, &set, header)
            .map_err(classify)?
            .clone(),
        KeySource::Url(url) | KeySource::Discover(url) => {
            let issuer_for_http = url.clone();
            let http = HttpClient::for_provider(&provider_for(args, &issuer_for_http))
                .map_err(|e| VerifyError::NoKeys(e.to_string()))?;
            jwks::key_for(&http, &url, WHAT, header)
                .await
                .map_err(classify)?
        }
    };
    jwt::decoding_key(WHAT, &jwk, header.alg).map_err(classify)
}

async fn discover(args: &VerifyArgs, issuer: &Url) -> Result<discovery::Endpoints, VerifyError> {
    let provider = provider_for(args, issuer);
    let http =
        HttpClient::for_provider(&provider).map_err(|e| VerifyError::NoKeys(e.to_string()))?;
    discovery::resolve(&http, &provider)
        .await
        .map_err(|e| VerifyError::NoKeys(e.to_string()))
}

fn jwks_of(endpoints: &discovery::Endpoints, issuer: &Url) -> Result<Url, VerifyError> {
    endpoints.jwks.clone().ok_or_else(|| {
        VerifyError::NoKeys(format!(
            "the provider at {issuer} publishes no JWKS (no `jwks_uri`): pass --jwks-url or --jwks-file"
        ))
    })
}

/// `authcli verify`.
pub fn run(args: &VerifyArgs) -> Result<u8, Error> {
    if args.secret.is_some() {
        return Err(VerifyError::SecretOnArgv.into());
    }
    let subject = subject(args)?;
    let token = subject.token.expose();
    let p = &args.session.provider;
    let profile_name = p.profile.as_deref().unwrap_or("default");
    let profile = config::load_profile(profile_name, p.profile.is_some())?;
    let issuer_raw = p
        .issuer
        .clone()
        .or(subject.issuer.clone())
        .or(profile.issuer.clone());
    let mut issuer = issuer_raw.as_deref().map(expected_issuer).transpose()?;
    // The session keeps its issuer normalised (`http://host:port/`); `iss` carries the
    // provider's own spelling, which only its metadata tells (oidc-provider, Keycloak and most
    // non-Auth0 providers have no trailing slash).
    let issuer_from_session = p.issuer.is_none() && subject.issuer.is_some();
    let audience = p
        .audience
        .clone()
        .or(subject.audience.clone())
        .or(profile.audience.clone())
        .filter(|a| !a.is_empty());
    let jwks_url = p.jwks_url.clone().or(profile.jwks_url.clone());

    // 1. Well-formed.
    super::decode::shape(token).map_err(|e| check("format", e.to_string()))?;
    let secret = read_secret(args)?;
    let header = jwt::parse_header(WHAT, token, secret.is_some()).map_err(classify)?;
    if let Some(wanted) = &args.require_typ {
        if !typ_matches(header.typ.as_deref(), wanted) {
            return Err(check(
                "typ",
                format!(
                    "the header's `typ` is {}, expected `{wanted}`",
                    header
                        .typ
                        .as_deref()
                        .map_or("missing".into(), |t| format!("`{}`", output::sanitize(t)))
                ),
            )
            .into());
        }
    }

    // 2. Signature.
    let key = if header.alg.family() == AlgorithmFamily::Hmac {
        // `parse_header` refused HMAC unless a secret was given.
        let Some(secret) = &secret else {
            return Err(check("alg", "an HMAC token needs --secret-file".into()).into());
        };
        DecodingKey::from_secret(secret.expose().as_bytes())
    } else {
        let source = if let Some(path) = &args.jwks_file {
            KeySource::File(jwks::from_file(path).map_err(classify)?)
        } else if let Some(raw) = &jwks_url {
            let url = Url::parse(raw).map_err(|e| config::ConfigError::Invalid {
                flag: "--jwks-url",
                value: raw.clone(),
                reason: e.to_string(),
            })?;
            KeySource::Url(url)
        } else {
            let Some(issuer) = &issuer else {
                return Err(VerifyError::NoIssuer.into());
            };
            let issuer_url = config::parse_issuer(issuer)?;
            KeySource::Discover(issuer_url)
        };
        let rt = super::runtime()?;
        rt.block_on(async {
            let source = match source {
                KeySource::Discover(issuer_url) => {
                    let endpoints = discover(args, &issuer_url).await?;
                    if issuer_from_session {
                        issuer = Some(endpoints.issuer.clone());
                    }
                    KeySource::Url(jwks_of(&endpoints, &issuer_url)?)
                }
                other => other,
            };
            asymmetric_key(args, source, &header).await
        })?
    };
    let claims = jwt::verify_signature(WHAT, token, &key, header.alg).map_err(classify)?;

    // 3. and 4. Claims and scopes.
    if issuer.is_none() {
        output::warn("`iss` not checked: pass --issuer");
    }
    if audience.is_none() {
        output::warn("`aud` not checked: pass --audience (an API must check it)");
    }
    let expect = Expectations {
        issuer,
        audience,
        scopes: p
            .scopes
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(String::from)
            .collect(),
        leeway: args.leeway,
    };
    let now = output::now_unix();
    check_claims(&claims, &expect, now)?;

    output::info(&format!(
        "Valid: signature ({:?}), exp/nbf/iat{}{}{} checked.",
        header.alg,
        if expect.issuer.is_some() { ", iss" } else { "" },
        if expect.audience.is_some() {
            ", aud"
        } else {
            ""
        },
        if expect.scopes.is_empty() {
            ""
        } else {
            ", scopes"
        },
    ));
    let text = if wants_json(args.output) {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&claims).unwrap_or_else(|_| json!({}).to_string())
        )
    } else {
        super::decode::table(
            &serde_json::to_value(&header).unwrap_or(Value::Null),
            &claims,
            now,
        )
    };
    output::write_stdout(&text).map_err(|source| Error::Output {
        what: "stdout",
        source,
    })?;
    Ok(0)
}

/// The demo's two teaching lines: what the access token says (`authcli decode`) and that it
/// passes the checks an API runs (`authcli verify`) against the tenant's JWKS.
pub fn demo_lines(
    tokens: &crate::flow::TokenSet,
    endpoints: &discovery::Endpoints,
    provider: &ProviderConfig,
) -> Result<Vec<String>, Error> {
    let token = tokens.access_token.expose();
    let (_, claims) = super::decode::decode(token)?;
    let now = output::now_unix();
    let s = |k: &str| {
        claims
            .get(k)
            .map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            })
            .unwrap_or_else(|| "-".into())
    };
    let expiry = claims
        .get("exp")
        .and_then(Value::as_u64)
        .map_or("-".into(), |exp| output::relative(exp, now));
    let decoded = format!(
        "  5. `authcli decode`: the access token is a JWT for {} (sub), audience {}, scope `{}`, permissions `{}`, expires {expiry}",
        s("sub"),
        s("aud"),
        s("scope"),
        s("permissions"),
    );
    let Some(jwks_url) = endpoints.jwks.clone() else {
        return Ok(vec![decoded]);
    };
    let header = jwt::parse_header(WHAT, token, false).map_err(classify)?;
    let http = HttpClient::for_provider(provider)?;
    let key = super::runtime()?
        .block_on(jwks::key_for(&http, &jwks_url, WHAT, &header))
        .map_err(classify)?;
    let key = jwt::decoding_key(WHAT, &key, header.alg).map_err(classify)?;
    let claims = jwt::verify_signature(WHAT, token, &key, header.alg).map_err(classify)?;
    let expect = Expectations {
        issuer: Some(endpoints.issuer.clone()),
        audience: provider.audience.clone(),
        scopes: Vec::new(),
        leeway: jwt::DEFAULT_LEEWAY_SECS,
    };
    check_claims(&claims, &expect, now)?;
    Ok(vec![
        decoded,
        format!(
            "  6. `authcli verify`: {:?} signature checked against {jwks_url}, iss, aud and exp too: valid, as an API would see it",
            header.alg
        ),
    ])
}

fn wants_json(format: Option<ReportFormat>) -> bool {
    match format {
        Some(ReportFormat::Json) => true,
        Some(ReportFormat::Table) => false,
        None => !std::io::stdout().is_terminal(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect() -> Expectations {
        Expectations {
            issuer: Some("https://i.example/".into()),
            audience: Some("api".into()),
            scopes: vec!["read:x".into()],
            leeway: 60,
        }
    }

    fn failed(claims: Value) -> String {
        match check_claims(&claims, &expect(), 1_000_000) {
            Err(VerifyError::Invalid(JwtError::Check { check, .. })) => check.to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn each_claim_check_is_named() {
        let good = json!({"iss": "https://i.example/", "aud": ["api", "x"], "exp": 1_000_100, "iat": 999_000, "scope": "read:x"});
        assert!(check_claims(&good, &expect(), 1_000_000).is_ok());
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        assert_eq!(failed(with("exp", json!(999_000))), "exp");
        assert_eq!(failed(with("nbf", json!(1_000_500))), "nbf");
        assert_eq!(failed(with("iat", json!(1_000_500))), "iat");
        assert_eq!(failed(with("iss", json!("https://i.example"))), "iss");
        assert_eq!(failed(with("aud", json!("other"))), "aud");
        assert_eq!(failed(with("scope", json!("write:x"))), "scope");
        let mut perms = with("scope", json!(""));
        perms["permissions"] = json!(["read:x"]);
        assert!(check_claims(&perms, &expect(), 1_000_000).is_ok());
        // Within the leeway.
        assert!(check_claims(&with("exp", json!(999_950)), &expect(), 1_000_000).is_ok());
    }

    #[test]
    fn typ_compares_media_types() {
        assert!(typ_matches(Some("application/at+jwt"), "at+jwt"));
        assert!(typ_matches(Some("AT+JWT"), "at+jwt"));
        assert!(!typ_matches(Some("JWT"), "at+jwt"));
        assert!(!typ_matches(None, "at+jwt"));
    }
}
