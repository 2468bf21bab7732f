//! One function per subcommand: wire config, flows, the session store and output together.
//!
//! Commands that can be answered from the session store (`token` on a cache hit, `status`)
//! stay synchronous; an async runtime and an HTTP client are started only when a command has
//! to talk to the provider.

use std::io::IsTerminal;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::{
    DemoArgs, ExecArgs, LoginArgs, LogoutArgs, OutputFormat, ProviderArgs, RefreshArgs,
    ReportFormat, StatusArgs, TokenArgs, UserinfoArgs,
};
use crate::config::{LoginConfig, Opener, Profile, ProviderConfig, RedirectSpec};
use crate::error::Error;
use crate::flow::auth_code::BrowserOptions;
use crate::flow::TokenSet;
use crate::http::{ClientAuth, HttpClient};
use crate::session::{self, Renewed, SessionError, Wanted};
use crate::store::{GrantKind, LoadOutcome, Session, Storage};
use crate::{browser, discovery, mock, output};

/// A small single-threaded runtime: the client does one thing at a time.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    output::trace("starting the async runtime");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Output {
            what: "the async runtime",
            source: e,
        })
}

fn print_tokens(format: OutputFormat, tokens: &TokenSet) -> Result<(), Error> {
    let text = output::render_tokens(format, tokens).map_err(|e| Error::Output {
        what: "stdout",
        source: std::io::Error::other(e),
    })?;
    print(&text)
}

fn print(text: &str) -> Result<(), Error> {
    output::write_stdout(text).map_err(|source| Error::Output {
        what: "stdout",
        source,
    })
}

/// JSON unless stdout is a terminal (then a table), or as asked.
fn wants_json(format: Option<ReportFormat>) -> bool {
    match format {
        Some(ReportFormat::Json) => true,
        Some(ReportFormat::Table) => false,
        None => !std::io::stdout().is_terminal(),
    }
}

/// Discovery, then the browser login; returns the tokens and where they came from.
async fn discover_and_login(
    provider: &ProviderConfig,
    opts: &BrowserOptions,
) -> Result<(TokenSet, discovery::Endpoints), Error> {
    let http = HttpClient::for_provider(provider)?;
    let endpoints = discovery::resolve(&http, provider).await?;
    let tokens = crate::flow::auth_code::login(&http, provider, &endpoints, opts).await?;
    Ok((tokens, endpoints))
}

/// Logs in with `cfg`, stores the session unless told not to, and returns the tokens.
fn login_and_store(
    cfg: &LoginConfig,
    storage_kind: Option<crate::store::StorageKind>,
) -> Result<TokenSet, Error> {
    let opts = BrowserOptions {
        redirect: cfg.redirect.clone(),
        opener: cfg.opener.clone(),
        timeout: cfg.login_timeout,
        allow_paste: true,
    };
    let obtained_at = output::now_unix();
    let (tokens, endpoints) = runtime()?.block_on(discover_and_login(&cfg.provider, &opts))?;
    if cfg.store {
        let storage = session::open_storage(storage_kind)?;
        let stored = session::from_tokens(
            session::key_for(&cfg.provider),
            GrantKind::AuthorizationCode,
            &tokens,
            &endpoints,
            obtained_at,
        );
        session::save(&storage, &stored)?;
        if !matches!(storage, Storage::None) {
            output::step("session stored");
        }
    }
    Ok(tokens)
}

/// `authcli login`.
pub fn login(args: &LoginArgs) -> Result<u8, Error> {
    let cfg = LoginConfig::resolve(args)?;
    let tokens = login_and_store(&cfg, args.storage)?;
    print_tokens(cfg.output, &tokens)?;
    Ok(0)
}

/// Returns a session whose access token stays valid `min_ttl` more seconds, renewing it under
/// its lock if needed. The cache hit returns before any runtime or HTTP client exists.
fn valid_session(
    storage: &Storage,
    wanted: &Wanted,
    profile: &Profile,
    provider_args: &ProviderArgs,
    min_ttl: u64,
    force: bool,
) -> Result<Session, Error> {
    let seen = session::require(storage, wanted)?;
    let now = output::now_unix();
    if !force && seen.valid_for(min_ttl, now) {
        return Ok(seen);
    }
    // Slow path. One process refreshes; the others wait here, then find its result.
    let _lock = storage.lock(&seen.key)?;
    let current = match storage.load(&seen.key)? {
        LoadOutcome::Found(current) => current,
        _ => seen.clone(),
    };
    let rotated_meanwhile = current.access_token != seen.access_token;
    if current.valid_for(min_ttl, now) && (!force || rotated_meanwhile) {
        output::step("another process renewed the session meanwhile");
        return Ok(current);
    }
    let provider = session::provider_for(&current, provider_args, profile)?;
    let renewed = runtime()?.block_on(session::refresh(storage, &current, &provider))?;
    match renewed {
        Renewed::Refreshed(fresh) => {
            session::save(storage, &fresh)?;
            Ok(fresh)
        }
        Renewed::Adopted(stored) => Ok(stored),
    }
}

/// The session a command's options select, renewed if it must be.
fn selected_session(
    args: &crate::cli::SessionArgs,
    min_ttl: u64,
    force: bool,
) -> Result<(Session, Profile), Error> {
    let (wanted, profile, storage) = session::select(args)?;
    let session = valid_session(&storage, &wanted, &profile, &args.provider, min_ttl, force)?;
    Ok((session, profile))
}

/// `authcli token`.
pub fn token(args: &TokenArgs) -> Result<u8, Error> {
    let (wanted, profile, storage) = session::select(&args.session)?;
    let result = valid_session(
        &storage,
        &wanted,
        &profile,
        &args.session.provider,
        args.min_ttl,
        args.force_refresh,
    );
    let session = match result {
        Ok(session) => session,
        Err(Error::Session(
            SessionError::NoSession { .. }
            | SessionError::NoRefreshToken { .. }
            | SessionError::RefreshRejected { .. },
        )) if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            output::info("No usable session: starting a login.");
            let login_args = LoginArgs {
                provider: args.session.provider.clone(),
                browser: args.browser.clone(),
                storage: args.session.storage,
                ..LoginArgs::default()
            };
            let cfg = LoginConfig::resolve(&login_args)?;
            let tokens = login_and_store(&cfg, args.session.storage)?;
            print_tokens(args.output, &tokens)?;
            return Ok(0);
        }
        Err(e) => return Err(e),
    };
    print_tokens(
        args.output,
        &session::tokens_of(&session, output::now_unix()),
    )?;
    Ok(0)
}

/// `authcli refresh`.
pub fn refresh(args: &RefreshArgs) -> Result<u8, Error> {
    let (session, _) = selected_session(&args.session, 0, true)?;
    print_tokens(
        args.output,
        &session::tokens_of(&session, output::now_unix()),
    )?;
    Ok(0)
}

/// `authcli logout`.
pub fn logout(args: &LogoutArgs) -> Result<u8, Error> {
    let (wanted, profile, storage) = session::select(&args.session)?;
    let sessions: Vec<Session> = if args.all {
        storage
            .list()?
            .into_iter()
            .filter_map(|e| e.session.ok())
            .collect()
    } else {
        vec![session::require(&storage, &wanted)?]
    };
    let mut revoke_failure = None;
    if args.revoke {
        let rt = runtime()?;
        for s in &sessions {
            if let Err(e) = rt.block_on(revoke(s, &args.session.provider, &profile)) {
                output::warn(&format!(
                    "could not revoke the refresh token at {}: {e}\n  the local session is deleted anyway; revoke it in the provider's dashboard if it matters",
                    s.key.issuer
                ));
                revoke_failure = Some(e);
            }
        }
    }
    if args.all {
        let n = storage.delete_all()?;
        output::info(&format!("Logged out: {n} session(s) deleted."));
    } else {
        for s in &sessions {
            storage.delete(&s.key)?;
            output::info(&format!(
                "Logged out of {} (client {}).",
                s.key.issuer, s.key.client_id
            ));
        }
    }
    match revoke_failure {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

async fn revoke(session: &Session, args: &ProviderArgs, profile: &Profile) -> Result<(), Error> {
    let Some(refresh_token) = &session.refresh_token else {
        output::step("no refresh token to revoke");
        return Ok(());
    };
    let provider = session::provider_for(session, args, profile)?;
    let http = HttpClient::for_provider(&provider)?;
    let endpoints = session::endpoints_for(&http, session, &provider, false).await?;
    let url = endpoints
        .revocation
        .ok_or(crate::discovery::DiscoveryError::MissingEndpoint {
            what: "revocation endpoint",
            flag: "--revocation-url",
        })?;
    output::step(&format!("revoking the refresh token at {url}"));
    let form = [
        ("token", refresh_token.expose()),
        ("token_type_hint", "refresh_token"),
    ];
    http.post_empty_ok(
        "revocation endpoint",
        &url,
        &form,
        ClientAuth::None,
        &session.key.client_id,
    )
    .await?;
    output::info("Refresh token revoked at the provider.");
    Ok(())
}

/// `authcli status`.
pub fn status(args: &StatusArgs) -> Result<u8, Error> {
    let storage = session::open_storage(args.storage)?;
    let now = output::now_unix();
    let mut rows = Vec::new();
    for entry in storage.list()? {
        let current = |s: &Session| storage.current(&s.key.profile).as_ref() == Some(&s.key);
        // Where the session really lives (files after a keychain fallback), not the flag.
        let storage_name = entry.location;
        rows.push(match entry.session {
            Ok(s) => json!({
                "profile": s.key.profile,
                "issuer": s.key.issuer,
                "client_id": s.key.client_id,
                "audience": s.key.audience,
                "subject": s.subject,
                "scopes": s.key.scopes,
                "granted_scope": s.scope,
                "grant": s.grant,
                "expires_at": s.expires_at.map(output::rfc3339),
                "expired": !s.valid_for(0, now),
                "refreshable": s.refresh_token.is_some(),
                "current": current(&s),
                "storage": storage_name,
            }),
            Err(reason) => json!({ "path": entry.path, "error": reason, "storage": storage_name }),
        });
    }
    if wants_json(args.output) {
        let text = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
        print(&format!("{text}\n"))?;
    } else if rows.is_empty() {
        output::info("No stored sessions. Run `authcli login` to create one.");
    } else {
        let mut table = String::from("PROFILE   ISSUER                                   CLIENT               AUDIENCE                       SUBJECT              EXPIRES\n");
        for r in &rows {
            if let Some(err) = r.get("error").and_then(Value::as_str) {
                table.push_str(&format!("(unusable) {err}\n"));
                continue;
            }
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
            let expires = if r["expired"] == true {
                format!("{} (expired)", s("expires_at"))
            } else {
                s("expires_at")
            };
            table.push_str(&format!(
                "{:<9} {:<40} {:<20} {:<30} {:<20} {}\n",
                s("profile"),
                s("issuer"),
                s("client_id"),
                s("audience"),
                s("subject"),
                expires
            ));
        }
        print(&table)?;
    }
    Ok(0)
}

/// `authcli userinfo`.
pub fn userinfo(args: &UserinfoArgs) -> Result<u8, Error> {
    let (session, profile) = selected_session(&args.session, 10, false)?;
    let provider = session::provider_for(&session, &args.session.provider, &profile)?;
    let fetch = |session: &Session| {
        runtime()?.block_on(async {
            let http = HttpClient::for_provider(&provider)?;
            let endpoints = discovery::resolve(&http, &provider).await?;
            let url =
                endpoints
                    .userinfo
                    .ok_or(crate::discovery::DiscoveryError::MissingEndpoint {
                        what: "userinfo endpoint",
                        flag: "--userinfo-url",
                    })?;
            Ok::<Value, Error>(
                http.get_json_bearer("userinfo endpoint", &url, &session.access_token)
                    .await?,
            )
        })
    };
    let info = match fetch(&session) {
        // Revoked or rotated out early: one refresh, one retry, never a loop.
        Err(Error::Http(e))
            if e.oauth_error() == Some("invalid_token") && session.refresh_token.is_some() =>
        {
            output::step("the access token was refused: refreshing once and retrying");
            let (fresh, _) = selected_session(&args.session, 0, true)?;
            fetch(&fresh)?
        }
        other => other?,
    };
    if wants_json(args.output) {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&info).unwrap_or_default()
        ))?;
    } else if let Value::Object(map) = &info {
        let mut text = String::new();
        for (k, v) in map {
            let v = v
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string());
            text.push_str(&format!("{k:<16} {}\n", output::sanitize(&v)));
        }
        print(&text)?;
    }
    Ok(0)
}

/// `authcli exec -- CMD…`: the child's exit code becomes authcli's.
pub fn exec(args: &ExecArgs) -> Result<u8, Error> {
    let (session, _) = selected_session(&args.session, args.min_ttl, false)?;
    let Some((program, rest)) = args.command.split_first() else {
        return Ok(2);
    };
    let status = std::process::Command::new(program)
        .args(rest)
        .env("AUTHCLI_ACCESS_TOKEN", session.access_token.expose())
        .status()
        .map_err(|source| Error::Exec {
            program: program.to_string_lossy().into_owned(),
            source,
        })?;
    Ok(exit_code_of(status))
}

fn exit_code_of(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(1);
        }
    }
    1
}

/// `authcli demo`.
pub fn demo(args: &DemoArgs) -> Result<u8, Error> {
    output::info("authcli demo: starting the built-in mock tenant on 127.0.0.1 (no network, no account needed)");
    let tenant = mock::MockTenant::start(mock::MockOptions::default())?;
    let issuer = tenant.issuer();
    output::info(&format!(
        "  1. mock tenant ready at {issuer} (an Auth0-shaped authorization server)"
    ));
    let provider = ProviderConfig::resolve(
        &ProviderArgs {
            issuer: Some(issuer.clone()),
            client_id: Some("authcli-test".into()),
            audience: Some("https://api.example.test".into()),
            ..Default::default()
        },
        &Profile::default(),
    )?;
    let opener = if args.no_browser || !browser::display_available() {
        output::info("  2. no browser: authcli follows the sign-in redirects itself");
        Opener::InProcess
    } else {
        output::info("  2. opening your browser; the mock tenant signs you in as alice at once");
        Opener::System
    };
    output::info("  3. PKCE verifier + S256 challenge, state and nonce come from the OS RNG; the loopback listener is bound on a random port before the URL is built");
    let opts = BrowserOptions {
        redirect: RedirectSpec::default(),
        opener,
        timeout: Duration::from_secs(120),
        allow_paste: false,
    };
    let (tokens, _) = runtime()?.block_on(discover_and_login(&provider, &opts))?;
    let who = tokens
        .id_claims
        .as_ref()
        .and_then(|c| c.get("email"))
        .and_then(Value::as_str)
        .unwrap_or("the mock user");
    output::info(&format!("  4. code exchanged at /oauth/token with the verifier; id_token signature, iss, aud, exp and nonce verified against the JWKS: signed in as {who}"));
    output::info("  5. the tokens follow on stdout (the demo stores no session). Next: `authcli mock-tenant` for CI, `authcli login --issuer … --client-id …` for a real provider");
    print_tokens(args.output, &tokens)?;
    Ok(0)
}
