//! Request and response plumbing shared by the mock's endpoints.
//!
//! Parsing of query strings and bodies (form or JSON, duplicates rejected), OAuth error
//! bodies with the status codes of the chosen flavor, and the small response builders. Every
//! malformed input becomes an OAuth error here, so no handler needs to think about panics.

use std::collections::BTreeMap;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA};
use hyper::{Response, StatusCode};
use serde_json::Value;

use super::Flavor;

/// Every response the mock sends.
pub type Resp = Response<Full<Bytes>>;

/// A request whose body has been read (within the size limit).
#[derive(Debug)]
pub struct Req {
    pub method: hyper::Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Decoded parameters, in order, each name at most once.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A present, non-empty parameter, or `invalid_request` naming it.
    pub fn require(&self, key: &str) -> Result<&str, OAuthError> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(OAuthError::new(
                "invalid_request",
                format!("Missing required parameter: {key}"),
            )),
        }
    }

    /// Space-separated scope values, de-duplicated, in order.
    pub fn scopes(&self, key: &str) -> Vec<String> {
        split_scope(self.get(key).unwrap_or(""))
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Result<Params, OAuthError> {
        for (i, (k, _)) in pairs.iter().enumerate() {
            // RFC 6749 §3.1/§3.2: parameters must not be repeated.
            if pairs[..i].iter().any(|(o, _)| o == k) {
                return Err(OAuthError::new(
                    "invalid_request",
                    format!("Parameter '{k}' appears more than once"),
                ));
            }
        }
        Ok(Params(pairs))
    }
}

/// Whether `host` (a `Host` header or a request target's authority, `name[:port]`) names the
/// listening address `listen`: its IP literal (any IP literal when listening on all
/// addresses), or `localhost` when listening on loopback, and its port (absent only for 80).
/// Any other name is refused, since DNS can point any name at this address.
pub fn host_names(host: &str, listen: std::net::SocketAddr) -> bool {
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, "")) => (ip, None),
            Some((ip, port)) => match port.strip_prefix(':') {
                Some(port) => (ip, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    let port_ok = match port {
        None => listen.port() == 80,
        Some(p) => p.parse::<u16>().is_ok_and(|p| p == listen.port()) && !p.starts_with('+'),
    };
    let bracketed = host.starts_with('[');
    let name_ok = if name.eq_ignore_ascii_case("localhost") {
        !bracketed && (listen.ip().is_loopback() || listen.ip().is_unspecified())
    } else {
        match name.parse::<std::net::IpAddr>() {
            // IPv6 literals only in brackets, IPv4 never.
            Ok(ip) if ip.is_ipv6() == bracketed && !ip.is_unspecified() => {
                ip == listen.ip() || listen.ip().is_unspecified()
            }
            _ => false,
        }
    };
    port_ok && name_ok
}

/// `"a b  a c"` → `["a", "b", "c"]`.
pub fn split_scope(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in s.split(' ').filter(|v| !v.is_empty()) {
        if !out.iter().any(|o| o == v) {
            out.push(v.to_string());
        }
    }
    out
}

impl Req {
    /// The query string's parameters (duplicates rejected).
    pub fn query_params(&self) -> Result<Params, OAuthError> {
        Params::from_pairs(self.query.clone())
    }

    /// The body as parameters: `application/json` or, for anything else, form encoding,
    /// which is what Auth0 accepts on its POST endpoints.
    pub fn body_params(&self) -> Result<Params, OAuthError> {
        if self.body.is_empty() {
            return Ok(Params::default());
        }
        let is_json = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !is_json {
            let pairs = url::form_urlencoded::parse(&self.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            return Params::from_pairs(pairs);
        }
        let value: Value = serde_json::from_slice(&self.body).map_err(|e| {
            OAuthError::new(
                "invalid_request",
                format!("The JSON body is malformed: {e}"),
            )
        })?;
        let Value::Object(map) = value else {
            return Err(OAuthError::new(
                "invalid_request",
                "The JSON body must be an object",
            ));
        };
        let mut pairs = Vec::with_capacity(map.len());
        for (k, v) in map {
            let v = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => continue,
                Value::Array(_) | Value::Object(_) => {
                    return Err(OAuthError::new(
                        "invalid_request",
                        format!("Parameter '{k}' must be a string"),
                    ))
                }
            };
            pairs.push((k, v));
        }
        Params::from_pairs(pairs)
    }

    /// A header as text, if present and visible ASCII.
    pub fn header(&self, name: impl hyper::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Authorization: Bearer` token, if any.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.header(hyper::header::AUTHORIZATION)?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }
}

/// An RFC 6749 §5.2 error, with the status chosen by the flavor unless fixed here.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthError {
    pub error: String,
    pub description: String,
    pub status: Option<u16>,
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
    /// Extra body members some errors carry (Auth0's `mfa_token`).
    pub fields: Vec<(&'static str, String)>,
}

impl OAuthError {
    pub fn new(error: &str, description: impl Into<String>) -> Self {
        OAuthError {
            error: error.to_string(),
            description: description.into(),
            status: None,
            headers: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Adds a member to the JSON body, next to `error` and `error_description`.
    pub fn with_field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The response, status from the flavor's table.
    pub fn into_response(self, flavor: Flavor) -> Resp {
        let status = self
            .status
            .unwrap_or_else(|| status_for(flavor, &self.error));
        let mut body =
            serde_json::json!({"error": self.error, "error_description": self.description});
        for (name, value) in self.fields {
            body[name] = Value::String(value);
        }
        let mut resp = json(status, &body);
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

/// HTTP status for an OAuth error code: Auth0's (403 for grant and polling errors, 429 for
/// `slow_down`) or RFC 6749/8628's (400 except client and token authentication).
pub fn status_for(flavor: Flavor, error: &str) -> u16 {
    match (flavor, error) {
        (_, "invalid_client") | (_, "invalid_token") => 401,
        (_, "server_error") => 500,
        (_, "temporarily_unavailable") => 503,
        (_, "too_many_requests") => 429,
        (_, "insufficient_scope") => 403,
        (Flavor::Auth0, "slow_down") => 429,
        (
            Flavor::Auth0,
            "invalid_grant"
            | "access_denied"
            | "authorization_pending"
            | "expired_token"
            | "unauthorized_client"
            | "invalid_scope",
        ) => 403,
        _ => 400,
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A response with a body and content type.
pub fn with_body(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status_code(status);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// JSON that must not be cached (tokens, errors: RFC 6749 §5.1).
pub fn json(status: u16, value: &Value) -> Resp {
    let mut resp = with_body(status, "application/json; charset=utf-8", value.to_string());
    let h = resp.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// Cacheable JSON (discovery, JWKS), as Auth0 serves them.
pub fn json_public(value: &Value) -> Resp {
    let mut resp = with_body(200, "application/json; charset=utf-8", value.to_string());
    resp.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=15, stale-while-revalidate=15"),
    );
    resp
}

pub fn html(status: u16, page: String) -> Resp {
    let mut resp = with_body(status, "text/html; charset=utf-8", page);
    let h = resp.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The pages are self-contained: no scripts, no frames, forms only to ourselves. Browsers
    // apply `form-action` to the redirects a form submission leads to as well, so the consent
    // form must be allowed to end at a (registered, already checked) callback: loopback on any
    // port, or https.
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:* http://localhost:* http://[::1]:* https:; frame-ancestors 'none'",
        ),
    );
    resp
}

pub fn redirect(location: &str) -> Resp {
    let mut resp = with_body(302, "text/plain; charset=utf-8", Bytes::new());
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub fn empty(status: u16) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status_code(status);
    resp
}

/// Adds query parameters to a redirect URI, keeping any it already has.
pub fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => base.to_string(),
    }
}

/// Query pairs of a request target, decoded.
pub fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

/// Masked view of parameters for the request log.
pub fn masked_map(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), super::state::mask(k, v)))
        .collect()
}

pub use crate::html::escape;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_must_name_the_listening_address() {
        let v4: std::net::SocketAddr = "127.0.0.1:4000".parse().unwrap();
        for ok in ["127.0.0.1:4000", "localhost:4000", "LocalHost:4000"] {
            assert!(host_names(ok, v4), "{ok}");
        }
        for bad in [
            "evil.example:4000",
            "evil.example",
            "127.0.0.1",
            "127.0.0.1:4001",
            "127.0.0.1:+4000",
            "127.0.0.2:4000",
            "127.0.0.1.evil.example:4000",
            "localhost.:4000",
            "[127.0.0.1]:4000",
            "[::1]:4000",
            "",
            ":4000",
            "127.0.0.1:4000:4000",
        ] {
            assert!(!host_names(bad, v4), "{bad}");
        }
        let v6: std::net::SocketAddr = "[::1]:4000".parse().unwrap();
        assert!(host_names("[::1]:4000", v6));
        assert!(host_names("localhost:4000", v6));
        assert!(!host_names("::1:4000", v6));
        assert!(!host_names("[::1]x4000", v6));
        let any: std::net::SocketAddr = "0.0.0.0:80".parse().unwrap();
        assert!(host_names("192.0.2.7", any));
        assert!(host_names("192.0.2.7:80", any));
        assert!(!host_names("rebound.example", any));
        assert!(!host_names("0.0.0.0", any));
    }

    #[test]
    fn auth0_and_rfc_statuses_differ_where_auth0_does() {
        assert_eq!(status_for(Flavor::Auth0, "invalid_grant"), 403);
        assert_eq!(status_for(Flavor::Rfc, "invalid_grant"), 400);
        assert_eq!(status_for(Flavor::Auth0, "slow_down"), 429);
        assert_eq!(status_for(Flavor::Rfc, "slow_down"), 400);
        assert_eq!(status_for(Flavor::Rfc, "invalid_client"), 401);
    }

    #[test]
    fn with_query_keeps_existing_parameters() {
        let u = with_query(
            "http://127.0.0.1:5/cb?x=1",
            &[("code", "a b"), ("state", "s")],
        );
        assert_eq!(u, "http://127.0.0.1:5/cb?x=1&code=a+b&state=s");
    }

    #[test]
    fn split_scope_deduplicates() {
        assert_eq!(
            split_scope(" openid  email openid"),
            vec!["openid", "email"]
        );
    }
}
