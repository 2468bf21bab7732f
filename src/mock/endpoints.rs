//! The OAuth 2.0 / OIDC endpoints of the mock tenant, shaped like Auth0's.
//!
//! Strict where a lenient server would hide client bugs: unknown clients and mismatched
//! callbacks get an error page and never a redirect; PKCE S256 is required for public
//! clients; codes are single-use and expire; `redirect_uri` must be repeated exactly;
//! refresh tokens rotate and a reused one revokes its family; M2M audiences need a client
//! grant. State changes happen under the state lock; RSA signing happens after it is released.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use super::faults::{FaultKind, FaultSpec};
use super::http::{self as h, OAuthError, Params, Req, Resp};
use super::keys::KeySet;
use super::pages;
use super::server::{lock, Shared};
use super::state::{AuthCode, DeviceAuth, DeviceDecision, Family, Grant, IssuedAccess, State};
use super::tenant::{
    AppType, AuthMethod, ClientConfig, UserConfig, DEFAULT_CONNECTION, GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_PASSWORD, GRANT_PASSWORD_REALM,
    GRANT_REFRESH_TOKEN,
};
use super::Flavor;
use crate::secret::{constant_time_eq, s256};

/// OIDC scopes every client may ask for; API scopes come from the API's definition.
const OIDC_SCOPES: [&str; 5] = ["openid", "profile", "email", "address", "phone"];
const WRONG_ISSUER: &str = "https://wrong-issuer.example.test/";

// ---------------------------------------------------------------- discovery and keys

pub fn discovery(shared: &Shared, fault: Option<&FaultSpec>) -> Resp {
    let b = &shared.base;
    let issuer = match fault.map(|f| f.fault) {
        Some(FaultKind::WrongIssuer) => WRONG_ISSUER,
        _ => shared.issuer.as_str(),
    };
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/oauth/token"),
        "device_authorization_endpoint": format!("{b}/oauth/device/code"),
        "userinfo_endpoint": format!("{b}/userinfo"),
        "jwks_uri": format!("{b}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{b}/oauth/revoke"),
        "end_session_endpoint": format!("{b}/oidc/logout"),
        "scopes_supported": [
            "openid", "profile", "offline_access", "name", "given_name", "family_name",
            "nickname", "email", "email_verified", "picture", "created_at", "identities",
            "phone", "address"
        ],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post", "private_key_jwt"
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "claims_supported": [
            "aud", "auth_time", "created_at", "email", "email_verified", "exp", "family_name",
            "given_name", "iat", "identities", "iss", "name", "nickname", "phone_number",
            "picture", "sub"
        ],
        "request_uri_parameter_supported": false,
        "request_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    });
    if shared.flavor == Flavor::Rfc {
        doc["grant_types_supported"] = json!([
            GRANT_AUTHORIZATION_CODE,
            GRANT_REFRESH_TOKEN,
            GRANT_CLIENT_CREDENTIALS,
            GRANT_DEVICE_CODE,
            GRANT_PASSWORD
        ]);
    }
    h::json_public(&doc)
}

pub async fn jwks(shared: &Shared) -> Resp {
    match shared.keys.ready().await {
        Ok(keys) => {
            let mut resp = h::json_public(&keys.jwks());
            // Keys change rarely and rotations are announced a key ahead, so clients may keep
            // the set for ten minutes (the JWKS cache of `authcli verify` honours this).
            resp.headers_mut().insert(
                hyper::header::CACHE_CONTROL,
                hyper::header::HeaderValue::from_static("public, max-age=600"),
            );
            resp
        }
        Err(e) => OAuthError::new("server_error", e).into_response(shared.flavor),
    }
}

// ---------------------------------------------------------------- /authorize

/// RFC 8252 §7.3 loopback hosts.
fn is_loopback(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
}

/// Exact match, or for native clients a loopback callback on any port (RFC 8252 §7.3).
pub fn callback_allowed(client: &ClientConfig, requested: &str, registered: &[String]) -> bool {
    if registered.iter().any(|c| c == requested) {
        return true;
    }
    if client.app_type != AppType::Native || !client.loopback_any_port {
        return false;
    }
    let Ok(req) = url::Url::parse(requested) else {
        return false;
    };
    if req.scheme() != "http" || !is_loopback(&req) || req.fragment().is_some() {
        return false;
    }
    registered
        .iter()
        .filter_map(|c| url::Url::parse(c).ok())
        .any(|reg| {
            reg.scheme() == "http"
                && reg.host_str() == req.host_str()
                && reg.path() == req.path()
                && reg.query() == req.query()
                && req.username().is_empty()
                && req.password().is_none()
        })
}

fn error_page(status: u16, error: &str, description: &str) -> Resp {
    h::html(status, pages::error_page(error, description))
}

/// A checked `/authorize` request: everything needed to issue a code.
struct AuthzRequest {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    scope: Vec<String>,
    audience: Option<String>,
    code_challenge: Option<String>,
    login_hint: Option<String>,
}

/// Where `/authorize` ends when the request cannot continue.
enum AuthzStop {
    /// No trustworthy redirect URI: an HTML page.
    Page(Box<Resp>),
    /// Redirect back with `error`.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

// The error is built at most once per request; boxing it would only add noise.
#[allow(clippy::result_large_err)]
fn check_authorize(shared: &Shared, q: &Params) -> Result<AuthzRequest, AuthzStop> {
    let tenant = &shared.tenant;
    let Some(client_id) = q.get("client_id").filter(|c| !c.is_empty()) else {
        return Err(AuthzStop::Page(Box::new(error_page(
            400,
            "invalid_request",
            "Missing required parameter: client_id",
        ))));
    };
    let Some(client) = tenant.client(client_id) else {
        return Err(AuthzStop::Page(Box::new(error_page(
            400,
            "invalid_request",
            &format!("Unknown client: {client_id}"),
        ))));
    };
    let Some(redirect_uri) = q.get("redirect_uri").filter(|r| !r.is_empty()) else {
        return Err(AuthzStop::Page(Box::new(error_page(
            400,
            "invalid_request",
            "Missing required parameter: redirect_uri",
        ))));
    };
    if !callback_allowed(client, redirect_uri, &client.callbacks) {
        return Err(AuthzStop::Page(Box::new(error_page(
            400,
            "unauthorized_client",
            &format!(
                "Callback URL mismatch. {redirect_uri} is not in the list of allowed callback URLs"
            ),
        ))));
    }
    let state = q.get("state").map(str::to_string);
    let stop = |error: OAuthError| AuthzStop::Redirect {
        redirect_uri: redirect_uri.to_string(),
        state: state.clone(),
        error,
    };
    match q.get("response_type") {
        None | Some("") => {
            return Err(stop(OAuthError::new(
                "invalid_request",
                "Missing required parameter: response_type",
            )))
        }
        Some("code") => {}
        Some(other) => {
            return Err(stop(OAuthError::new(
                "unsupported_response_type",
                format!("Unsupported response type: {other}"),
            )))
        }
    }
    require_grant(client, GRANT_AUTHORIZATION_CODE).map_err(stop)?;
    if let Some(mode) = q.get("response_mode").filter(|m| *m != "query") {
        return Err(stop(OAuthError::new(
            "invalid_request",
            format!("response_mode '{mode}' is not supported by the mock tenant; use query"),
        )));
    }
    let challenge = q.get("code_challenge").filter(|c| !c.is_empty());
    match (challenge, q.get("code_challenge_method")) {
        (None, _) if !client.is_confidential() => {
            return Err(stop(OAuthError::new(
                "invalid_request",
                "Parameter 'code_challenge' is required for public clients (PKCE with S256)",
            )))
        }
        (None, Some(_)) => {
            return Err(stop(OAuthError::new(
                "invalid_request",
                "Parameter 'code_challenge_method' was sent without 'code_challenge'",
            )))
        }
        (Some(_), None) => {
            return Err(stop(OAuthError::new(
                "invalid_request",
                "Parameter 'code_challenge_method' is required: only S256 is accepted",
            )))
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Err(stop(OAuthError::new(
                "invalid_request",
                format!("code_challenge_method '{m}' is not accepted: use S256"),
            )))
        }
        (Some(c), Some(_)) => {
            // An S256 challenge is always 32 bytes → 43 base64url characters.
            let ok = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(stop(OAuthError::new(
                    "invalid_request",
                    "Parameter 'code_challenge' is not a base64url SHA-256 value",
                )));
            }
        }
        (None, None) => {}
    }
    let audience = q
        .get("audience")
        .or_else(|| q.get("resource"))
        .filter(|a| !a.is_empty());
    if let Some(aud) = audience {
        if tenant.api(aud).is_none() {
            return Err(stop(OAuthError::new(
                "access_denied",
                format!("Service not found: {aud}"),
            )));
        }
    }
    let login_hint = q.get("login_hint").filter(|l| !l.is_empty());
    if let Some(hint) = login_hint {
        if tenant.user_by_hint(hint).is_none() {
            return Err(stop(OAuthError::new(
                "access_denied",
                format!("Unknown user: {hint}"),
            )));
        }
    }
    if tenant.default_user().is_none() {
        return Err(stop(OAuthError::new(
            "access_denied",
            "The tenant has no users",
        )));
    }
    Ok(AuthzRequest {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        state,
        nonce: q.get("nonce").map(str::to_string),
        scope: q.scopes("scope"),
        audience: audience.map(str::to_string),
        code_challenge: challenge.map(str::to_string),
        login_hint: login_hint.map(str::to_string),
    })
}

/// The error redirect: `error`, `error_description`, `state` and RFC 9207 `iss`.
fn error_redirect(
    shared: &Shared,
    redirect_uri: &str,
    state: Option<&str>,
    e: &OAuthError,
) -> Resp {
    let mut pairs = vec![
        ("error", e.error.as_str()),
        ("error_description", e.description.as_str()),
    ];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", shared.issuer.as_str()));
    h::redirect(&h::with_query(redirect_uri, &pairs))
}

pub fn authorize(shared: &Shared, req: &Req, fault: Option<&FaultSpec>) -> Resp {
    let q = match req.query_params() {
        Ok(q) => q,
        Err(e) => return error_page(400, &e.error, &e.description),
    };
    let authz = match check_authorize(shared, &q) {
        Ok(a) => a,
        Err(AuthzStop::Page(resp)) => return *resp,
        Err(AuthzStop::Redirect {
            redirect_uri,
            state,
            error,
        }) => return error_redirect(shared, &redirect_uri, state.as_deref(), &error),
    };
    if let Some(f) = fault {
        let forced = match f.fault {
            FaultKind::Deny => Some(OAuthError::new(
                "access_denied",
                f.error_description
                    .clone()
                    .unwrap_or_else(|| "User did not authorize the request".into()),
            )),
            FaultKind::OauthError => Some(OAuthError::new(
                f.error.as_deref().unwrap_or("server_error"),
                f.error_description.clone().unwrap_or_default(),
            )),
            _ => None,
        };
        if let Some(e) = forced {
            return error_redirect(shared, &authz.redirect_uri, authz.state.as_deref(), &e);
        }
    }
    if shared.interactive {
        return super::interactive::sign_in(shared, authz_transaction(shared, authz));
    }
    let user_id = match authz
        .login_hint
        .as_deref()
        .and_then(|hint| shared.tenant.user_by_hint(hint))
        .or_else(|| shared.tenant.default_user())
    {
        Some(u) => u.user_id.clone(),
        None => return error_page(500, "server_error", "The tenant has no users"),
    };
    let code = issue_code(shared, &authz, user_id);
    success_redirect(
        shared,
        &authz.redirect_uri,
        &code,
        authz.state.as_deref(),
        fault,
    )
}

fn authz_transaction(shared: &Shared, a: AuthzRequest) -> pages::Transaction {
    let hinted = a
        .login_hint
        .as_deref()
        .and_then(|hint| shared.tenant.user_by_hint(hint))
        .map(|u| u.user_id.clone());
    pages::Transaction {
        csrf: shared.rng.token(24),
        client_id: a.client_id,
        redirect_uri: a.redirect_uri,
        state: a.state,
        nonce: a.nonce,
        scope: a.scope,
        audience: a.audience,
        code_challenge: a.code_challenge,
        user_id: hinted,
        created_at: shared.clock.now(),
    }
}

/// Issues a code for a completed interactive transaction.
pub fn finish_transaction(shared: &Shared, t: pages::Transaction, user_id: String) -> Resp {
    let authz = AuthzRequest {
        client_id: t.client_id,
        redirect_uri: t.redirect_uri,
        state: t.state,
        nonce: t.nonce,
        scope: t.scope,
        audience: t.audience,
        code_challenge: t.code_challenge,
        login_hint: None,
    };
    let code = issue_code(shared, &authz, user_id);
    success_redirect(
        shared,
        &authz.redirect_uri,
        &code,
        authz.state.as_deref(),
        None,
    )
}

/// The user said no in interactive mode.
pub fn deny_transaction(shared: &Shared, t: &pages::Transaction) -> Resp {
    let e = OAuthError::new("access_denied", "User did not authorize the request");
    error_redirect(shared, &t.redirect_uri, t.state.as_deref(), &e)
}

fn issue_code(shared: &Shared, a: &AuthzRequest, user_id: String) -> String {
    let code = shared.rng.token(32);
    let entry = AuthCode {
        client_id: a.client_id.clone(),
        redirect_uri: Some(a.redirect_uri.clone()),
        code_challenge: a.code_challenge.clone(),
        scope: a.scope.clone(),
        audience: a.audience.clone(),
        nonce: a.nonce.clone(),
        user_id,
        sid: shared.rng.token(16),
        issued_at: shared.clock.now(),
    };
    lock(&shared.state).codes.insert(code.clone(), entry);
    code
}

fn success_redirect(
    shared: &Shared,
    redirect_uri: &str,
    code: &str,
    state: Option<&str>,
    fault: Option<&FaultSpec>,
) -> Resp {
    let kind = fault.map(|f| f.fault);
    let wrong_state;
    let mut pairs = vec![("code", code)];
    if kind == Some(FaultKind::WrongState) {
        wrong_state = format!("wrong-{}", shared.rng.token(16));
        pairs.push(("state", wrong_state.as_str()));
    } else if let Some(s) = state.filter(|_| kind != Some(FaultKind::MissingState)) {
        pairs.push(("state", s));
    }
    let iss = if kind == Some(FaultKind::WrongIss) {
        WRONG_ISSUER
    } else {
        shared.issuer.as_str()
    };
    if kind != Some(FaultKind::MissingIss) {
        pairs.push(("iss", iss));
    }
    h::redirect(&h::with_query(redirect_uri, &pairs))
}

// ---------------------------------------------------------------- client authentication

/// Authenticates the client of a token-endpoint style request (RFC 6749 §2.3).
fn authenticate<'a>(
    shared: &'a Shared,
    req: &Req,
    p: &Params,
) -> Result<&'a ClientConfig, OAuthError> {
    let flavor = shared.flavor;
    let unauthorized = |basic: bool| {
        let e = match flavor {
            Flavor::Auth0 => OAuthError::new("access_denied", "Unauthorized"),
            Flavor::Rfc => OAuthError::new("invalid_client", "Client authentication failed"),
        }
        .with_status(401);
        if basic {
            e.with_header("www-authenticate", "Basic realm=\"mock-tenant\"")
        } else {
            e
        }
    };
    let basic = match req.header(hyper::header::AUTHORIZATION) {
        Some(value) => match value.split_once(' ') {
            Some((scheme, cred)) if scheme.eq_ignore_ascii_case("basic") => {
                Some(decode_basic(cred.trim()).ok_or_else(|| unauthorized(true))?)
            }
            _ => None,
        },
        None => None,
    };
    let body_id = p.get("client_id").filter(|c| !c.is_empty());
    let body_secret = p.get("client_secret");
    if p.get("client_assertion").is_some() || p.get("client_assertion_type").is_some() {
        if basic.is_some() || body_secret.is_some() {
            return Err(OAuthError::new(
                "invalid_request",
                "Use one client authentication method: client_assertion, Basic or client_secret, not several",
            ));
        }
        return authenticate_assertion(shared, req, p);
    }
    let (client_id, secret, method) = match (&basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::new(
                "invalid_request",
                "Use one client authentication method: Basic or client_secret, not both",
            ))
        }
        (Some((id, _)), Some(other), None) if other != id => {
            return Err(OAuthError::new(
                "invalid_request",
                "client_id in the body differs from the one in the Authorization header",
            ))
        }
        (Some((id, secret)), _, None) => (
            id.as_str(),
            Some(secret.as_str()),
            AuthMethod::ClientSecretBasic,
        ),
        (None, Some(id), Some(secret)) => (id, Some(secret), AuthMethod::ClientSecretPost),
        (None, Some(id), None) => (id, None, AuthMethod::None),
        (None, None, _) => {
            return Err(OAuthError::new(
                "invalid_request",
                "Missing required parameter: client_id",
            ))
        }
    };
    let Some(client) = shared.tenant.client(client_id) else {
        return Err(unauthorized(basic.is_some()));
    };
    // Public clients cannot keep a secret; one sent anyway proves nothing and is ignored.
    if !client.is_confidential() {
        return Ok(client);
    }
    let accepted = client.accepted_auth_methods();
    match (secret, &client.secret) {
        (Some(s), Some(expected)) if accepted.contains(&method) && constant_time_eq(s, expected) => {
            Ok(client)
        }
        (None, _) if accepted == [AuthMethod::PrivateKeyJwt] => Err(OAuthError::new(
            "invalid_client",
            format!(
                "Client '{client_id}' authenticates with private_key_jwt: send client_assertion and client_assertion_type={ASSERTION_TYPE}"
            ),
        )
        .with_status(401)),
        _ => Err(unauthorized(basic.is_some())),
    }
}

/// RFC 7523 §2.2 `client_assertion_type` for `private_key_jwt`.
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest an assertion may still be valid for when it arrives (its `exp` minus now).
const ASSERTION_MAX_LIFETIME_SECS: i64 = 300;
/// Clock skew tolerated on top of that, and for `nbf`.
const ASSERTION_SKEW_SECS: i64 = 30;

/// The real clock, in seconds: assertions are signed with the client's clock, which
/// `POST /__mock/clock` does not move, so their `exp` is checked against the real time.
fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `private_key_jwt` (RFC 7523 §3, OIDC Core §9): the client proves itself with a JWT signed
/// by the key registered for it. Every failure is 401 `invalid_client` saying what was wrong.
fn authenticate_assertion<'a>(
    shared: &'a Shared,
    req: &Req,
    p: &Params,
) -> Result<&'a ClientConfig, OAuthError> {
    let bad = |why: String| OAuthError::new("invalid_client", why).with_status(401);
    match p.get("client_assertion_type") {
        Some(ASSERTION_TYPE) => {}
        Some(other) => {
            return Err(bad(format!(
                "client_assertion_type '{other}' is not supported: use {ASSERTION_TYPE}"
            )))
        }
        None => {
            return Err(bad(format!(
                "client_assertion_type is missing: send {ASSERTION_TYPE} with client_assertion"
            )))
        }
    }
    let Some(jwt) = p.get("client_assertion").filter(|a| !a.is_empty()) else {
        return Err(bad("client_assertion is missing".into()));
    };
    let Some((header, claims)) = peek_jwt(jwt) else {
        return Err(bad(
            "client_assertion is not a signed JWT (header.payload.signature, base64url JSON)"
                .into(),
        ));
    };
    // Unverified so far: only used to find the client whose key must verify it.
    let iss = claims.get("iss").and_then(Value::as_str);
    let client_id = match (p.get("client_id").filter(|c| !c.is_empty()), iss) {
        (Some(id), Some(iss)) if id != iss => {
            return Err(bad(format!(
                "client_assertion: iss '{iss}' is not the client_id '{id}'"
            )))
        }
        (Some(id), _) => id,
        (None, Some(iss)) => iss,
        (None, None) => {
            return Err(bad(
                "client_assertion has no iss: it must be the client_id".into()
            ))
        }
    };
    let Some(client) = shared.tenant.client(client_id) else {
        return Err(bad(format!("Unknown client: {client_id}")));
    };
    let key = match client.assertion_key() {
        Ok(Some(key))
            if client
                .accepted_auth_methods()
                .contains(&AuthMethod::PrivateKeyJwt) =>
        {
            key
        }
        _ => {
            return Err(bad(format!(
            "Client '{client_id}' is not configured for private_key_jwt (no public key registered)"
        )))
        }
    };
    let expected = match key.alg {
        jsonwebtoken::Algorithm::ES256 => "ES256",
        _ => "RS256",
    };
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != expected {
        return Err(bad(format!(
            "client_assertion: alg '{alg}' is not accepted; the key registered for client '{client_id}' verifies {expected} only"
        )));
    }
    let mut validation = jsonwebtoken::Validation::new(key.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    jsonwebtoken::decode::<Value>(jwt, &key.key, &validation).map_err(|e| {
        bad(format!(
            "client_assertion: the signature does not verify with the key registered for client '{client_id}' ({e})"
        ))
    })?;
    let token_endpoint = format!("{}/oauth/token", shared.base);
    let mut audiences = vec![token_endpoint, shared.issuer.clone()];
    let here = format!("{}{}", shared.base, req.path);
    if !audiences.contains(&here) {
        audiences.push(here);
    }
    let now = wall_now();
    let (jti, exp) = check_assertion_claims(&claims, client_id, &audiences, now).map_err(bad)?;
    let mut st = lock(&shared.state);
    // Spent identifiers can be forgotten once their assertion has expired: `exp` refuses it.
    st.assertion_jtis.retain(|_, e| *e >= now);
    let key = (client.client_id.clone(), jti);
    if st.assertion_jtis.contains_key(&key) {
        return Err(bad(format!(
            "client_assertion: jti '{}' was already used: a replayed assertion is refused (make a new jti for each request)",
            key.1
        )));
    }
    st.assertion_jtis.insert(key, exp);
    Ok(client)
}

/// The header and claims of a compact JWS, not verified.
fn peek_jwt(
    jwt: &str,
) -> Option<(
    serde_json::Map<String, Value>,
    serde_json::Map<String, Value>,
)> {
    let mut parts = jwt.split('.');
    let (h, c, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode = |s: &str| -> Option<serde_json::Map<String, Value>> {
        match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()? {
            Value::Object(m) => Some(m),
            _ => None,
        }
    };
    Some((decode(h)?, decode(c)?))
}

/// The claim checks of RFC 7523 §3 on a verified assertion; `Ok((jti, exp))`.
fn check_assertion_claims(
    claims: &serde_json::Map<String, Value>,
    client_id: &str,
    audiences: &[String],
    now: i64,
) -> Result<(String, i64), String> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) {
        return Err(format!(
            "client_assertion: iss must be the client_id '{client_id}'"
        ));
    }
    if text("sub") != Some(client_id) {
        return Err(format!(
            "client_assertion: sub must be the client_id '{client_id}'"
        ));
    }
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !aud.iter().any(|a| audiences.iter().any(|x| x == a)) {
        let found = if aud.is_empty() {
            "aud is missing".to_string()
        } else {
            format!("aud '{}' is not this tenant", aud.join(" "))
        };
        return Err(format!(
            "client_assertion: {found}: use the token endpoint {} (or the issuer {})",
            audiences.first().map_or("", String::as_str),
            audiences.get(1).map_or("", String::as_str),
        ));
    }
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return Err(
            "client_assertion: exp is missing (a number of seconds since the epoch)".into(),
        );
    };
    if exp <= now {
        return Err(format!(
            "client_assertion: expired {} s ago (exp {exp}); sign a new one for each request",
            now - exp
        ));
    }
    if exp > now + ASSERTION_MAX_LIFETIME_SECS + ASSERTION_SKEW_SECS {
        return Err(format!(
            "client_assertion: exp is {} s ahead; the mock tenant accepts assertions valid for at most {ASSERTION_MAX_LIFETIME_SECS} s",
            exp - now
        ));
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64) {
        if nbf > now + ASSERTION_SKEW_SECS {
            return Err(format!("client_assertion: not valid before {nbf} (nbf)"));
        }
    }
    match text("jti").filter(|j| !j.is_empty()) {
        Some(jti) => Ok((jti.to_string(), exp)),
        None => Err("client_assertion: jti is missing; each assertion needs a unique jti".into()),
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` → `(id, secret)` (RFC 6749 §2.3.1).
pub(super) fn decode_basic(cred: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(cred).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

// ---------------------------------------------------------------- /oauth/token

/// What the grant decided, before any signing.
enum Plan {
    User {
        grant: Grant,
        nonce: Option<String>,
        refresh_token: Option<String>,
        gty: Option<&'static str>,
    },
    Client {
        client_id: String,
        audience: String,
        scope: Vec<String>,
    },
}

pub async fn token(shared: &Shared, req: &Req, fault: Option<&FaultSpec>) -> Resp {
    match token_inner(shared, req, fault).await {
        Ok(v) => h::json(200, &v),
        Err(e) => e.into_response(shared.flavor),
    }
}

async fn token_inner(
    shared: &Shared,
    req: &Req,
    fault: Option<&FaultSpec>,
) -> Result<Value, OAuthError> {
    let p = req.body_params()?;
    let grant_type = p.require("grant_type")?;
    if ![
        GRANT_AUTHORIZATION_CODE,
        GRANT_REFRESH_TOKEN,
        GRANT_CLIENT_CREDENTIALS,
        GRANT_DEVICE_CODE,
        GRANT_PASSWORD,
        GRANT_PASSWORD_REALM,
    ]
    .contains(&grant_type)
    {
        return Err(OAuthError::new(
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        )
        .with_status(400));
    }
    let client = authenticate(shared, req, &p)?;
    require_grant(client, grant_type)?;
    // Await the keys before taking the lock: the first request may come before they exist.
    let keys = shared
        .keys
        .ready()
        .await
        .map_err(|e| OAuthError::new("server_error", e))?;
    let plan = {
        let mut st = lock(&shared.state);
        match grant_type {
            GRANT_AUTHORIZATION_CODE => exchange_code(shared, &mut st, client, &p)?,
            GRANT_REFRESH_TOKEN => refresh(shared, &mut st, client, &p)?,
            GRANT_DEVICE_CODE => poll_device(shared, &mut st, client, &p)?,
            GRANT_PASSWORD | GRANT_PASSWORD_REALM => {
                password(shared, &mut st, client, &p, grant_type)?
            }
            _ => client_credentials(shared, client, &p)?,
        }
    };
    let token_fault = fault.map(|f| f.fault);
    let keys = if token_fault == Some(FaultKind::RotateBeforeSigning) {
        let handle = std::sync::Arc::clone(&shared.keys);
        tokio::task::spawn_blocking(move || handle.rotate_unannounced_blocking())
            .await
            .map_err(|_| OAuthError::new("server_error", "key rotation failed"))?
            .map_err(|e| OAuthError::new("server_error", e.to_string()))?
    } else {
        keys
    };
    match plan {
        Plan::User {
            grant,
            nonce,
            refresh_token,
            gty,
        } => mint_user(shared, &keys, grant, nonce, refresh_token, gty, token_fault),
        Plan::Client {
            client_id,
            audience,
            scope,
        } => mint_client(shared, &keys, &client_id, &audience, &scope, token_fault),
    }
}

/// The scopes a user actually gets: OIDC scopes, `offline_access` where refresh is possible,
/// and API scopes the API defines (and, with RBAC, the user holds).
fn effective_scope(
    shared: &Shared,
    client: &ClientConfig,
    audience: Option<&str>,
    requested: &[String],
    user: &UserConfig,
) -> Vec<String> {
    let api = audience.and_then(|a| shared.tenant.api(a));
    requested
        .iter()
        .filter(|s| {
            if OIDC_SCOPES.contains(&s.as_str()) {
                return true;
            }
            if *s == "offline_access" {
                return client.allows_grant(GRANT_REFRESH_TOKEN)
                    && api.is_none_or(|a| a.allow_offline_access);
            }
            match api {
                Some(api) if api.scopes.contains(s) => {
                    !api.rbac
                        || user
                            .permissions
                            .get(&api.identifier)
                            .is_some_and(|p| p.contains(s))
                }
                _ => false,
            }
        })
        .cloned()
        .collect()
}

/// Starts a refresh-token family if the grant includes `offline_access`.
fn start_family(
    shared: &Shared,
    st: &mut State,
    client: &ClientConfig,
    grant: &Grant,
) -> Option<String> {
    if !grant.scope.iter().any(|s| s == "offline_access") {
        return None;
    }
    let token = format!("v1.{}", shared.rng.token(48));
    st.next_family += 1;
    let id = st.next_family;
    st.families.insert(
        id,
        Family {
            grant: grant.clone(),
            rotation: client.refresh_token_rotation,
            revoked: false,
            expires_at: shared
                .clock
                .now()
                .saturating_add(secs(shared.tenant.lifetimes.refresh_token_secs)),
            current: token.clone(),
        },
    );
    st.refresh_tokens.insert(token.clone(), id);
    Some(token)
}

fn secs(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

fn exchange_code(
    shared: &Shared,
    st: &mut State,
    client: &ClientConfig,
    p: &Params,
) -> Result<Plan, OAuthError> {
    let code = p.require("code")?;
    let invalid = || OAuthError::new("invalid_grant", "Invalid authorization code");
    let Some(ac) = st.codes.remove(code) else {
        // A replayed code revokes what its first exchange produced (RFC 6749 §4.1.2).
        if let Some(Some(family)) = st.spent_codes.get(code).copied() {
            st.revoke_family(family);
        }
        return Err(invalid());
    };
    // Single use: whatever happens next, this code is gone.
    st.spent_codes.insert(code.to_string(), None);
    let now = shared.clock.now();
    if ac.client_id != client.client_id
        || now
            > ac.issued_at
                .saturating_add(secs(shared.tenant.lifetimes.authorization_code_secs))
    {
        return Err(invalid());
    }
    if ac.redirect_uri.as_deref() != p.get("redirect_uri") {
        return Err(OAuthError::new(
            "invalid_grant",
            "Unable to verify redirect_uri",
        ));
    }
    let verifier_ok = match (&ac.code_challenge, p.get("code_verifier")) {
        (Some(challenge), Some(v)) => valid_verifier(v) && constant_time_eq(&s256(v), challenge),
        // A verifier without a challenge is a downgrade attempt (RFC 9700 §2.1.1).
        (None, Some(_)) | (Some(_), None) => false,
        (None, None) => true,
    };
    if !verifier_ok {
        return Err(OAuthError::new(
            "invalid_grant",
            "Failed to verify code verifier",
        ));
    }
    let user = shared.tenant.user_by_id(&ac.user_id).ok_or_else(invalid)?;
    let grant = Grant {
        client_id: client.client_id.clone(),
        user_id: ac.user_id.clone(),
        scope: effective_scope(shared, client, ac.audience.as_deref(), &ac.scope, user),
        audience: ac.audience.clone(),
        sid: ac.sid.clone(),
    };
    let refresh_token = start_family(shared, st, client, &grant);
    if refresh_token.is_some() {
        st.spent_codes
            .insert(code.to_string(), Some(st.next_family));
    }
    Ok(Plan::User {
        grant,
        nonce: ac.nonce,
        refresh_token,
        gty: None,
    })
}

/// RFC 7636 §4.1: 43–128 characters from the unreserved set.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn refresh(
    shared: &Shared,
    st: &mut State,
    client: &ClientConfig,
    p: &Params,
) -> Result<Plan, OAuthError> {
    let presented = p.require("refresh_token")?;
    let invalid = || OAuthError::new("invalid_grant", "Unknown or invalid refresh token.");
    let family_id = *st.refresh_tokens.get(presented).ok_or_else(invalid)?;
    let now = shared.clock.now();
    let family = st.families.get(&family_id).cloned().ok_or_else(invalid)?;
    if family.grant.client_id != client.client_id || family.revoked || now >= family.expires_at {
        return Err(invalid());
    }
    if family.rotation && family.current != presented {
        // Reuse of a rotated-out token: assume it leaked and end the whole family.
        st.revoke_family(family_id);
        return Err(invalid());
    }
    if shared.tenant.user_by_id(&family.grant.user_id).is_none() {
        return Err(OAuthError::new(
            "invalid_grant",
            "The refresh_token was generated for a user who doesn't exist anymore.",
        ));
    }
    let requested = p.scopes("scope");
    let scope = if requested.is_empty() {
        family.grant.scope.clone()
    } else if let Some(extra) = requested.iter().find(|s| !family.grant.scope.contains(s)) {
        return Err(OAuthError::new(
            "invalid_scope",
            format!("Scope '{extra}' was not granted to this refresh token"),
        ));
    } else {
        requested
    };
    let refresh_token = if family.rotation {
        let token = format!("v1.{}", shared.rng.token(48));
        st.refresh_tokens.insert(token.clone(), family_id);
        if let Some(f) = st.families.get_mut(&family_id) {
            f.current = token.clone();
        }
        Some(token)
    } else {
        None
    };
    Ok(Plan::User {
        grant: Grant {
            scope,
            ..family.grant
        },
        nonce: None,
        refresh_token,
        gty: (shared.flavor == Flavor::Auth0).then_some("refresh_token"),
    })
}

/// The resource owner password grant and Auth0's `password-realm` variant: the user's
/// credentials checked in the default directory or the `realm` connection.
fn password(
    shared: &Shared,
    st: &mut State,
    client: &ClientConfig,
    p: &Params,
    grant_type: &str,
) -> Result<Plan, OAuthError> {
    let tenant = &shared.tenant;
    let connection = if grant_type == GRANT_PASSWORD_REALM {
        let realm = p.require("realm")?;
        if !tenant.has_connection(realm) {
            return Err(OAuthError::new(
                "invalid_request",
                format!("Unknown realm: {realm} (the tenant has no such connection)"),
            ));
        }
        realm
    } else {
        DEFAULT_CONNECTION
    };
    let username = p.require("username")?;
    let password = p.require("password")?;
    let wrong = || OAuthError::new("invalid_grant", "Wrong email or password.");
    let user = tenant
        .user_for_login(connection, username)
        .ok_or_else(wrong)?;
    if !constant_time_eq(password, &user.password()) {
        return Err(wrong());
    }
    if user.mfa_required {
        return Err(
            OAuthError::new("mfa_required", "Multifactor authentication required")
                .with_status(403)
                .with_field("mfa_token", shared.rng.token(32)),
        );
    }
    let audience = p
        .get("audience")
        .or_else(|| p.get("resource"))
        .filter(|a| !a.is_empty());
    let api = match audience {
        Some(aud) => Some(tenant.api(aud).ok_or_else(|| {
            OAuthError::new("access_denied", format!("Service not found: {aud}"))
        })?),
        None => None,
    };
    // Without a scope Auth0 grants the API's scopes: the application is trusted with them.
    let requested = match (p.scopes("scope"), api) {
        (s, Some(api)) if s.is_empty() => api.scopes.clone(),
        (s, _) => s,
    };
    let grant = Grant {
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        scope: effective_scope(shared, client, audience, &requested, user),
        audience: audience.map(str::to_string),
        sid: shared.rng.token(16),
    };
    let refresh_token = start_family(shared, st, client, &grant);
    Ok(Plan::User {
        grant,
        nonce: None,
        refresh_token,
        gty: (shared.flavor == Flavor::Auth0).then_some("password"),
    })
}

fn client_credentials(
    shared: &Shared,
    client: &ClientConfig,
    p: &Params,
) -> Result<Plan, OAuthError> {
    let Some(audience) = p
        .get("audience")
        .or_else(|| p.get("resource"))
        .filter(|a| !a.is_empty())
    else {
        return Err(OAuthError::new(
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        ));
    };
    if shared.tenant.api(audience).is_none() {
        return Err(OAuthError::new(
            "access_denied",
            format!("Service not found: {audience}"),
        ));
    }
    let Some(grant) = shared.tenant.client_grant(&client.client_id, audience) else {
        return Err(OAuthError::new(
            "access_denied",
            format!(
                "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
            ),
        ));
    };
    let requested = p.scopes("scope");
    let scope = if requested.is_empty() {
        grant.scopes.clone()
    } else {
        let missing: Vec<&str> = requested
            .iter()
            .filter(|s| !grant.scopes.contains(s))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(OAuthError::new(
                "access_denied",
                format!("Client has not been granted scopes: {}", missing.join(", ")),
            ));
        }
        requested
    };
    Ok(Plan::Client {
        client_id: client.client_id.clone(),
        audience: audience.to_string(),
        scope,
    })
}

fn poll_device(
    shared: &Shared,
    st: &mut State,
    client: &ClientConfig,
    p: &Params,
) -> Result<Plan, OAuthError> {
    let device_code = p.require("device_code")?;
    let now_ms = shared.clock.now_ms();
    let settings = &shared.tenant.device;
    let Some(dev) = st.devices.get_mut(device_code) else {
        return Err(OAuthError::new(
            "invalid_grant",
            "Invalid or expired device code.",
        ));
    };
    if dev.client_id != client.client_id {
        return Err(OAuthError::new(
            "invalid_grant",
            "Invalid or expired device code.",
        ));
    }
    if now_ms >= dev.expires_at.saturating_mul(1000) {
        if dev.expiry_reported {
            return Err(OAuthError::new(
                "invalid_grant",
                "Invalid or expired device code.",
            ));
        }
        dev.expiry_reported = true;
        return Err(OAuthError::new("expired_token", "Token has expired."));
    }
    match &dev.decision {
        DeviceDecision::Used => {
            return Err(OAuthError::new(
                "invalid_grant",
                "Invalid or expired device code.",
            ))
        }
        DeviceDecision::Denied => return Err(OAuthError::new(
            "access_denied",
            "User cancelled the confirmation prompt or consent page; the code is no longer valid.",
        )),
        _ => {}
    }
    let interval_ms = i64::try_from(dev.interval_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    // 100 ms of slack: a client that sleeps exactly `interval` must not be punished for timer jitter.
    if let Some(last) = dev.last_poll_ms {
        if now_ms - last < interval_ms - 100 {
            let old = dev.interval_secs;
            dev.interval_secs += 5;
            dev.last_poll_ms = Some(now_ms);
            return Err(OAuthError::new(
                "slow_down",
                format!("You are polling faster than the specified interval of {old} seconds."),
            ));
        }
    }
    dev.last_poll_ms = Some(now_ms);
    dev.polls = dev.polls.saturating_add(1);
    if dev.decision == DeviceDecision::Pending && !shared.interactive {
        if let Some(n) = settings.auto_approve_after_polls {
            if dev.polls > n {
                if let Some(u) = shared.tenant.default_user() {
                    dev.decision = DeviceDecision::Approved {
                        user_id: u.user_id.clone(),
                    };
                }
            }
        }
    }
    let DeviceDecision::Approved { user_id } = dev.decision.clone() else {
        return Err(OAuthError::new(
            "authorization_pending",
            "User has yet to authorize device code.",
        ));
    };
    dev.decision = DeviceDecision::Used;
    let (scope, audience) = (dev.scope.clone(), dev.audience.clone());
    let user = shared
        .tenant
        .user_by_id(&user_id)
        .ok_or_else(|| OAuthError::new("access_denied", "The approving user no longer exists"))?;
    let grant = Grant {
        client_id: client.client_id.clone(),
        user_id,
        scope: effective_scope(shared, client, audience.as_deref(), &scope, user),
        audience,
        sid: shared.rng.token(16),
    };
    let refresh_token = start_family(shared, st, client, &grant);
    Ok(Plan::User {
        grant,
        nonce: None,
        refresh_token,
        gty: None,
    })
}

// ---------------------------------------------------------------- minting

/// Signs claims with the current key, bending them as a `token_*` fault asks.
fn sign(
    shared: &Shared,
    keys: &KeySet,
    mut claims: Value,
    id_token: bool,
    fault: Option<FaultKind>,
) -> Result<String, OAuthError> {
    let key = &keys.current;
    let mut header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid});
    let now = shared.clock.now();
    match fault {
        Some(FaultKind::TokenExpired) => {
            claims["iat"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
        }
        Some(FaultKind::TokenWrongAud) => {
            claims["aud"] = json!(if id_token {
                "wrong-client-id"
            } else {
                "https://wrong-audience.example.test"
            });
        }
        Some(FaultKind::TokenWrongIss) => claims["iss"] = json!(WRONG_ISSUER),
        Some(FaultKind::TokenWrongNonce) if id_token => {
            claims["nonce"] = json!(format!("wrong-{}", shared.rng.token(16)));
        }
        Some(FaultKind::TokenUnknownKid) => {
            header["kid"] = json!(format!("unknown-{}", shared.rng.token(16)));
        }
        Some(FaultKind::TokenAzpMismatch) if id_token => {
            let client = claims["aud"].clone();
            claims["aud"] = json!([client, "https://another-audience.example.test"]);
            claims["azp"] = json!("another-client");
        }
        Some(FaultKind::TokenNbfFuture) => claims["nbf"] = json!(now + 3600),
        Some(FaultKind::TokenMissingNonce) if id_token => {
            if let Some(map) = claims.as_object_mut() {
                map.remove("nonce");
            }
        }
        Some(FaultKind::TokenHs256PublicKey) => {
            // The "key confusion" attack: HMAC keyed with the RSA public key everyone can read.
            header["alg"] = json!("HS256");
            let secret = key
                .public_pem()
                .map_err(|e| OAuthError::new("server_error", e))?;
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let mac = aws_lc_rs::hmac::sign(
                &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes()),
                input.as_bytes(),
            );
            return Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref())));
        }
        Some(FaultKind::TokenAlgNone) => {
            return Ok(format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            ));
        }
        _ => {}
    }
    let jwt = key
        .sign(&header, &claims)
        .map_err(|e| OAuthError::new("server_error", e.to_string()))?;
    if fault == Some(FaultKind::TokenBadSignature) {
        return Ok(tamper(&jwt));
    }
    Ok(jwt)
}

/// Flips one bit of the signature, keeping the token well-formed.
fn tamper(jwt: &str) -> String {
    let Some((input, sig)) = jwt.rsplit_once('.') else {
        return jwt.to_string();
    };
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap_or_default();
    if let Some(b) = bytes.first_mut() {
        *b ^= 0x01;
    }
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Profile claims for an ID token or `/userinfo`, driven by scope.
fn profile_claims(user: &UserConfig, scope: &[String], out: &mut serde_json::Map<String, Value>) {
    let has = |s: &str| scope.iter().any(|x| x == s);
    if has("profile") {
        out.insert("name".into(), json!(user.name));
        out.insert(
            "nickname".into(),
            json!(user
                .nickname
                .clone()
                .unwrap_or_else(|| user.username.clone())),
        );
        out.insert(
            "picture".into(),
            json!(user
                .picture
                .clone()
                .unwrap_or_else(|| format!("https://avatars.example.test/{}.png", user.username))),
        );
        out.insert("updated_at".into(), json!("2024-01-01T00:00:00.000Z"));
    }
    if has("email") {
        out.insert("email".into(), json!(user.email));
        out.insert("email_verified".into(), json!(user.email_verified));
    }
    for (k, v) in &user.claims {
        out.insert(k.clone(), v.clone());
    }
}

fn mint_user(
    shared: &Shared,
    keys: &KeySet,
    grant: Grant,
    nonce: Option<String>,
    refresh_token: Option<String>,
    gty: Option<&'static str>,
    fault: Option<FaultKind>,
) -> Result<Value, OAuthError> {
    let tenant = &shared.tenant;
    let user = tenant
        .user_by_id(&grant.user_id)
        .ok_or_else(|| OAuthError::new("invalid_grant", "Unknown user"))?;
    let now = shared.clock.now();
    let openid = grant.scope.iter().any(|s| s == "openid");
    let scope = grant.scope.join(" ");
    let api = grant.audience.as_deref().and_then(|a| tenant.api(a));
    let (access_token, expires_in) = match api {
        Some(api) => {
            let aud = if openid && shared.flavor == Flavor::Auth0 {
                json!([api.identifier, format!("{}userinfo", slash(&shared.issuer))])
            } else {
                json!(api.identifier)
            };
            let mut claims = json!({
                "iss": shared.issuer, "sub": user.user_id, "aud": aud,
                "iat": now, "exp": now + secs(api.token_lifetime_secs),
                "scope": scope, "azp": grant.client_id,
            });
            if api.rbac {
                claims["permissions"] = json!(user
                    .permissions
                    .get(&api.identifier)
                    .cloned()
                    .unwrap_or_default());
            }
            if let Some(g) = gty {
                claims["gty"] = json!(g);
            }
            (
                sign(shared, keys, claims, false, fault)?,
                api.token_lifetime_secs,
            )
        }
        // Without an audience Auth0 issues an opaque token that only `/userinfo` accepts.
        None => (shared.rng.token(32), tenant.lifetimes.access_token_secs),
    };
    if openid {
        lock(&shared.state).access_tokens.insert(
            access_token.clone(),
            IssuedAccess {
                user_id: user.user_id.clone(),
                scope: grant.scope.clone(),
                expires_at: now + secs(expires_in),
            },
        );
    }
    let mut resp = json!({
        "access_token": access_token,
        "scope": scope,
        "expires_in": expires_in,
        "token_type": "Bearer",
    });
    if openid {
        let mut claims = serde_json::Map::new();
        profile_claims(user, &grant.scope, &mut claims);
        claims.insert("iss".into(), json!(shared.issuer));
        claims.insert("sub".into(), json!(user.user_id));
        claims.insert("aud".into(), json!(grant.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert(
            "exp".into(),
            json!(now + secs(tenant.lifetimes.id_token_secs)),
        );
        claims.insert("sid".into(), json!(grant.sid));
        if let Some(n) = nonce {
            claims.insert("nonce".into(), json!(n));
        }
        if fault == Some(FaultKind::TokenWrongNonce) && !claims.contains_key("nonce") {
            claims.insert("nonce".into(), json!("unexpected-nonce"));
        }
        resp["id_token"] = json!(sign(shared, keys, Value::Object(claims), true, fault)?);
    }
    if let Some(rt) = refresh_token {
        resp["refresh_token"] = json!(rt);
    }
    Ok(resp)
}

fn slash(issuer: &str) -> String {
    if issuer.ends_with('/') {
        issuer.to_string()
    } else {
        format!("{issuer}/")
    }
}

fn mint_client(
    shared: &Shared,
    keys: &KeySet,
    client_id: &str,
    audience: &str,
    scope: &[String],
    fault: Option<FaultKind>,
) -> Result<Value, OAuthError> {
    let lifetime = shared
        .tenant
        .api(audience)
        .map_or(86_400, |a| a.token_lifetime_secs);
    let now = shared.clock.now();
    let scope = scope.join(" ");
    let mut claims = json!({
        "iss": shared.issuer,
        "sub": match shared.flavor {
            Flavor::Auth0 => format!("{client_id}@clients"),
            Flavor::Rfc => client_id.to_string(),
        },
        "aud": audience, "iat": now, "exp": now + secs(lifetime),
        "scope": scope, "azp": client_id,
    });
    if shared.flavor == Flavor::Auth0 {
        claims["gty"] = json!("client-credentials");
    } else {
        claims["client_id"] = json!(client_id);
    }
    let access_token = sign(shared, keys, claims, false, fault)?;
    Ok(json!({
        "access_token": access_token,
        "scope": scope,
        "expires_in": lifetime,
        "token_type": "Bearer",
    }))
}

// ---------------------------------------------------------------- device authorization

/// Auth0's refusal when a grant is not enabled for the application.
fn require_grant(client: &ClientConfig, grant: &str) -> Result<(), OAuthError> {
    if client.allows_grant(grant) {
        Ok(())
    } else {
        Err(OAuthError::new(
            "unauthorized_client",
            format!("Grant type '{grant}' not allowed for the client."),
        ))
    }
}

pub fn device_code(shared: &Shared, req: &Req) -> Resp {
    device_code_inner(shared, req).unwrap_or_else(|e| e.into_response(shared.flavor))
}

fn device_code_inner(shared: &Shared, req: &Req) -> Result<Resp, OAuthError> {
    let p = req.body_params()?;
    let client = authenticate(shared, req, &p)?;
    require_grant(client, GRANT_DEVICE_CODE)?;
    let audience = p
        .get("audience")
        .or_else(|| p.get("resource"))
        .filter(|a| !a.is_empty());
    if let Some(aud) = audience {
        if shared.tenant.api(aud).is_none() {
            return Err(OAuthError::new(
                "access_denied",
                format!("Service not found: {aud}"),
            ));
        }
    }
    let settings = &shared.tenant.device;
    let device_code = shared.rng.token(24);
    let mut st = lock(&shared.state);
    let user_code = loop {
        let c = shared.rng.user_code();
        if !st.user_codes.contains_key(&c) {
            break c;
        }
    };
    st.user_codes.insert(user_code.clone(), device_code.clone());
    st.devices.insert(
        device_code.clone(),
        DeviceAuth {
            client_id: client.client_id.clone(),
            scope: p.scopes("scope"),
            audience: audience.map(str::to_string),
            expires_at: shared.clock.now() + secs(settings.expires_in_secs),
            interval_secs: settings.interval_secs,
            last_poll_ms: None,
            polls: 0,
            decision: DeviceDecision::Pending,
            expiry_reported: false,
        },
    );
    drop(st);
    let uri = format!("{}/activate", shared.base);
    Ok(h::json(
        200,
        &json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": uri,
            "expires_in": settings.expires_in_secs,
            "interval": settings.interval_secs,
            "verification_uri_complete": h::with_query(&uri, &[("user_code", &user_code)]),
        }),
    ))
}

/// `ABCD-EFGH`, `abcdefgh`, `abcd efgh` → `ABCD-EFGH`.
pub fn normalize_user_code(s: &str) -> String {
    let letters: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() == 8 {
        format!("{}-{}", &letters[..4], &letters[4..])
    } else {
        letters
    }
}

/// Approves or denies a pending device authorization; `Err` names why not.
pub fn decide_device(
    shared: &Shared,
    user_code: &str,
    approve_as: Option<&str>,
) -> Result<(), String> {
    let code = normalize_user_code(user_code);
    let now = shared.clock.now();
    let mut st = lock(&shared.state);
    let device_code = st
        .user_codes
        .get(&code)
        .cloned()
        .ok_or_else(|| format!("unknown user code {code}"))?;
    let dev = st
        .devices
        .get_mut(&device_code)
        .ok_or_else(|| format!("unknown user code {code}"))?;
    if now >= dev.expires_at {
        return Err(format!("user code {code} has expired"));
    }
    if dev.decision != DeviceDecision::Pending {
        return Err(format!("user code {code} was already used"));
    }
    dev.decision = match approve_as {
        Some(user_id) => DeviceDecision::Approved {
            user_id: user_id.to_string(),
        },
        None => DeviceDecision::Denied,
    };
    Ok(())
}

/// `/activate`: approves at once as the default user (or `login_hint`), unless interactive.
pub fn activate(shared: &Shared, req: &Req) -> Resp {
    if shared.interactive {
        return super::interactive::activate(shared, req);
    }
    let q = match req.query_params() {
        Ok(q) => q,
        Err(e) => return error_page(400, &e.error, &e.description),
    };
    let Some(user_code) = q.get("user_code").filter(|c| !c.is_empty()) else {
        return h::html(200, super::interactive::code_entry_page(None));
    };
    let user = q
        .get("login_hint")
        .and_then(|hint| shared.tenant.user_by_hint(hint))
        .or_else(|| shared.tenant.default_user());
    let Some(user) = user else {
        return error_page(500, "server_error", "The tenant has no users");
    };
    match decide_device(shared, user_code, Some(&user.user_id)) {
        Ok(()) => h::html(
            200,
            pages::message_page(
                "Device approved",
                &format!(
                    "Signed in as {}. You can close this window and return to your device.",
                    user.email
                ),
            ),
        ),
        Err(why) => error_page(400, "invalid_request", &why),
    }
}

// ---------------------------------------------------------------- userinfo, revoke, logout

pub fn userinfo(shared: &Shared, req: &Req) -> Resp {
    let invalid = |desc: &str| {
        OAuthError::new("invalid_token", desc)
            .with_status(401)
            .with_header(
                "www-authenticate",
                format!("Bearer error=\"invalid_token\", error_description=\"{desc}\""),
            )
            .into_response(shared.flavor)
    };
    let Some(token) = req.bearer() else {
        let e = OAuthError::new("invalid_request", "Missing access token")
            .with_status(401)
            .with_header("www-authenticate", "Bearer realm=\"mock-tenant\"");
        return e.into_response(shared.flavor);
    };
    let now = shared.clock.now();
    let issued = lock(&shared.state).access_tokens.get(token).cloned();
    let Some(issued) = issued else {
        return invalid("The access token is not valid here (it needs the openid scope)");
    };
    if now >= issued.expires_at {
        return invalid("The access token expired");
    }
    let Some(user) = shared.tenant.user_by_id(&issued.user_id) else {
        return invalid("The user no longer exists");
    };
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), json!(user.user_id));
    profile_claims(user, &issued.scope, &mut claims);
    h::json(200, &Value::Object(claims))
}

pub fn revoke(shared: &Shared, req: &Req) -> Resp {
    let inner = || -> Result<Resp, OAuthError> {
        let p = req.body_params()?;
        let client = authenticate(shared, req, &p)?;
        let token = p.require("token")?;
        let mut st = lock(&shared.state);
        if let Some(&family) = st.refresh_tokens.get(token) {
            // RFC 7009 §2.1: a token of another client is left alone, silently.
            let owned = st
                .families
                .get(&family)
                .is_some_and(|f| f.grant.client_id == client.client_id);
            if owned {
                st.revoke_family(family);
            }
        }
        // 200 with an empty body even if unknown or already revoked, as Auth0 answers.
        Ok(h::empty(200))
    };
    inner().unwrap_or_else(|e| e.into_response(shared.flavor))
}

/// `/v2/logout` (Auth0) and `/oidc/logout` (RP-initiated): the return URL must be allowed.
pub fn logout(shared: &Shared, req: &Req) -> Resp {
    let params = if req.method == hyper::Method::POST {
        req.body_params()
    } else {
        req.query_params()
    };
    let p = match params {
        Ok(p) => p,
        Err(e) => return error_page(400, &e.error, &e.description),
    };
    let oidc = req.path == "/oidc/logout";
    let (return_key, return_to) = if oidc {
        (
            "post_logout_redirect_uri",
            p.get("post_logout_redirect_uri"),
        )
    } else {
        ("returnTo", p.get("returnTo"))
    };
    let client_id = p
        .get("client_id")
        .map(str::to_string)
        .or_else(|| p.get("id_token_hint").and_then(audience_of));
    let client = match client_id.as_deref() {
        Some(id) => match shared.tenant.client(id) {
            Some(c) => Some(c),
            None => return error_page(400, "invalid_request", &format!("Unknown client: {id}")),
        },
        None => None,
    };
    let Some(return_to) = return_to.filter(|r| !r.is_empty()) else {
        return h::html(
            200,
            pages::message_page("Logged out", "You have been logged out of the mock tenant."),
        );
    };
    let allowed = match client {
        Some(c) => callback_allowed(c, return_to, &c.allowed_logout_urls),
        None => shared
            .tenant
            .allowed_logout_urls
            .iter()
            .any(|u| u == return_to),
    };
    if !allowed {
        return error_page(
            400,
            "invalid_request",
            &format!(
                "The \"{return_key}\" querystring parameter \"{return_to}\" is not defined as a valid URL in \"Allowed Logout URLs\"."
            ),
        );
    }
    match p.get("state").filter(|_| oidc) {
        Some(state) => h::redirect(&h::with_query(return_to, &[("state", state)])),
        None => h::redirect(return_to),
    }
}

/// The `aud` of an unverified JWT: only used to pick the client for a logout redirect check.
fn audience_of(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    match &claims["aud"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native(callbacks: &[&str]) -> ClientConfig {
        let mut c = super::super::tenant::TenantConfig::default().clients[0].clone();
        c.callbacks = callbacks.iter().map(|s| s.to_string()).collect();
        c
    }

    #[test]
    fn loopback_callbacks_match_on_any_port_for_native_clients() {
        let c = native(&["http://127.0.0.1/callback"]);
        assert!(callback_allowed(
            &c,
            "http://127.0.0.1:53124/callback",
            &c.callbacks
        ));
        assert!(!callback_allowed(
            &c,
            "http://127.0.0.1:53124/other",
            &c.callbacks
        ));
        assert!(!callback_allowed(
            &c,
            "http://localhost:53124/callback",
            &c.callbacks
        ));
        assert!(!callback_allowed(
            &c,
            "https://127.0.0.1:53124/callback",
            &c.callbacks
        ));
        assert!(!callback_allowed(
            &c,
            "http://127.0.0.1.evil.test/callback",
            &c.callbacks
        ));
    }

    #[test]
    fn exact_port_matching_when_any_port_is_off() {
        let mut c = native(&["http://127.0.0.1:8400/callback"]);
        c.loopback_any_port = false;
        assert!(callback_allowed(
            &c,
            "http://127.0.0.1:8400/callback",
            &c.callbacks
        ));
        assert!(!callback_allowed(
            &c,
            "http://127.0.0.1:8401/callback",
            &c.callbacks
        ));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let cred = STANDARD.encode("my%3Aclient:s%2Bcret");
        assert_eq!(
            decode_basic(&cred),
            Some(("my:client".to_string(), "s+cret".to_string()))
        );
    }

    fn assertion(over: Value) -> serde_json::Map<String, Value> {
        let mut c = json!({
            "iss": "c1", "sub": "c1", "aud": "http://127.0.0.1:9/oauth/token",
            "exp": 1_000_060, "jti": "j1"
        });
        if let (Some(base), Value::Object(extra)) = (c.as_object_mut(), over) {
            for (k, v) in extra {
                if v.is_null() {
                    base.remove(&k);
                } else {
                    base.insert(k, v);
                }
            }
        }
        match c {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }

    fn check(over: Value) -> Result<(String, i64), String> {
        let auds = [
            "http://127.0.0.1:9/oauth/token".to_string(),
            "http://127.0.0.1:9/".to_string(),
        ];
        check_assertion_claims(&assertion(over), "c1", &auds, 1_000_000)
    }

    #[test]
    fn assertion_claims_follow_rfc_7523() {
        assert_eq!(check(json!({})), Ok(("j1".to_string(), 1_000_060)));
        assert!(check(json!({"aud": ["x", "http://127.0.0.1:9/"]})).is_ok());
        // The limit: 300 s of validity plus 30 s of clock skew.
        assert!(check(json!({"exp": 1_000_330})).is_ok());
        let refused = |over: Value, needle: &str| {
            let err = check(over).err().unwrap_or_default();
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        };
        refused(json!({"exp": 1_000_331}), "at most 300 s");
        refused(json!({"exp": 1_000_000}), "expired 0 s ago");
        refused(json!({"exp": null}), "exp is missing");
        refused(json!({"exp": "1000060"}), "exp is missing");
        refused(json!({"jti": ""}), "jti is missing");
        refused(json!({"iss": "c2"}), "iss must be");
        refused(json!({"sub": null}), "sub must be");
        refused(json!({"aud": null}), "aud is missing");
        refused(
            json!({"aud": "http://127.0.0.1:9/oauth/revoke"}),
            "aud 'http",
        );
        refused(json!({"nbf": 1_000_031}), "nbf");
    }

    #[test]
    fn peek_rejects_what_is_not_a_compact_jws() {
        assert!(peek_jwt("a.b").is_none());
        assert!(peek_jwt("a.b.c.d").is_none());
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let c = URL_SAFE_NO_PAD.encode(r#"{"iss":"x"}"#);
        assert!(peek_jwt(&format!("{h}.{c}.")).is_some());
        assert!(peek_jwt(&format!("{h}.{}.", URL_SAFE_NO_PAD.encode("[1]"))).is_none());
    }

    #[test]
    fn user_codes_are_normalised() {
        assert_eq!(normalize_user_code("qtzl mcbw"), "QTZL-MCBW");
        assert_eq!(normalize_user_code("QTZL-MCBW"), "QTZL-MCBW");
    }
}
