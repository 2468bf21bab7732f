//! The device authorization grant (RFC 8628): sign in on any device with a short code.
//!
//! Ask the device authorization endpoint for a code, show the verification URL (and a QR code
//! on a terminal), then poll the token endpoint every `interval` seconds: `authorization_pending`
//! keeps polling whatever its HTTP status (Auth0 answers 403), `slow_down` adds 5 s for good
//! (RFC 8628 §3.5; Auth0 answers 429), `expired_token` or the local `expires_in` ends the wait
//! (exit 5). Time is read and waited through a [`Clock`], so polling, back-off and expiry are
//! tested without waiting in real time.

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::config::Opener;
use crate::discovery::DiscoveryError;
use crate::flow::exchange::{self, Expect, TokenEndpoint};
use crate::flow::{FlowError, TokenSet};
use crate::http::HttpError;
use crate::output;
use crate::secret::ClientSecret;

/// RFC 8628 §3.2: the polling interval when the provider names none.
pub const DEFAULT_INTERVAL_SECS: u64 = 5;
/// RFC 8628 §3.5: what each `slow_down` adds to the interval.
pub const SLOW_DOWN_STEP_SECS: u64 = 5;

/// Time as the poller sees it: the real clock, or a test's.
pub trait Clock {
    /// Seconds on a monotonic scale (only differences matter).
    fn now_secs(&self) -> u64;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
}

/// The real clock and tokio's timer.
#[derive(Debug, Clone)]
pub struct SystemClock {
    start: std::time::Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            start: std::time::Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now_secs(&self) -> u64 {
        self.start.elapsed().as_secs()
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(duration)
    }
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Deserialize)]
pub struct DeviceAuthorization {
    pub device_code: ClientSecret,
    pub user_code: String,
    pub verification_uri: String,
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    #[serde(default)]
    pub interval: Option<u64>,
}

impl DeviceAuthorization {
    /// The URL to show and open: the complete one when the provider gives it.
    pub fn url_to_open(&self) -> &str {
        self.verification_uri_complete
            .as_deref()
            .unwrap_or(&self.verification_uri)
    }
}

/// Asks the device authorization endpoint for a device code and a user code.
pub async fn authorize(te: TokenEndpoint<'_>) -> Result<DeviceAuthorization, FlowError> {
    let what = "device authorization endpoint";
    let url = te
        .endpoints
        .device_authorization
        .clone()
        .ok_or(DiscoveryError::MissingEndpoint {
            what,
            flag: "--device-authorization-url",
        })?;
    let now = output::now_unix();
    let auth = te
        .credential
        .for_request(&te.provider.client_id, &te.endpoints.token, now)
        .map_err(FlowError::from)?;
    let scope = te.provider.scope_string();
    let mut form = vec![("scope", scope.as_str())];
    if let Some(aud) = &te.provider.audience {
        form.push(("audience", aud));
    }
    // The device authorization request is this grant's authorization request: `--param`
    // (e.g. RFC 8707 `resource`, which oidc-provider needs for a JWT access token) goes here.
    for (k, v) in &te.provider.extra_params {
        form.push((k.as_str(), v.as_str()));
    }
    let body = te
        .http
        .post_form(what, &url, &form, auth.as_http(), &te.provider.client_id)
        .await?;
    parse_authorization(&url, body)
}

fn parse_authorization(url: &Url, body: Value) -> Result<DeviceAuthorization, FlowError> {
    let malformed = |detail: String| HttpError::Malformed {
        what: "device authorization endpoint",
        url: url.to_string(),
        detail,
    };
    let auth: DeviceAuthorization = serde_json::from_value(body)
        .map_err(|e| malformed(format!("not a device authorization response: {e}")))?;
    // The URL is shown to the user and opened: it must be a web URL, not a command.
    let shown = Url::parse(auth.url_to_open())
        .map_err(|e| malformed(format!("verification_uri is not a URL: {e}")))?;
    if !matches!(shown.scheme(), "https" | "http") {
        return Err(malformed("verification_uri is not an http(s) URL".into()).into());
    }
    if auth.user_code.is_empty() || auth.user_code.chars().any(char::is_control) {
        return Err(malformed("user_code is empty or has control characters".into()).into());
    }
    Ok(auth)
}

/// Polls the token endpoint until the user approved, refused, or the code expired.
/// `on_wait` is told the seconds left before each wait (the countdown on a terminal).
pub async fn poll(
    te: TokenEndpoint<'_>,
    auth: &DeviceAuthorization,
    clock: &impl Clock,
    mut on_wait: impl FnMut(u64),
) -> Result<TokenSet, FlowError> {
    let mut interval = auth.interval.unwrap_or(DEFAULT_INTERVAL_SECS).max(1);
    let deadline = clock.now_secs().saturating_add(auth.expires_in);
    let params = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", auth.device_code.expose()),
    ];
    loop {
        on_wait(deadline.saturating_sub(clock.now_secs()));
        clock.sleep(Duration::from_secs(interval)).await;
        if clock.now_secs() >= deadline {
            return Err(FlowError::DeviceExpired("its expires_in passed"));
        }
        let expect = Expect {
            refresh_token: true,
            ..Expect::default()
        };
        match te.exchange(&params, expect).await {
            Ok(tokens) => return Ok(tokens),
            Err(e) => match exchange::oauth_error(&e) {
                Some("authorization_pending") => {}
                Some("slow_down") => {
                    interval += SLOW_DOWN_STEP_SECS;
                    output::step(&format!(
                        "the provider asked to slow down: polling every {interval} s"
                    ));
                }
                Some("expired_token") => {
                    return Err(FlowError::DeviceExpired("the provider said expired_token"))
                }
                _ => return Err(e),
            },
        }
    }
}

/// The whole device login: authorize, show the code, open the browser, poll; Ctrl-C ends it.
pub async fn login(
    te: TokenEndpoint<'_>,
    opener: &Opener,
    clock: &impl Clock,
) -> Result<TokenSet, FlowError> {
    let auth = authorize(te).await?;
    show(&auth);
    if !matches!(opener, Opener::Nothing | Opener::InProcess) {
        if let Ok(url) = Url::parse(auth.url_to_open()) {
            if let Err(why) = crate::browser::open(opener, &url) {
                output::warn(&format!("{why}; open the URL above yourself"));
            }
        }
    }
    let countdown = |left: u64| {
        output::progress(&format!(
            "Waiting for approval… {}:{:02} left",
            left / 60,
            left % 60
        ))
    };
    let result = tokio::select! {
        result = poll(te, &auth, clock, countdown) => result,
        _ = tokio::signal::ctrl_c() => Err(FlowError::Interrupted),
    };
    output::progress_done();
    result
}

/// Tells the user where to go, with a QR code of the URL when stderr is a terminal.
fn show(auth: &DeviceAuthorization) {
    let url = output::sanitize(auth.url_to_open());
    let code = output::sanitize(&auth.user_code);
    if auth.verification_uri_complete.is_some() {
        output::info(&format!(
            "To sign in, open this URL on any device and confirm the code {code}:\n  {url}"
        ));
    } else {
        output::info(&format!(
            "To sign in, open this URL on any device and enter the code {code}:\n  {url}"
        ));
    }
    if let Some(qr) = output::qr_code(&url) {
        output::info(&qr);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::config::{Profile, ProviderConfig};
    use crate::flow::client_auth::Credential;
    use crate::http::HttpClient;
    use crate::mock::{FaultSpec, MockOptions, MockTenant};

    /// Waits by moving the mock tenant's clock instead of sleeping, and records each wait.
    struct MockClock<'a> {
        tenant: &'a MockTenant,
        now: RefCell<u64>,
        waits: RefCell<Vec<u64>>,
    }

    impl Clock for MockClock<'_> {
        fn now_secs(&self) -> u64 {
            *self.now.borrow()
        }
        fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
            let secs = duration.as_secs();
            self.waits.borrow_mut().push(secs);
            *self.now.borrow_mut() += secs;
            self.tenant.advance_clock(secs as i64);
            std::future::ready(())
        }
    }

    fn tenant(approve_after: Option<u32>, faults: Vec<FaultSpec>) -> MockTenant {
        let mut opts = MockOptions::default();
        opts.tenant.device.auto_approve_after_polls = approve_after;
        opts.faults = faults;
        MockTenant::start(opts).unwrap()
    }

    async fn run(tenant: &MockTenant) -> (Result<TokenSet, FlowError>, Vec<u64>) {
        let provider = ProviderConfig::resolve(
            &crate::cli::ProviderArgs {
                issuer: Some(tenant.issuer()),
                client_id: Some("authcli-test".into()),
                audience: Some("https://api.example.test".into()),
                ..Default::default()
            },
            &Profile::default(),
        )
        .unwrap();
        let http = HttpClient::for_provider(&provider).unwrap();
        let endpoints = crate::discovery::resolve(&http, &provider).await.unwrap();
        let credential = Credential::None;
        let te = TokenEndpoint {
            http: &http,
            provider: &provider,
            endpoints: &endpoints,
            credential: &credential,
        };
        let clock = MockClock {
            tenant,
            now: RefCell::new(0),
            waits: RefCell::new(Vec::new()),
        };
        let auth = authorize(te).await.unwrap();
        let result = poll(te, &auth, &clock, |_| {}).await;
        (result, clock.waits.into_inner())
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn pending_keeps_polling_at_the_interval_until_approved() {
        let tenant = tenant(Some(2), vec![]);
        let (result, waits) = runtime().block_on(run(&tenant));
        assert!(result.is_ok(), "{:?}", result.err());
        assert_eq!(waits, vec![5, 5, 5], "two pending answers, then the tokens");
    }

    #[test]
    fn slow_down_adds_five_seconds_for_good() {
        let fault = FaultSpec::from_json(
            r#"{"endpoint":"token","fault":"oauth_error","error":"slow_down","nth":1}"#,
        )
        .unwrap();
        let tenant = tenant(Some(2), vec![fault]);
        let (result, waits) = runtime().block_on(run(&tenant));
        assert!(result.is_ok(), "{:?}", result.err());
        assert_eq!(waits[0], 5);
        assert!(waits[1..].iter().all(|w| *w == 10), "{waits:?}");
    }

    #[test]
    fn a_user_code_that_is_empty_or_carries_control_characters_is_refused() {
        let url = Url::parse("https://tenant.example.test/oauth/device/code").unwrap();
        let body = |user_code: &str| {
            serde_json::json!({
                "device_code": "dc", "user_code": user_code, "expires_in": 900,
                "verification_uri": "https://tenant.example.test/activate",
            })
        };
        assert!(parse_authorization(&url, body("ABCD-EFGH")).is_ok());
        // Each alone must be refused: the code is printed on the user's terminal.
        for bad in ["", "ABCD\x1b[2J", "AB\rCD"] {
            let err = parse_authorization(&url, body(bad)).unwrap_err();
            assert!(err.to_string().contains("user_code"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn local_expiry_ends_the_wait_with_exit_5() {
        // Never approved: the 900 s lifetime passes after 180 polls of 5 s.
        let tenant = tenant(None, vec![]);
        let (result, waits) = runtime().block_on(run(&tenant));
        let err = result.unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Timeout, "{err}");
        assert_eq!(waits.iter().sum::<u64>(), 900);
    }
}
