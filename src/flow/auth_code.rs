//! The browser login: authorization code + PKCE over a loopback redirect (SPEC §4).
//!
//! Order matters and is fixed here: fresh verifier, state and nonce; bind the listener; build
//! the redirect URI from the bound port; hand the short start URL to the browser (never
//! waiting); wait for the first valid callback, a pasted redirect, the timeout or Ctrl-C;
//! exchange the code with the identical redirect URI; verify the id_token before anything is
//! returned. Secrets stay in their wrappers until they go into the token request.

use std::io::IsTerminal;
use std::time::Duration;

use url::Url;

use crate::config::{Opener, ProviderConfig, RedirectSpec};
use crate::discovery::Endpoints;
use crate::flow::exchange::{Expect, TokenEndpoint};
use crate::flow::{FlowError, TokenSet};
use crate::loopback::{Callback, Expectation, LoopbackError, LoopbackListener, PendingPage};
use crate::output;
use crate::secret::{constant_time_eq, AuthorizationCode, Nonce, PkceVerifier, State};

// Moved to `flow::id_token`; re-exported so existing callers keep their path.
pub use crate::flow::id_token::verify_id_token;

/// How the browser part of the login runs.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    pub redirect: RedirectSpec,
    pub opener: Opener,
    pub timeout: Duration,
    /// Offer the paste-the-redirect prompt (only when stdin is a terminal).
    pub allow_paste: bool,
}

/// The authorization request, before it is sent.
struct AuthorizationRequest {
    url: Url,
    redirect_uri: Url,
    verifier: PkceVerifier,
    state: State,
    nonce: Option<Nonce>,
}

fn authorization_request(
    provider: &ProviderConfig,
    endpoints: &Endpoints,
    redirect_uri: Url,
) -> AuthorizationRequest {
    let verifier = PkceVerifier::generate();
    let state = State::generate();
    let nonce = provider.wants_openid().then(Nonce::generate);
    let mut url = endpoints.authorization.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", redirect_uri.as_str())
            .append_pair("scope", &provider.scope_string())
            .append_pair("state", state.expose())
            .append_pair("code_challenge", &verifier.challenge_s256())
            .append_pair("code_challenge_method", "S256");
        if let Some(nonce) = &nonce {
            q.append_pair("nonce", nonce.expose());
        }
        if let Some(aud) = &provider.audience {
            q.append_pair("audience", aud);
        }
        for (k, v) in &provider.extra_params {
            q.append_pair(k, v);
        }
    }
    AuthorizationRequest {
        url,
        redirect_uri,
        verifier,
        state,
        nonce,
    }
}

/// Runs the whole browser login and returns verified tokens.
pub async fn login(
    token_endpoint: TokenEndpoint<'_>,
    opts: &BrowserOptions,
) -> Result<TokenSet, FlowError> {
    let TokenEndpoint {
        provider,
        endpoints,
        ..
    } = token_endpoint;
    if let Some(methods) = &endpoints.code_challenge_methods {
        if !methods.iter().any(|m| m == "S256") {
            output::warn("the provider does not advertise PKCE S256; sending it anyway");
        }
    }
    if provider.audience.is_none()
        && provider
            .issuer
            .host_str()
            .is_some_and(|h| h.ends_with(".auth0.com"))
    {
        output::warn(
            "no --audience: Auth0 will issue an opaque access token usable only at /userinfo",
        );
    }

    let listener = LoopbackListener::bind(&opts.redirect)?;
    let request = authorization_request(provider, endpoints, listener.redirect_uri());
    let start_url = listener.start_url();
    output::step(&format!("listening on {}", request.redirect_uri));

    let expectation = Expectation {
        state: request.state.clone(),
        issuer: endpoints.issuer.clone(),
        iss_required: endpoints.iss_parameter_supported,
    };
    let interactive = std::io::stdin().is_terminal();
    let paste = opts.allow_paste && interactive;
    // Listen for Ctrl-C before the URL is printed: one pressed right after must not be lost.
    let interrupted = interrupted();
    announce(
        &opts.opener,
        &request.url,
        &request.redirect_uri,
        listener.port(),
        paste,
    );

    let server = listener.serve(expectation.clone(), request.url.clone());
    let mut browser_opened = !matches!(opts.opener, Opener::Nothing);
    let watch = match crate::browser::open(&opts.opener, &start_url) {
        Ok(watch) => watch,
        Err(why) if interactive => {
            output::warn(&format!("{why}; open the URL above yourself"));
            browser_opened = false;
            None
        }
        // Nobody is at a terminal to open the URL by hand: waiting would only time out.
        Err(why) => return Err(FlowError::BrowserFailed { why }),
    };
    let in_process = matches!(opts.opener, Opener::InProcess).then(|| {
        let url = start_url.clone();
        tokio::spawn(async move { follow_like_a_browser(url).await })
    });

    let waited = wait_for_callback(
        server,
        &expectation,
        opts,
        paste,
        watch,
        interactive,
        browser_opened,
        interrupted,
    )
    .await;
    let (callback, page) = match waited {
        Ok(got) => got,
        Err(e) => {
            if let Some(task) = in_process {
                task.abort();
            }
            return Err(e);
        }
    };
    output::step("authorization code received; exchanging it at the token endpoint");
    let result = exchange(token_endpoint, request, callback.code).await;
    if let Some(page) = page {
        let shown = match &result {
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string().lines().next().unwrap_or_default().to_string()),
        };
        page.finish(shown).await;
    }
    if let Some(task) = in_process {
        // The in-process "browser" has its page by now.
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    result
}

/// Tells the user what happens next. The URL shown is the provider's full authorization URL:
/// it may be opened anywhere (another machine), and unlike the single-use start URL it does not
/// end the login when opened a second time. stderr is the user's own terminal.
fn announce(opener: &Opener, authorize_url: &Url, redirect_uri: &Url, port: u16, paste: bool) {
    match opener {
        Opener::Nothing => output::info(&format!(
            "Open this URL in a browser to sign in:\n  {authorize_url}"
        )),
        Opener::InProcess => output::info(&format!(
            "Signing in without a browser (authcli follows the sign-in itself) at:\n  {authorize_url}"
        )),
        _ => output::info(&format!(
            "Opening the browser to sign in. If it does not open, visit:\n  {authorize_url}"
        )),
    }
    if let Some(hint) = crate::browser::ssh_forward_hint(port) {
        output::info(&hint);
    }
    output::info(&format!(
        "Waiting for the sign-in… If the browser reports a callback URL mismatch, register {redirect_uri} with the application (or pass --port with a registered port)."
    ));
    if paste {
        output::info(
            "Or paste the URL the browser ends on (or just the code) here and press Enter:",
        );
    }
}

// Each input is one thing the wait races or reports; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
async fn wait_for_callback(
    server: impl std::future::Future<
        Output = Result<(Callback, PendingPage), crate::loopback::LoopbackError>,
    >,
    expect: &Expectation,
    opts: &BrowserOptions,
    paste: bool,
    watch: Option<crate::browser::Watch>,
    interactive: bool,
    browser_opened: bool,
    interrupted: impl std::future::Future<Output = ()>,
) -> Result<(Callback, Option<PendingPage>), FlowError> {
    let pasted = async {
        if paste {
            read_pasted(expect).await
        } else {
            std::future::pending().await
        }
    };
    // The opener is never waited for, but a failure before the callback is reported: on a
    // terminal as a warning (the user can open the URL), otherwise by ending the login.
    let opener_failed = async {
        let Some(watch) = watch else {
            return std::future::pending().await;
        };
        match watch.exited.await {
            Ok(status) if !status.success() => {
                let status = crate::browser::describe_status(status);
                if interactive {
                    output::warn(&format!(
                        "the browser command `{}` failed ({status}); open the URL above yourself",
                        watch.program
                    ));
                    std::future::pending().await
                } else {
                    FlowError::BrowserCommandFailed {
                        program: watch.program,
                        status,
                    }
                }
            }
            _ => std::future::pending().await,
        }
    };
    // A countdown on stderr, only when no paste prompt waits on the terminal: redrawing the
    // line would wipe what the user is typing there.
    let countdown = async {
        if paste {
            return std::future::pending().await;
        }
        let deadline = tokio::time::Instant::now() + opts.timeout;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut frames = ["|", "/", "-", "\\"].iter().cycle();
        loop {
            tick.tick().await;
            let frame = frames.next().unwrap_or(&"|");
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let secs = left.as_millis().div_ceil(1000);
            output::progress(&format!(
                "{frame} waiting for the sign-in in the browser ({}:{:02} left, Ctrl-C to cancel)",
                secs / 60,
                secs % 60
            ));
        }
    };
    let result = tokio::select! {
        result = server => result.map(|(callback, page)| (callback, Some(page))).map_err(FlowError::from),
        result = pasted => result.map(|callback| (callback, None)),
        failed = opener_failed => Err(failed),
        _ = tokio::time::sleep(opts.timeout) => Err(FlowError::Timeout { secs: opts.timeout.as_secs(), browser_opened }),
        _ = interrupted => Err(FlowError::Interrupted),
        result = countdown => result,
    };
    output::progress_done();
    result
}

/// Resolves on Ctrl-C. On Unix the handler is installed when this is called, not when the
/// future is first polled (as `tokio::signal::ctrl_c` does).
fn interrupted() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
        async move {
            match signal {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Reads the pasted redirect URL (or bare code) from stdin, re-prompting on bad input.
/// A pasted response that fails the mix-up defence ends the login, as it does at the listener.
async fn read_pasted(expect: &Expectation) -> Result<Callback, FlowError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(1);
    // Reading a terminal blocks; a plain thread keeps the runtime free and dies with the process.
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { return };
            if tx.blocking_send(line).is_err() {
                return;
            }
        }
    });
    while let Some(line) = rx.recv().await {
        match parse_pasted(line.trim(), expect) {
            Ok(Some(callback)) => return Ok(callback),
            Ok(None) => continue,
            Err(e @ FlowError::Paste(_)) => {
                output::warn(&format!("{e}; paste again, or finish in the browser"))
            }
            Err(e) => return Err(e),
        }
    }
    std::future::pending().await
}

/// A pasted redirect URL gets the listener's checks: this login's state, no repeated
/// parameter, and RFC 9207 `iss` equal to the issuer (required when the provider advertises
/// it). A bare code (no URL, so no parameters to check) is taken as is: the user vouches for it.
fn parse_pasted(text: &str, expect: &Expectation) -> Result<Option<Callback>, FlowError> {
    let unusable = |why: &str| FlowError::Paste(why.to_string());
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(url) = Url::parse(text) {
        let mut params: [(&str, Option<String>); 5] = [
            ("code", None),
            ("state", None),
            ("error", None),
            ("error_description", None),
            ("iss", None),
        ];
        for (key, value) in url.query_pairs() {
            let Some((_, slot)) = params.iter_mut().find(|(name, _)| *name == key) else {
                continue;
            };
            if slot.is_some() {
                return Err(unusable(&format!(
                    "the URL repeats the `{key}` parameter, which makes it ambiguous"
                )));
            }
            *slot = Some(value.into_owned());
        }
        let [(_, code), (_, state), (_, error), (_, _), (_, iss)] = params;
        let state_ok = state.is_some_and(|s| constant_time_eq(&s, expect.state.expose()));
        if !state_ok {
            return Err(unusable("the URL's state does not belong to this login"));
        }
        match (&iss, expect.iss_required) {
            (Some(iss), _) if iss != &expect.issuer => {
                return Err(LoopbackError::IssuerMismatch {
                    expected: expect.issuer.clone(),
                    found: output::sanitize(iss),
                }
                .into())
            }
            (None, true) => {
                return Err(LoopbackError::IssuerMismatch {
                    expected: expect.issuer.clone(),
                    found: "(none: the provider advertises RFC 9207 but the URL has no iss)".into(),
                }
                .into())
            }
            _ => {}
        }
        if let Some(error) = error {
            return Err(unusable(&format!(
                "the provider answered {}",
                output::sanitize(&error)
            )));
        }
        let code = code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| unusable("the URL carries no code"))?;
        return Ok(Some(Callback {
            code: AuthorizationCode::new(code),
            iss,
        }));
    }
    if text.chars().all(|c| c.is_ascii_graphic()) && !text.contains(['&', '=', '?', '/']) {
        return Ok(Some(Callback {
            code: AuthorizationCode::new(text),
            iss: None,
        }));
    }
    Err(unusable("expected the full redirect URL or the code"))
}

/// The demo's stand-in for a browser: GET the start URL and follow redirects to the listener.
async fn follow_like_a_browser(url: Url) {
    // Only loopback and the in-process mock are visited: a proxy from the environment
    // would only break the demo.
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::limited(10))
        .timeout(Duration::from_secs(30))
        .build();
    match client {
        Ok(client) => {
            if let Err(e) = client.get(url).send().await {
                output::warn(&format!(
                    "the in-process sign-in could not follow the redirects to the listener{}",
                    output::cause(&e.to_string())
                ));
            }
        }
        Err(e) => output::warn(&format!(
            "the in-process sign-in could not start{}",
            output::cause(&e.to_string())
        )),
    }
}

async fn exchange(
    token_endpoint: TokenEndpoint<'_>,
    request: AuthorizationRequest,
    code: AuthorizationCode,
) -> Result<TokenSet, FlowError> {
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("code_verifier", request.verifier.expose()),
        ("redirect_uri", request.redirect_uri.as_str()),
    ];
    let tokens = token_endpoint
        .exchange(
            &params,
            Expect {
                audience: true,
                nonce: request.nonce.as_ref(),
                refresh_token: true,
            },
        )
        .await?;
    if tokens.id_token.is_none() && token_endpoint.provider.wants_openid() {
        output::warn("`openid` was requested but the provider returned no id_token");
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://idp.example/";

    fn expect(iss_required: bool) -> Expectation {
        Expectation {
            state: State::new("s123"),
            issuer: ISSUER.into(),
            iss_required,
        }
    }

    fn is_retry(result: Result<Option<Callback>, FlowError>) -> bool {
        matches!(result, Err(FlowError::Paste(_)))
    }

    fn is_mixup(result: Result<Option<Callback>, FlowError>) -> bool {
        matches!(
            result,
            Err(FlowError::Loopback(LoopbackError::IssuerMismatch { .. }))
        )
    }

    #[test]
    fn pasted_url_must_carry_this_state() {
        let state = expect(false);
        let ok = parse_pasted("http://127.0.0.1:1/callback?code=abc&state=s123", &state)
            .unwrap()
            .unwrap();
        assert_eq!(ok.code.expose(), "abc");
        assert!(is_retry(parse_pasted(
            "http://127.0.0.1:1/callback?code=abc&state=other",
            &state
        )));
        assert_eq!(
            parse_pasted("just-a-code", &state)
                .unwrap()
                .unwrap()
                .code
                .expose(),
            "just-a-code"
        );
        assert!(parse_pasted("", &state).unwrap().is_none());
        // Not a bare code: a query without its URL (its state would go unchecked) and text
        // with spaces are asked for again, never sent as a code.
        assert!(is_retry(parse_pasted("code=abc&state=other", &state)));
        assert!(is_retry(parse_pasted("two words", &state)));
    }

    #[test]
    fn pasted_url_with_a_repeated_parameter_is_refused() {
        let e = expect(false);
        for url in [
            "http://127.0.0.1:1/callback?code=abc&state=s123&state=s123",
            "http://127.0.0.1:1/callback?code=abc&code=evil&state=s123",
            "http://127.0.0.1:1/callback?code=abc&state=s123&iss=https%3A%2F%2Fidp.example%2F&iss=https%3A%2F%2Fevil.example%2F",
        ] {
            let result = parse_pasted(url, &e);
            let shown = format!("{:?}", result.as_ref().err());
            assert!(is_retry(result), "{url}: {shown}");
        }
    }

    #[test]
    fn pasted_url_from_another_issuer_ends_the_login() {
        // The mix-up attack through the paste path: right state, another issuer's response.
        let url =
            "http://127.0.0.1:1/callback?code=abc&state=s123&iss=https%3A%2F%2Fevil.example%2F";
        for required in [false, true] {
            assert!(is_mixup(parse_pasted(url, &expect(required))), "{required}");
        }
        let err = parse_pasted(url, &expect(false)).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Refused);
        assert!(err.to_string().contains("evil.example"), "{err}");
    }

    #[test]
    fn pasted_url_without_iss_is_refused_when_the_provider_advertises_rfc9207() {
        let url = "http://127.0.0.1:1/callback?code=abc&state=s123";
        assert!(is_mixup(parse_pasted(url, &expect(true))));
        assert!(parse_pasted(url, &expect(false)).unwrap().is_some());
        let good =
            "http://127.0.0.1:1/callback?code=abc&state=s123&iss=https%3A%2F%2Fidp.example%2F";
        let ok = parse_pasted(good, &expect(true)).unwrap().unwrap();
        assert_eq!(ok.iss.as_deref(), Some(ISSUER));
    }
}
