//! The HTTP client and the shapes of OAuth answers.
//!
//! One reqwest client per run: rustls with the operating system's verifier plus `--cacert`,
//! environment proxies honoured, redirects never followed (a token request bounced to another
//! host would carry the code or the client secret with it). An OAuth error is recognised by
//! its JSON body whatever the status code (Auth0 answers 403 and 429), and no body is read past
//! a fixed size. Secrets are redacted in `-vv` traces here, where requests are made.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use url::Url;

use crate::exit::ExitCode;
use crate::output::{self, redact_body, redact_form, sanitize};
use crate::secret::{AccessToken, ClientSecret, IdToken, RefreshToken};

/// Bodies larger than this are a provider fault, not something to buffer.
const MAX_BODY: usize = 1024 * 1024;

/// An OAuth 2.0 error response (RFC 6749 §5.2).
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub error_uri: Option<String>,
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", sanitize(&self.error))?;
        if let Some(d) = &self.error_description {
            write!(f, ": {}", sanitize(d))?;
        }
        Ok(())
    }
}

/// What to do about an OAuth error, in one line.
fn oauth_hint(error: &OAuthError) -> &'static str {
    if let Some(hint) = audience_hint(&error.error, error.error_description.as_deref()) {
        return hint;
    }
    match error.error.as_str() {
        "invalid_grant" => "the code or refresh token is invalid, expired or already used: run `authcli login` again",
        "invalid_client" => "check the client id (and secret), and that the application exists at this issuer",
        "unauthorized_client" => "enable this grant type for the application at the provider",
        "access_denied" => "the user, a rule or the application's permissions refused: check --audience and what the application may access (retrying the same request will not help)",
        "invalid_scope" => "ask only for scopes the application and API allow (--scope)",
        "invalid_request" => "the request was malformed; run with -vv to see what was sent",
        "invalid_token" => "the access token was refused: run `authcli refresh`, or `authcli login` again",
        "unsupported_grant_type" => "this provider does not support the grant",
        "too_many_requests" | "slow_down" => "wait a moment and try again",
        _ => "see the provider's description above",
    }
}

/// Auth0's answer to an `audience` that names no API of the tenant: retrying cannot help.
pub fn audience_hint(error: &str, description: Option<&str>) -> Option<&'static str> {
    (error == "access_denied" && description.is_some_and(|d| d.contains("Service not found")))
        .then_some("the audience is not an API of this tenant: check --audience against the API's identifier (Auth0: Applications → APIs → Identifier)")
}

/// Why an HTTP exchange gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(
        "the provider refused the {what} ({url}): {error}\n  hint: {}",
        oauth_hint(error)
    )]
    OAuth {
        what: &'static str,
        url: String,
        status: u16,
        error: OAuthError,
    },
    #[error("could not reach the {what} at {url}: {}{}\n  hint: {}{}", failure.summary(), output::cause(detail), failure.hint(), more_with_v())]
    Unreachable {
        what: &'static str,
        url: String,
        /// What went wrong, in our words.
        failure: Transport,
        /// The library's own chain of errors (shown with `-v`).
        detail: String,
    },
    #[error("the {what} at {url} did not answer within {secs} s\n  hint: raise --timeout or check the provider's status")]
    Timeout {
        what: &'static str,
        url: String,
        secs: u64,
    },
    #[error("the {what} at {url} answered HTTP {status} without an OAuth error: {snippet}\n  hint: check the URL (or the --*-url override), any proxy on the way, and the provider's status")]
    Status {
        what: &'static str,
        url: String,
        status: u16,
        snippet: String,
    },
    #[error("the {what} at {url} redirected to {location}; authcli does not follow redirects here\n  hint: configure the final URL directly")]
    Redirected {
        what: &'static str,
        url: String,
        location: String,
    },
    #[error("the {what} at {url} sent an unusable answer: {detail}")]
    Malformed {
        what: &'static str,
        url: String,
        detail: String,
    },
    #[error("could not use the CA certificates in {}: {detail}", path.display())]
    Cacert { path: PathBuf, detail: String },
    #[error("could not set up the HTTP client: {0}")]
    Setup(String),
}

/// Points at `-v` unless it is already on.
fn more_with_v() -> &'static str {
    if output::verbosity() >= output::Verbosity::Steps {
        ""
    } else {
        " (-v shows the cause)"
    }
}

/// Why a connection gave no answer, in words a user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Nothing listens at that port (connection refused).
    Refused,
    /// The host name does not resolve.
    Dns,
    /// `https://` to a server that speaks plain HTTP.
    NotTls,
    /// The TLS certificate is not trusted or does not match.
    Certificate,
    /// Any other TLS failure.
    Tls,
    /// The proxy refused or failed.
    Proxy,
    /// The connection broke off.
    Reset,
    /// Anything else.
    Other,
}

impl Transport {
    /// Classifies a transport error by its chain of causes (reqwest hides the cause there).
    fn classify(chain: &str) -> Transport {
        let c = chain.to_ascii_lowercase();
        if c.contains("invalidcontenttype") || c.contains("corrupt message") {
            Transport::NotTls
        } else if c.contains("certificate") || c.contains("unknownissuer") {
            Transport::Certificate
        } else if c.contains("dns error")
            || c.contains("failed to lookup")
            || c.contains("name or service not known")
            || c.contains("no address")
        {
            Transport::Dns
        } else if c.contains("proxy") {
            Transport::Proxy
        } else if c.contains("connection refused") || c.contains("os error 111") {
            Transport::Refused
        } else if c.contains("tls") || c.contains("handshake") {
            Transport::Tls
        } else if c.contains("connection reset")
            || c.contains("connection closed")
            || c.contains("incomplete message")
            || c.contains("broken pipe")
        {
            Transport::Reset
        } else {
            Transport::Other
        }
    }

    fn summary(self) -> &'static str {
        match self {
            Transport::Refused => "nothing is listening there (connection refused)",
            Transport::Dns => "the host name could not be resolved",
            Transport::NotTls => "the server does not speak TLS on that port (plain http?)",
            Transport::Certificate => {
                "its TLS certificate is not trusted or does not match the host"
            }
            Transport::Tls => "the TLS handshake failed",
            Transport::Proxy => "the proxy failed or refused the connection",
            Transport::Reset => "the connection was closed before an answer arrived",
            Transport::Other => "the connection failed",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            Transport::Refused => "check the issuer URL and its port, and that the provider (or mock tenant) is running",
            Transport::Dns => "check the spelling of the issuer's host and your network or DNS",
            Transport::NotTls => "use the URL's real scheme: http:// is accepted for loopback hosts only, so a remote server must serve https there",
            Transport::Certificate => "if a corporate proxy inspects TLS, pass its root certificate with --cacert",
            Transport::Tls => "check the URL and, if TLS is inspected, --cacert",
            Transport::Proxy => "check HTTPS_PROXY/HTTP_PROXY, or add the host to NO_PROXY",
            Transport::Reset | Transport::Other => "check the issuer URL, your network and proxy (HTTPS_PROXY/NO_PROXY)",
        }
    }
}

impl HttpError {
    /// Exit code of SPEC §7: a refusal is 3, anything else means no usable answer (6).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            HttpError::OAuth { .. } => ExitCode::Refused,
            HttpError::Cacert { .. } | HttpError::Setup(_) => ExitCode::Other,
            _ => ExitCode::Unreachable,
        }
    }

    /// The OAuth error code, when the provider sent one.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            HttpError::OAuth { error, .. } => Some(&error.error),
            _ => None,
        }
    }
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: AccessToken,
    pub token_type: String,
    #[serde(default, deserialize_with = "expires_in")]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    #[serde(default)]
    pub id_token: Option<IdToken>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl TokenResponse {
    /// Checks what is about to be stored and printed: a token that is not an RFC 6750
    /// `b64token` could inject lines into `-o header`/`-o env` output, and a token of another
    /// type (`mac`, `DPoP`) must not be handed out as a bearer token. The value itself is
    /// never part of the message.
    pub fn validate(&self) -> Result<(), String> {
        if !is_b64token(self.access_token.expose()) {
            return Err(if self.access_token.expose().is_empty() {
                "`access_token` is empty".to_string()
            } else {
                "`access_token` is not an RFC 6750 bearer token (it holds characters a token cannot have); nothing was stored".to_string()
            });
        }
        if !self.token_type.eq_ignore_ascii_case("bearer") {
            let shown: String = sanitize(&self.token_type).chars().take(40).collect();
            return Err(format!(
                "`token_type` is `{shown}`, not Bearer: authcli hands out bearer tokens only; nothing was stored"
            ));
        }
        Ok(())
    }
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// `expires_in` as a number or a string of digits; anything else is malformed, never "forever".
fn expires_in<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| D::Error::custom("expires_in is not a non-negative integer")),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom("expires_in is out of range")),
        Some(_) => Err(D::Error::custom("expires_in is not a number")),
    }
}

/// An answer taken as it came (see [`HttpClient::get_raw`]).
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl RawResponse {
    /// A header as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy)]
pub enum ClientAuth<'a> {
    /// A public client: `client_id` in the body only.
    None,
    /// `client_secret` in the body.
    Post(&'a ClientSecret),
    /// HTTP Basic with form-encoded id and secret (RFC 6749 §2.3.1).
    Basic(&'a ClientSecret),
    /// An RFC 7523 JWT client assertion (`private_key_jwt`), fresh for this request.
    Assertion(&'a ClientSecret),
}

/// The one HTTP client of a run.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    timeout: Duration,
}

impl HttpClient {
    /// The client for one provider. A loopback issuer (the mock tenant, a local IdP) is never
    /// reached through a proxy: `HTTP_PROXY` set for the outside world must not break CI.
    pub fn for_provider(provider: &crate::config::ProviderConfig) -> Result<Self, HttpError> {
        let loopback = provider
            .issuer
            .host()
            .is_some_and(|h| crate::config::is_loopback_host(&h));
        Self::build(provider.cacert.as_deref(), provider.timeout, !loopback)
    }

    /// Builds the client: OS trust store plus `cacert`, proxies from the environment.
    pub fn new(cacert: Option<&Path>, timeout: Duration) -> Result<Self, HttpError> {
        Self::build(cacert, timeout, true)
    }

    fn build(cacert: Option<&Path>, timeout: Duration, proxies: bool) -> Result<Self, HttpError> {
        output::trace("setting up the HTTP client (rustls, system trust store)");
        crate::crypto_init();
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("authcli/", env!("CARGO_PKG_VERSION")));
        if !proxies {
            builder = builder.no_proxy();
        }
        if let Some(path) = cacert {
            let pem = std::fs::read(path).map_err(|e| HttpError::Cacert {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| HttpError::Cacert {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(HttpError::Cacert {
                    path: path.to_path_buf(),
                    detail: "no PEM certificate found".into(),
                });
            }
            builder = builder.tls_certs_merge(certs);
        }
        let inner = builder
            .build()
            .map_err(|e| HttpError::Setup(error_chain(&e)))?;
        Ok(HttpClient { inner, timeout })
    }

    /// GETs a JSON document. `Ok(None)` when the URL does not exist (404/410), so discovery
    /// can fall back.
    pub async fn get_json(
        &self,
        what: &'static str,
        url: &Url,
    ) -> Result<Option<Value>, HttpError> {
        let (status, body) = self.get(what, url, None).await?;
        if status == 404 || status == 410 {
            return Ok(None);
        }
        parse_json_body(what, url, status, &body).map(Some)
    }

    /// GETs a JSON document with a bearer token (userinfo).
    pub async fn get_json_bearer(
        &self,
        what: &'static str,
        url: &Url,
        token: &AccessToken,
    ) -> Result<Value, HttpError> {
        let (status, body) = self.get(what, url, Some(token)).await?;
        parse_json_body(what, url, status, &body)
    }

    async fn get(
        &self,
        what: &'static str,
        url: &Url,
        bearer: Option<&AccessToken>,
    ) -> Result<(u16, String), HttpError> {
        let mut request = self
            .inner
            .get(url.clone())
            .header("accept", "application/json");
        match bearer {
            Some(token) => {
                output::trace(&format!("GET {url} (Authorization: Bearer [redacted])"));
                request = request.bearer_auth(token.expose());
            }
            None => output::trace(&format!("GET {url}")),
        }
        self.send(what, url, request).await
    }

    /// POSTs a form to a token-like endpoint and returns the JSON answer.
    pub async fn post_form(
        &self,
        what: &'static str,
        url: &Url,
        form: &[(&str, &str)],
        auth: ClientAuth<'_>,
        client_id: &str,
    ) -> Result<Value, HttpError> {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let mut request = self
            .inner
            .post(url.clone())
            .header("accept", "application/json");
        match auth {
            ClientAuth::None => fields.push(("client_id", client_id)),
            ClientAuth::Post(secret) => {
                fields.push(("client_id", client_id));
                fields.push(("client_secret", secret.expose()));
            }
            ClientAuth::Basic(secret) => {
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                request = request.basic_auth(enc(client_id), Some(enc(secret.expose())));
            }
            ClientAuth::Assertion(assertion) => {
                fields.push(("client_id", client_id));
                fields.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
                fields.push(("client_assertion", assertion.expose()));
            }
        }
        if output::tracing() {
            output::trace(&format!("POST {url}"));
            output::trace(&format!("  {}", redact_form(&fields)));
        }
        let request = request.form(&fields);
        let (status, body) = self.send(what, url, request).await?;
        parse_json_body(what, url, status, &body)
    }

    /// POSTs a form to an endpoint that answers 200 with any body on success (revocation).
    pub async fn post_empty_ok(
        &self,
        what: &'static str,
        url: &Url,
        form: &[(&str, &str)],
        auth: ClientAuth<'_>,
        client_id: &str,
    ) -> Result<(), HttpError> {
        match self.post_form(what, url, form, auth, client_id).await {
            Ok(_) => Ok(()),
            // RFC 7009: success is HTTP 200, whatever (if any) body comes with it.
            Err(HttpError::Malformed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Exchanges a grant at the token endpoint.
    pub async fn token_request(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        auth: ClientAuth<'_>,
        client_id: &str,
    ) -> Result<TokenResponse, HttpError> {
        let what = "token endpoint";
        let value = self.post_form(what, url, form, auth, client_id).await?;
        let response: TokenResponse =
            serde_json::from_value(value).map_err(|e| HttpError::Malformed {
                what,
                url: url.to_string(),
                detail: format!("not a token response: {e}"),
            })?;
        response.validate().map_err(|detail| HttpError::Malformed {
            what,
            url: url.to_string(),
            detail,
        })?;
        Ok(response)
    }

    /// GETs `url` and hands back status, headers and body whatever the status, redirects
    /// included (not followed): for the JWKS cache (`Cache-Control`) and `doctor` (`Date`,
    /// the authorization endpoint's answer).
    pub async fn get_raw(&self, what: &'static str, url: &Url) -> Result<RawResponse, HttpError> {
        output::trace(&format!("GET {url}"));
        let request = self.inner.get(url.clone());
        let (status, headers, body) = self.send_raw(what, url, request, true).await?;
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    async fn send(
        &self,
        what: &'static str,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, String), HttpError> {
        let (status, _, body) = self.send_raw(what, url, request, false).await?;
        Ok((status, body))
    }

    async fn send_raw(
        &self,
        what: &'static str,
        url: &Url,
        request: reqwest::RequestBuilder,
        redirects_ok: bool,
    ) -> Result<(u16, reqwest::header::HeaderMap, String), HttpError> {
        let mut response = request
            .send()
            .await
            .map_err(|e| self.transport(what, url, &e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if response.status().is_redirection() && !redirects_ok {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or("(no Location)")
                .to_string();
            output::trace(&format!("< {status} Location: {}", sanitize(&location)));
            return Err(HttpError::Redirected {
                what,
                url: url.to_string(),
                location: sanitize(&location),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport(what, url, &e))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::Malformed {
                    what,
                    url: url.to_string(),
                    detail: format!("the body is larger than {} KiB", MAX_BODY / 1024),
                });
            }
            body.extend_from_slice(&chunk);
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        if output::tracing() {
            output::trace(&format!("< {status} {}", redact_body(&body)));
        }
        Ok((status, headers, body))
    }

    fn transport(&self, what: &'static str, url: &Url, e: &reqwest::Error) -> HttpError {
        if e.is_timeout() {
            HttpError::Timeout {
                what,
                url: url.to_string(),
                secs: self.timeout.as_secs(),
            }
        } else {
            let detail = error_chain(e);
            HttpError::Unreachable {
                what,
                url: url.to_string(),
                // Classified without the URL, whose host may contain "proxy" or "tls".
                failure: Transport::classify(&detail.replace(url.as_str(), "")),
                detail,
            }
        }
    }
}

/// Turns a body into JSON: an OAuth error whatever the status; success only on 2xx.
#[doc(hidden)] // pub for `fuzz/`
pub fn parse_json_body(
    what: &'static str,
    url: &Url,
    status: u16,
    body: &str,
) -> Result<Value, HttpError> {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    if let Some(Value::Object(map)) = &parsed {
        if map.get("error").is_some_and(Value::is_string) {
            if let Ok(error) = serde_json::from_value::<OAuthError>(Value::Object(map.clone())) {
                return Err(HttpError::OAuth {
                    what,
                    url: url.to_string(),
                    status,
                    error,
                });
            }
        }
    }
    if !(200..300).contains(&status) {
        let snippet = status_snippet(body);
        return Err(HttpError::Status {
            what,
            url: url.to_string(),
            status,
            snippet: if snippet.is_empty() {
                "(empty body)".into()
            } else {
                snippet
            },
        });
    }
    match parsed {
        Some(value @ Value::Object(_)) => Ok(value),
        Some(_) => Err(HttpError::Malformed {
            what,
            url: url.to_string(),
            detail: "the JSON body is not an object".into(),
        }),
        None => Err(HttpError::Malformed {
            what,
            url: url.to_string(),
            detail: "the body is not JSON".into(),
        }),
    }
}

/// A body that is not an OAuth error, for one line of an error message: an HTML page (a proxy
/// or gateway) is named by its title, anything else is cut short; never more than one line.
fn status_snippet(body: &str) -> String {
    let one_line = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = body.to_ascii_lowercase();
    let html = lower.trim_start().starts_with('<') || lower.contains("<html");
    let text = if html {
        let title = lower
            .find("<title>")
            .and_then(|start| {
                let start = start + "<title>".len();
                lower[start..]
                    .find("</title>")
                    .and_then(|len| body.get(start..start + len))
            })
            .map(one_line)
            .filter(|t| !t.is_empty());
        match title {
            Some(t) => format!("an HTML page titled \"{t}\" (from a proxy or gateway?)"),
            None => "an HTML page (from a proxy or gateway?)".to_string(),
        }
    } else {
        one_line(body)
    };
    let mut shown: String = sanitize(&text).chars().take(120).collect();
    if shown.chars().count() < sanitize(&text).chars().count() {
        shown.push('…');
    }
    shown
}

/// An error and its causes on one line (reqwest hides the interesting part in `source`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = cause.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://idp.example/oauth/token").unwrap()
    }

    #[test]
    fn oauth_error_recognised_whatever_the_status() {
        for status in [200, 400, 403, 429] {
            let err = parse_json_body(
                "token endpoint",
                &url(),
                status,
                r#"{"error":"invalid_grant","error_description":"Invalid authorization code"}"#,
            )
            .unwrap_err();
            assert_eq!(err.exit_code(), ExitCode::Refused);
            assert!(err.to_string().contains("Invalid authorization code"));
        }
    }

    #[test]
    fn html_error_page_is_no_usable_answer() {
        let err =
            parse_json_body("token endpoint", &url(), 502, "<html>Bad Gateway</html>").unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Unreachable);
        let err = parse_json_body("token endpoint", &url(), 200, "<html>").unwrap_err();
        assert!(matches!(err, HttpError::Malformed { .. }));
    }

    #[test]
    fn expires_in_accepts_digits_only() {
        let ok: TokenResponse = serde_json::from_str(
            r#"{"access_token":"a","token_type":"Bearer","expires_in":"3600"}"#,
        )
        .unwrap();
        assert_eq!(ok.expires_in, Some(3600));
        for bad in [r#""1h""#, "-5", "1.5", "true"] {
            let body =
                format!(r#"{{"access_token":"a","token_type":"Bearer","expires_in":{bad}}}"#);
            assert!(
                serde_json::from_str::<TokenResponse>(&body).is_err(),
                "{bad}"
            );
        }
    }

    fn token(access: &str, kind: &str) -> TokenResponse {
        serde_json::from_value(serde_json::json!({"access_token": access, "token_type": kind}))
            .unwrap()
    }

    #[test]
    fn token_response_must_be_a_bearer_b64token() {
        for ok in ["eyJ.a-b_c~d+e/f==", "abc", "x="] {
            assert!(token(ok, "Bearer").validate().is_ok(), "{ok}");
        }
        assert!(token("abc", "bearer").validate().is_ok());
        assert!(token("abc", "BEARER").validate().is_ok());
        for bad in [
            "",
            "x\r\nX-Admin: 1",
            "a b",
            "=",
            "tok\"en",
            "a=b",
            "tok'en",
        ] {
            let err = token(bad, "Bearer").validate().unwrap_err();
            assert!(err.contains("access_token"), "{bad}: {err}");
            assert!(!err.contains("X-Admin"), "{err}");
        }
        for kind in ["mac", "DPoP", "", "Bearer "] {
            let err = token("abc", kind).validate().unwrap_err();
            assert!(err.contains("token_type"), "{kind}: {err}");
        }
    }

    #[test]
    fn proxy_html_page_is_one_line_named_by_its_title() {
        let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
        let err = parse_json_body("token endpoint", &url(), 502, page).unwrap_err();
        let msg = err.to_string();
        let first = msg.lines().next().unwrap();
        assert!(first.contains("\"502 Bad Gateway\""), "{msg}");
        assert!(!msg.contains('<'), "{msg}");
        assert_eq!(msg.lines().count(), 2, "{msg}");
        let text = parse_json_body("token endpoint", &url(), 503, "down\nfor\n\nmaintenance")
            .unwrap_err()
            .to_string();
        assert!(text.contains("down for maintenance"), "{text}");
    }

    #[test]
    fn transport_failures_are_classified() {
        let refused = "error sending request for url (http://127.0.0.1:1/): client error (Connect): tcp connect error: Connection refused (os error 111)";
        assert_eq!(Transport::classify(refused), Transport::Refused);
        let not_tls = "error sending request: client error (Connect): received corrupt message of type InvalidContentType";
        assert_eq!(Transport::classify(not_tls), Transport::NotTls);
        let dns = "error sending request: client error (Connect): dns error: failed to lookup address information: Name or service not known";
        assert_eq!(Transport::classify(dns), Transport::Dns);
        let cert = "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer";
        assert_eq!(Transport::classify(cert), Transport::Certificate);
    }
}
