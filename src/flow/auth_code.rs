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
use crate::error::Error;
use crate::flow::{FlowError, TokenSet};
use crate::http::{ClientAuth, HttpClient};
use crate::jwt::{self, IdTokenExpectations};
use crate::loopback::{Callback, Expectation, LoopbackListener, PendingPage};
use crate::output;
use crate::secret::{constant_time_eq, AuthorizationCode, Nonce, PkceVerifier, State};

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
    http: &HttpClient,
    provider: &ProviderConfig,
    endpoints: &Endpoints,
    opts: &BrowserOptions,
) -> Result<TokenSet, Error> {
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
    let paste = opts.allow_paste && std::io::stdin().is_terminal();
    // Ctrl-C is caught from before the URL is shown: a user (or test) reacting to the URL at
    // once must get exit 130, not the default signal death.
    let interrupt = Interrupt::install();
    announce(
        &opts.opener,
        &start_url,
        &request.redirect_uri,
        listener.port(),
        paste,
    );

    let server = listener.serve(expectation, request.url.clone());
    if let Err(why) = crate::browser::open(&opts.opener, &start_url) {
        output::warn(&format!("{why}; open the URL above yourself"));
    }
    let in_process = matches!(opts.opener, Opener::InProcess).then(|| {
        let url = start_url.clone();
        tokio::spawn(async move { follow_like_a_browser(url).await })
    });

    let waited = wait_for_callback(server, &request.state, opts, paste, interrupt).await;
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
    let result = exchange(http, provider, endpoints, request, callback.code).await;
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

fn announce(opener: &Opener, start_url: &Url, redirect_uri: &Url, port: u16, paste: bool) {
    match opener {
        Opener::Nothing => output::info(&format!(
            "Open this URL in a browser to sign in:\n  {start_url}"
        )),
        Opener::InProcess => output::info(&format!("Signing in without a browser via {start_url}")),
        _ => output::info(&format!(
            "Opening the browser to sign in. If it does not open, visit:\n  {start_url}"
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

async fn wait_for_callback(
    server: impl std::future::Future<
        Output = Result<(Callback, PendingPage), crate::loopback::LoopbackError>,
    >,
    state: &State,
    opts: &BrowserOptions,
    paste: bool,
    mut interrupt: Interrupt,
) -> Result<(Callback, Option<PendingPage>), Error> {
    let pasted = async {
        if paste {
            read_pasted(state).await
        } else {
            std::future::pending().await
        }
    };
    tokio::select! {
        result = server => result.map(|(callback, page)| (callback, Some(page))).map_err(Error::from),
        result = pasted => result.map(|callback| (callback, None)),
        _ = tokio::time::sleep(opts.timeout) => Err(FlowError::Timeout { secs: opts.timeout.as_secs() }.into()),
        _ = interrupt.recv() => Err(FlowError::Interrupted.into()),
    }
}

/// A Ctrl-C handler registered when it is made (`tokio::signal::ctrl_c()` registers only when
/// first polled, which leaves a window after the URL is printed).
struct Interrupt {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
    #[cfg(windows)]
    signal: Option<tokio::signal::windows::CtrlC>,
}

impl Interrupt {
    fn install() -> Interrupt {
        #[cfg(unix)]
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
        #[cfg(windows)]
        let signal = tokio::signal::windows::ctrl_c().ok();
        Interrupt { signal }
    }

    /// Resolves on Ctrl-C; never, if no handler could be installed.
    async fn recv(&mut self) {
        match self.signal.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
}

/// Reads the pasted redirect URL (or bare code) from stdin, re-prompting on bad input.
async fn read_pasted(state: &State) -> Result<Callback, Error> {
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
        match parse_pasted(line.trim(), state) {
            Ok(Some(callback)) => return Ok(callback),
            Ok(None) => continue,
            Err(e) => output::warn(&format!("{e}; paste again, or finish in the browser")),
        }
    }
    std::future::pending().await
}

/// A pasted redirect URL must carry this login's state; a bare code is taken as is.
fn parse_pasted(text: &str, state: &State) -> Result<Option<Callback>, FlowError> {
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(url) = Url::parse(text) {
        let get = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let state_ok = get("state").is_some_and(|s| constant_time_eq(&s, state.expose()));
        if !state_ok {
            return Err(FlowError::Paste(
                "the URL's state does not belong to this login".into(),
            ));
        }
        if let Some(error) = get("error") {
            return Err(FlowError::Paste(format!(
                "the provider answered {}",
                output::sanitize(&error)
            )));
        }
        let code = get("code").ok_or_else(|| FlowError::Paste("the URL carries no code".into()))?;
        return Ok(Some(Callback {
            code: AuthorizationCode::new(code),
            iss: get("iss"),
        }));
    }
    if text.chars().all(|c| c.is_ascii_graphic()) && !text.contains(['&', '=', '?', '/']) {
        return Ok(Some(Callback {
            code: AuthorizationCode::new(text),
            iss: None,
        }));
    }
    Err(FlowError::Paste(
        "expected the full redirect URL or the code".into(),
    ))
}

/// The demo's stand-in for a browser: GET the start URL and follow redirects to the listener.
async fn follow_like_a_browser(url: Url) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(10))
        .timeout(Duration::from_secs(30))
        .build();
    match client {
        Ok(client) => {
            if let Err(e) = client.get(url).send().await {
                output::warn(&format!("the in-process sign-in failed: {e}"));
            }
        }
        Err(e) => output::warn(&format!("the in-process sign-in failed: {e}")),
    }
}

async fn exchange(
    http: &HttpClient,
    provider: &ProviderConfig,
    endpoints: &Endpoints,
    request: AuthorizationRequest,
    code: AuthorizationCode,
) -> Result<TokenSet, Error> {
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("code_verifier", request.verifier.expose()),
        ("redirect_uri", request.redirect_uri.as_str()),
    ];
    if let Some(aud) = &provider.audience {
        form.push(("audience", aud));
    }
    let now = output::now_unix();
    let response = http
        .token_request(
            &endpoints.token,
            &form,
            ClientAuth::None,
            &provider.client_id,
        )
        .await?;
    let asked_offline = provider.scopes.iter().any(|s| s == "offline_access");
    if asked_offline && response.refresh_token.is_none() {
        output::warn("no refresh token was issued although `offline_access` was requested: `authcli token` will need a new login when this token expires (Auth0: allow offline access on the API; some providers also need --param prompt=consent)");
    }
    let id_claims = match &response.id_token {
        Some(id_token) => Some(
            verify_id_token(
                http,
                provider,
                endpoints,
                id_token.expose(),
                request.nonce.as_ref(),
            )
            .await?,
        ),
        None => {
            if provider.wants_openid() {
                output::warn("`openid` was requested but the provider returned no id_token");
            }
            None
        }
    };
    Ok(TokenSet::from_response(response, now, id_claims))
}

/// Verifies an id_token against the issuer's JWKS, fetched fresh for this login.
pub async fn verify_id_token(
    http: &HttpClient,
    provider: &ProviderConfig,
    endpoints: &Endpoints,
    id_token: &str,
    nonce: Option<&Nonce>,
) -> Result<serde_json::Value, Error> {
    let jwks_url = endpoints.jwks.as_ref().ok_or(FlowError::NoJwks)?;
    output::step(&format!("verifying the id_token against {jwks_url}"));
    let jwks = jwt::fetch_jwks(http, jwks_url).await?;
    let expect = IdTokenExpectations {
        issuer: &endpoints.issuer,
        client_id: &provider.client_id,
        nonce,
        leeway: jwt::DEFAULT_LEEWAY_SECS,
    };
    Ok(jwt::verify_id_token(id_token, &jwks, &expect)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_url_must_carry_this_state() {
        let state = State::new("s123");
        let ok = parse_pasted("http://127.0.0.1:1/callback?code=abc&state=s123", &state)
            .unwrap()
            .unwrap();
        assert_eq!(ok.code.expose(), "abc");
        assert!(parse_pasted("http://127.0.0.1:1/callback?code=abc&state=other", &state).is_err());
        assert_eq!(
            parse_pasted("just-a-code", &state)
                .unwrap()
                .unwrap()
                .code
                .expose(),
            "just-a-code"
        );
        assert!(parse_pasted("", &state).unwrap().is_none());
    }
}
