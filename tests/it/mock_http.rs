//! Shared helpers for the mock tenant's integration tests: an HTTP client that never follows
//! redirects, PKCE values, and a full authorize step that returns the code.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use authcli::mock::{MockOptions, MockTenant};
use reqwest::blocking::{Client, Response};
use serde_json::Value;

/// RFC 7636 appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const CALLBACK: &str = "http://127.0.0.1:53682/callback";
pub const API: &str = "https://api.example.test";

pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("http client")
}

pub fn start() -> MockTenant {
    MockTenant::start(MockOptions::default()).expect("mock tenant starts")
}

pub fn start_with(opts: MockOptions) -> MockTenant {
    MockTenant::start(opts).expect("mock tenant starts")
}

/// Query parameters of a `Location` header.
pub fn location_params(resp: &Response) -> HashMap<String, String> {
    let loc = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location header, status {}", resp.status()));
    let url = url::Url::parse(loc).expect("Location is a URL");
    url.query_pairs().into_owned().collect()
}

pub fn location(resp: &Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_default()
}

/// The standard authorize request, with `extra` overriding or adding parameters
/// (`("name", None)` removes one).
pub fn authorize(tenant: &MockTenant, extra: &[(&str, Option<&str>)]) -> Response {
    let mut params: Vec<(String, String)> = vec![
        ("response_type", "code"),
        ("client_id", "authcli-test"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile email offline_access read:events"),
        ("audience", API),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if let Some(v) = v {
            params.push((k.to_string(), v.to_string()));
        }
    }
    let url = url::Url::parse_with_params(&format!("{}authorize", tenant.issuer()), &params)
        .expect("authorize URL");
    client().get(url).send().expect("authorize request")
}

/// Runs `/authorize` and returns the code from the redirect.
pub fn code(tenant: &MockTenant, extra: &[(&str, Option<&str>)]) -> String {
    let resp = authorize(tenant, extra);
    assert_eq!(resp.status(), 302, "authorize should redirect");
    let params = location_params(&resp);
    params
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code in redirect: {params:?}"))
}

/// POSTs a form to the token endpoint; returns status and JSON body.
pub fn token(tenant: &MockTenant, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = client()
        .post(format!("{}oauth/token", tenant.issuer()))
        .form(form)
        .send()
        .expect("token request");
    let status = resp.status().as_u16();
    let cache = resp
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        cache, "no-store",
        "token endpoint answers must not be cached"
    );
    (status, resp.json().unwrap_or(Value::Null))
}

/// Exchanges a code with the standard verifier and callback.
pub fn exchange(tenant: &MockTenant, code: &str) -> (u16, Value) {
    token(
        tenant,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "authcli-test"),
            ("code", code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", CALLBACK),
        ],
    )
}

/// GET/POST/DELETE on the control API with the right token.
pub fn control(
    tenant: &MockTenant,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut req = client()
        .request(method, format!("{}__mock/{path}", tenant.issuer()))
        .bearer_auth(tenant.control_token());
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().expect("control request")
}

pub fn add_fault(tenant: &MockTenant, fault: Value) {
    let resp = control(tenant, reqwest::Method::POST, "faults", Some(fault));
    assert_eq!(resp.status(), 201, "fault accepted: {:?}", resp.text());
}

/// Verifies an RS256 JWT against the tenant's JWKS; returns the claims or the error text.
pub fn verify(tenant: &MockTenant, jwt: &str, audience: &str) -> Result<Value, String> {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let jwks: Value = client()
        .get(format!("{}.well-known/jwks.json", tenant.issuer()))
        .send()
        .and_then(|r| r.json())
        .map_err(|e| e.to_string())?;
    let header = decode_header(jwt).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .ok_or("kid not in JWKS")?;
    let decoding = DecodingKey::from_rsa_components(
        key["n"].as_str().unwrap_or_default(),
        key["e"].as_str().unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[audience]);
    v.set_issuer(&[tenant.issuer()]);
    decode::<Value>(jwt, &decoding, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

/// The claims of a JWT without verifying it.
pub fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("payload is base64url");
    serde_json::from_slice(&bytes).expect("payload is JSON")
}

pub fn header(jwt: &str) -> Value {
    use base64::Engine;
    let head = jwt.split('.').next().expect("JWT has a header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head)
        .expect("header is base64url");
    serde_json::from_slice(&bytes).expect("header is JSON")
}
