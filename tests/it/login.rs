//! `authcli login` (SPEC §4, §5, §7): what a user observes, end to end.

use serde_json::{json, Value};

use crate::support::{
    authcli, browse, browse_plain, query_param, raw_request, start_login, Running, TempDir, Tenant,
    AUDIENCE,
};

fn login(tenant: &Tenant, home: &TempDir, extra: &[&str]) -> Running {
    start_login(tenant, home, extra)
}

/// The listener's `host:port`, from the `redirect_uri` of the printed authorization URL.
pub fn authority(authorize_url: &str) -> String {
    let redirect = query_param(authorize_url, "redirect_uri").expect("a redirect_uri");
    let url = url::Url::parse(&redirect).unwrap();
    format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    )
}

#[test]
fn full_login_prints_verified_tokens_as_json() {
    let tenant = Tenant::start();
    let home = TempDir::new("login");
    let mut run = login(&tenant, &home, &[]);
    let start = run.start_url();
    let hops = browse_plain(&start);
    let last = hops.last().unwrap();
    assert_eq!(last.status, 200, "{hops:#?}");
    assert!(last.body.contains("You are signed in"));

    let out = run.finish();
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    let tokens: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["access_token"].as_str().unwrap().split('.').count() == 3);
    assert!(tokens["id_token"].as_str().is_some());
    assert!(tokens["refresh_token"].as_str().is_some());
    assert!(tokens["expires_in"].as_u64().unwrap() > 0);
    assert!(tokens["expires_at"].as_str().unwrap().ends_with('Z'));

    // The exchange sent the verifier, the identical redirect URI and the audience.
    let authorize = hops.iter().find(|h| h.url.contains("/authorize")).unwrap();
    let redirect_uri = query_param(&authorize.url, "redirect_uri").unwrap();
    assert_eq!(
        query_param(&authorize.url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&authorize.url, "audience").as_deref(),
        Some(AUDIENCE)
    );
    assert!(query_param(&authorize.url, "nonce").is_some());
    let token_calls = tenant.requests_to("/oauth/token");
    assert_eq!(token_calls.len(), 1, "{token_calls:#?}");
    let params = &token_calls[0]["params"];
    assert_eq!(params["grant_type"], "authorization_code");
    assert_eq!(params["redirect_uri"], redirect_uri.as_str());
    assert_eq!(params["audience"], AUDIENCE);
    assert_eq!(params["client_id"], "authcli-test");
    assert!(
        params.get("code_verifier").is_some(),
        "no code_verifier sent"
    );
}

/// Against a provider that does everything right (PKCE S256 advertised, an id_token for
/// `openid`, a refresh token for `offline_access`, not Auth0 so no audience is needed), a login
/// warns about nothing, and with stdin not a terminal it offers no paste prompt: only the URL.
#[test]
fn a_login_against_a_standard_provider_warns_about_nothing() {
    let tenant = Tenant::start();
    for (case, extra) in [
        ("audience", &["--audience", AUDIENCE][..]),
        ("no audience", &[]),
        ("openid only, no refresh token", &["--scope", "openid"]),
    ] {
        let home = TempDir::new("login-quiet");
        let mut cmd = authcli(home.path());
        cmd.args(["login", "--issuer", &tenant.issuer])
            .args(["--client-id", "authcli-test", "--no-browser"])
            .args(["--login-timeout", "60"])
            .args(extra);
        let mut running = Running::spawn(cmd);
        browse_plain(&running.start_url());
        let out = running.finish();
        assert_eq!(out.code, Some(0), "{case}: {}", out.stderr);
        let tokens: Value = serde_json::from_str(&out.stdout).unwrap();
        assert!(tokens["id_token"].is_string(), "{case}: {tokens}");
        assert!(!out.stderr.contains("warning"), "{case}: {}", out.stderr);
        assert!(!out.stderr.contains("paste"), "{case}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("Open this URL in a browser to sign in:"),
            "{case}: {}",
            out.stderr
        );
    }
}

#[test]
fn output_token_prints_exactly_one_line() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-token");
    let mut run = login(&tenant, &home, &["-o", "token"]);
    browse_plain(&run.start_url());
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1);
    assert!(out.stdout.ends_with('\n'));
    assert_eq!(out.stdout.trim().split('.').count(), 3);
}

#[test]
fn output_header_and_env_formats() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-formats");
    let mut run = login(&tenant, &home, &["-o", "header"]);
    browse_plain(&run.start_url());
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.starts_with("Authorization: Bearer ey"),
        "{}",
        out.stdout
    );

    let mut run = login(&tenant, &home, &["-o", "env"]);
    browse_plain(&run.start_url());
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("export AUTHCLI_ACCESS_TOKEN='ey"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("export AUTHCLI_ID_TOKEN='"));
}

#[test]
fn wrong_state_is_rejected_and_login_continues() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-state");
    let mut run = login(&tenant, &home, &[]);
    let start = run.start_url();
    let mut stray_status = None;
    let hops = browse(&start, |callback| {
        // A stray request with another state arrives first: 400, and the wait goes on.
        let forged = callback.replace("state=", "state=forged");
        let resp = reqwest::blocking::get(&forged).unwrap();
        stray_status = Some(resp.status().as_u16());
        callback.to_string()
    });
    assert_eq!(stray_status, Some(400));
    assert_eq!(hops.last().unwrap().status, 200);
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("wrong or missing state"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("access_token"));
}

#[test]
fn error_callback_with_right_state_exits_3_with_description() {
    let tenant = Tenant::start();
    tenant.fault(json!({"endpoint": "authorize", "fault": "deny"}));
    let home = TempDir::new("login-deny");
    let mut run = login(&tenant, &home, &[]);
    let hops = browse_plain(&run.start_url());
    assert!(hops.last().unwrap().body.contains("Sign-in failed"));
    let out = run.finish();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("access_denied"), "{}", out.stderr);
    // The provider's error_description is what tells the user why.
    assert!(
        out.stderr.contains("User did not authorize the request"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout);
}

#[test]
fn callback_page_escapes_reflected_input() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-xss");
    let mut run = login(&tenant, &home, &[]);
    let hops = browse(&run.start_url(), |callback| {
        let state = query_param(callback, "state").unwrap();
        let iss = query_param(callback, "iss").unwrap_or_default();
        let base = callback.split('?').next().unwrap();
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "{base}?state={}&iss={}&error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&error_description=%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E%22%27",
            enc(&state),
            enc(&iss)
        )
    });
    let page = &hops.last().unwrap().body;
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
    let out = run.finish();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    // Control characters and markup from the provider reach stderr only as plain text.
    assert!(!out.stderr.contains('\u{1b}'));
}

#[test]
fn hostile_requests_get_4xx_and_login_continues() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-hostile");
    let mut run = login(&tenant, &home, &[]);
    let start = run.start_url();
    let auth = authority(&start);
    let get = |path: &str, host: &str| {
        raw_request(
            &auth,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    };
    assert_eq!(get("/favicon.ico", &auth), 404);
    assert_eq!(get("/callback?code=x&state=y", "evil.example"), 421);
    assert_eq!(get("/callback?code=x&state=y", &auth), 400);
    assert_eq!(
        raw_request(&auth, &format!("POST /callback HTTP/1.1\r\nHost: {auth}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")),
        405
    );
    assert_eq!(
        raw_request(
            &auth,
            &format!("OPTIONS /callback HTTP/1.1\r\nHost: {auth}\r\nConnection: close\r\n\r\n")
        ),
        405
    );
    let huge = format!("/callback?state={}", "a".repeat(64 * 1024));
    let status = get(&huge, &auth);
    assert!((400..500).contains(&status), "oversize query got {status}");
    // The listener's own limit: a 4096-byte request target is read (and refused for its
    // state), one byte more is 414 URI Too Long.
    let at_limit = |len: usize| {
        let prefix = "/callback?state=";
        format!("{prefix}{}", "a".repeat(len - prefix.len()))
    };
    assert_eq!(get(&at_limit(4096), &auth), 400);
    assert_eq!(get(&at_limit(4097), &auth), 414);
    let garbage = raw_request(&auth, "\x16\x03\x01 not http at all\r\n\r\n");
    assert!(
        garbage == 0 || (400..500).contains(&garbage),
        "garbage got {garbage}"
    );

    // None of that ended the wait: the real sign-in still completes.
    let hops = browse_plain(&start);
    assert_eq!(hops.last().unwrap().status, 200);
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn busy_fixed_port_is_a_clear_error() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-busy");
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port().to_string();
    let out = login(&tenant, &home, &["--port", &port]).finish();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("busy") && out.stderr.contains(&port),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn port_list_falls_back_to_the_next_free_port() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-ports");
    // The busy port is held for the whole test. Free candidates can only be guessed (another
    // process may take one before authcli binds it), so offer three: any of them is a pass,
    // the busy one never is.
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = blocker.local_addr().unwrap().port();
    let candidates: Vec<u16> = (0..3)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        })
        .collect();
    let ports = std::iter::once(busy)
        .chain(candidates.iter().copied())
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut run = login(&tenant, &home, &["--port", &ports]);
    let start = run.start_url();
    let port: u16 = authority(&start)
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, busy, "{start}");
    assert!(candidates.contains(&port), "{start} not in {ports}");
    browse_plain(&start);
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let authorize = tenant.requests_to("/authorize");
    assert_eq!(
        authorize[0]["query"]["redirect_uri"],
        format!("http://127.0.0.1:{port}/callback")
    );
    drop(blocker);
}

#[test]
fn no_callback_times_out_with_exit_5() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-timeout");
    let out = login(&tenant, &home, &["--login-timeout", "1"]).finish();
    assert_eq!(out.code, Some(5), "{}", out.stderr);
    assert!(out.stderr.contains("--login-timeout"), "{}", out.stderr);
    // With --no-browser the user had to open the URL: the hint says so, and does not talk
    // about a browser authcli opened.
    assert!(
        out.stderr.contains("open the printed URL"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("use --no-browser"), "{}", out.stderr);
}

#[test]
fn discovery_issuer_mismatch_exits_3() {
    let tenant = Tenant::start();
    tenant.fault(json!({"endpoint": "discovery", "fault": "wrong_issuer", "every": true}));
    let home = TempDir::new("login-mixup");
    let out = login(&tenant, &home, &[]).finish();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("issuer mismatch"), "{}", out.stderr);
    assert!(tenant.requests_to("/authorize").is_empty());
}

#[test]
fn id_token_with_wrong_nonce_exits_3_and_prints_nothing() {
    let tenant = Tenant::start();
    tenant.fault(json!({"endpoint": "token", "fault": "token_wrong_nonce"}));
    let home = TempDir::new("login-nonce");
    let mut run = login(&tenant, &home, &[]);
    let hops = browse_plain(&run.start_url());
    let out = run.finish();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("nonce"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    // The browser is not told "signed in" for a login that failed after the callback.
    let page = &hops.last().unwrap().body;
    assert!(
        page.contains("Sign-in not completed") && page.contains("nonce"),
        "{page}"
    );
}

#[test]
fn token_endpoint_invalid_grant_exits_3_with_description() {
    let tenant = Tenant::start();
    tenant.fault(
        json!({"endpoint": "token", "fault": "oauth_error", "status": 403,
        "error": "invalid_grant", "error_description": "Invalid authorization code"}),
    );
    let home = TempDir::new("login-grant");
    let mut run = login(&tenant, &home, &[]);
    browse_plain(&run.start_url());
    let out = run.finish();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("invalid_grant: Invalid authorization code"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn html_bad_gateway_from_token_endpoint_exits_6() {
    let tenant = Tenant::start();
    tenant.fault(json!({"endpoint": "token", "fault": "html", "status": 502}));
    let home = TempDir::new("login-502");
    let mut run = login(&tenant, &home, &[]);
    browse_plain(&run.start_url());
    let out = run.finish();
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(out.stderr.contains("502"), "{}", out.stderr);
}

#[test]
fn unreachable_provider_exits_6() {
    let home = TempDir::new("login-refused");
    // Port 1 (tcpmux): privileged, so no unprivileged test or tool can be listening there;
    // a port picked by binding 0 and dropping the socket could be taken again meanwhile.
    let closed = 1;
    let mut cmd = authcli(home.path());
    cmd.args([
        "login",
        "--issuer",
        &format!("http://127.0.0.1:{closed}/"),
        "--client-id",
        "x",
        "--no-browser",
    ]);
    let out = Running::spawn(cmd).finish();
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(out.stderr.contains("could not reach"), "{}", out.stderr);
}

#[test]
fn missing_client_id_is_a_usage_error() {
    let home = TempDir::new("login-usage");
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--issuer", "tenant.example.com"]);
    let out = Running::spawn(cmd).finish();
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("--client-id") && out.stderr.contains("AUTHCLI_CLIENT_ID"),
        "{}",
        out.stderr
    );
}

#[test]
fn trace_output_never_shows_secrets() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-vv");
    let mut run = login(&tenant, &home, &["-vv"]);
    let hops = browse_plain(&run.start_url());
    let callback = hops.iter().find(|h| h.url.contains("/callback")).unwrap();
    let code = query_param(&callback.url, "code").unwrap();
    let state = query_param(&callback.url, "state").unwrap();
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let tokens: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        out.stderr.contains("POST "),
        "-vv shows the exchange:\n{}",
        out.stderr
    );
    // `state` is on stderr once, inside the authorization URL printed for the user to open
    // (SPEC §4 step 3); no trace line carries it.
    for line in out.stderr.lines().filter(|l| l.starts_with("> ")) {
        assert!(!line.contains(state.as_str()), "state in a trace: {line}");
    }
    for secret in [
        code.as_str(),
        tokens["access_token"].as_str().unwrap(),
        tokens["id_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    ] {
        assert!(
            !out.stderr.contains(secret),
            "secret on stderr:\n{}",
            out.stderr
        );
    }
    for sig in [&tokens["access_token"], &tokens["id_token"]] {
        let sig = sig.as_str().unwrap().rsplit('.').next().unwrap();
        assert!(!out.stderr.contains(sig), "a JWT signature on stderr");
    }
    assert!(
        out.stderr.contains("code_verifier=[redacted]"),
        "{}",
        out.stderr
    );
}

#[test]
fn config_profile_supplies_issuer_and_client() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-profile");
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[profiles.mock]\nissuer = \"{}\"\nclient_id = \"authcli-test\"\naudience = \"{AUDIENCE}\"\nscope = \"openid offline_access\"\n",
            tenant.issuer
        ),
    )
    .unwrap();
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--profile", "mock", "--no-browser", "-o", "json"]);
    let mut run = Running::spawn(cmd);
    browse_plain(&run.start_url());
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let authorize = tenant.requests_to("/authorize");
    assert_eq!(authorize[0]["query"]["scope"], "openid offline_access");
}

#[cfg(unix)]
#[test]
fn the_readme_ci_smoke_script_passes() {
    let home = TempDir::new("ci-smoke");
    let out = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/ci-smoke.sh"))
        .env("AUTHCLI", crate::support::bin())
        .env("TMPDIR", home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ci-smoke: ok"), "{stdout}");
}

#[test]
fn issuer_without_trailing_slash_logs_in() {
    // RFC-flavoured providers (and most real ones) publish `http://host:port` without a slash;
    // `iss` in tokens and RFC 9207 responses must be compared with that exact string.
    let tenant = Tenant::start_with(&["--flavor", "rfc"]);
    assert!(!tenant.issuer.ends_with('/'), "{}", tenant.issuer);
    let home = TempDir::new("login-noslash");
    let mut run = login(&tenant, &home, &[]);
    let hops = browse_plain(&run.start_url());
    assert!(hops.last().unwrap().body.contains("You are signed in"));
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("\"id_token\""));
}

#[cfg(unix)]
#[test]
fn ctrl_c_while_waiting_exits_130_and_exchanges_nothing() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-sigint");
    let mut run = login(&tenant, &home, &[]);
    let start = run.start_url();
    // The login is waiting: its listener answers.
    assert!(std::net::TcpStream::connect(authority(&start)).is_ok());
    let status = std::process::Command::new("kill")
        .args(["-INT", &run.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = run.finish();
    assert_eq!(out.code, Some(130), "{}", out.stderr);
    assert!(out.stderr.contains("interrupted"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(tenant.requests_to("/oauth/token").is_empty());
    assert!(crate::support::session_files(home.path()).is_empty());
}

#[test]
fn over_ssh_the_port_forwarding_line_is_printed() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-ssh");
    let mut cmd = authcli(home.path());
    cmd.env("SSH_CONNECTION", "203.0.113.9 52000 198.51.100.7 22")
        .args([
            "login",
            "--issuer",
            &tenant.issuer,
            "--client-id",
            "authcli-test",
            "--no-browser",
        ]);
    let mut run = Running::spawn(cmd);
    let start = run.start_url();
    let port = authority(&start).rsplit(':').next().unwrap().to_string();
    let line = run.wait_for_line("ssh -N -L");
    assert!(
        line.contains(&format!("{port}:127.0.0.1:{port} 198.51.100.7")),
        "{line}"
    );
    browse_plain(&start);
    assert_eq!(run.finish().code, Some(0));
}

#[test]
fn localhost_redirect_uri_listens_on_both_stacks() {
    let tenant = Tenant::start();
    let home = TempDir::new("login-localhost");
    let mut run = login(
        &tenant,
        &home,
        &["--redirect-uri", "http://localhost:0/callback"],
    );
    let start = run.start_url();
    assert!(authority(&start).starts_with("localhost:"), "{start}");
    let port: u16 = authority(&start)
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        assert!(
            std::net::TcpStream::connect(("::1", port)).is_ok(),
            "no IPv6 listener"
        );
    }
    let hops = browse_plain(&start);
    assert_eq!(hops.last().unwrap().status, 200);
    assert_eq!(run.finish().code, Some(0));
    let authorize = tenant.requests_to("/authorize");
    assert_eq!(
        authorize[0]["query"]["redirect_uri"],
        format!("http://localhost:{port}/callback")
    );
}

/// A proxy on 127.0.0.1 that records each request line (`CONNECT host:443 …` for https) and
/// answers 502. The listener is held for the proxy's life, so its port cannot be taken.
struct RecordingProxy {
    url: String,
    seen: std::sync::mpsc::Receiver<String>,
}

impl RecordingProxy {
    fn start() -> RecordingProxy {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, seen) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                if tx.send(line.trim().to_string()).is_err() {
                    return;
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        RecordingProxy { url, seen }
    }

    /// Request lines received so far.
    fn lines(&self) -> Vec<String> {
        self.seen.try_iter().collect()
    }
}

#[test]
fn proxies_are_bypassed_for_a_loopback_issuer() {
    let tenant = Tenant::start();
    let proxy = RecordingProxy::start();
    let home = TempDir::new("login-proxy");
    let mut cmd = authcli(home.path());
    cmd.env("HTTP_PROXY", &proxy.url)
        .env("HTTPS_PROXY", &proxy.url)
        .env("ALL_PROXY", &proxy.url)
        .args([
            "login",
            "--issuer",
            &tenant.issuer,
            "--client-id",
            "authcli-test",
            "--no-browser",
        ]);
    let mut run = Running::spawn(cmd);
    browse_plain(&run.start_url());
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        proxy.lines(),
        Vec::<String>::new(),
        "a loopback request went to the proxy"
    );
    assert_eq!(tenant.requests_to("/oauth/token").len(), 1);
}

/// The counterpart that makes the bypass test meaningful: for a provider off this machine the
/// configured proxy IS used (the tunnel to the provider is asked of the proxy; nothing else
/// leaves 127.0.0.1).
#[test]
fn https_proxy_is_used_for_a_remote_issuer() {
    let proxy = RecordingProxy::start();
    let home = TempDir::new("login-proxy-remote");
    let mut cmd = authcli(home.path());
    cmd.env("HTTPS_PROXY", &proxy.url).args([
        "login",
        "--issuer",
        "https://idp.example.test/",
        "--client-id",
        "x",
        "--no-browser",
    ]);
    let out = Running::spawn(cmd).finish();
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    let lines = proxy.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("CONNECT idp.example.test:443 ")),
        "the proxy saw {lines:?}"
    );
}

#[test]
fn unusable_cacert_is_a_clear_error() {
    let home = TempDir::new("login-cacert");
    let pem = home.path().join("corp.pem");
    std::fs::write(&pem, "not a certificate").unwrap();
    let mut cmd = authcli(home.path());
    cmd.args([
        "login",
        "--issuer",
        "idp.example.com",
        "--client-id",
        "x",
        "--no-browser",
        "--cacert",
    ])
    .arg(&pem);
    let out = Running::spawn(cmd).finish();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("corp.pem"), "{}", out.stderr);
}

/// Runs `authcli login` on a pseudo-terminal (util-linux `script`), so stdin is a terminal.
#[cfg(target_os = "linux")]
fn login_on_a_terminal(tenant: &Tenant, home: &TempDir) -> Option<std::process::Child> {
    on_a_terminal(tenant, home, "login --login-timeout 30 -o token")
}

/// Runs `authcli SUBCOMMAND` for the built-in client on a pseudo-terminal.
#[cfg(target_os = "linux")]
pub fn on_a_terminal(
    tenant: &Tenant,
    home: &TempDir,
    subcommand: &str,
) -> Option<std::process::Child> {
    let script_bin = crate::tools::script(&format!("login::on_a_terminal({subcommand})"))?;
    let command = format!(
        "{} {subcommand} --issuer {} --client-id authcli-test --audience {AUDIENCE} --no-browser",
        crate::support::bin().display(),
        tenant.issuer
    );
    let isolated = authcli(home.path());
    let mut script = std::process::Command::new(script_bin);
    script
        .env_clear()
        .envs(isolated.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .args(["-qfec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    Some(script.spawn().unwrap())
}

/// The rest of a reader thread's lines: everything until it saw end-of-file (bounded).
#[cfg(target_os = "linux")]
fn lines_until_eof(rx: &std::sync::mpsc::Receiver<String>) -> Vec<String> {
    use std::sync::mpsc::RecvTimeoutError;
    let mut rest = Vec::new();
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(line) => rest.push(line),
            Err(RecvTimeoutError::Disconnected) => return rest,
            Err(RecvTimeoutError::Timeout) => panic!("no end of output:\n{}", rest.join("\n")),
        }
    }
}

/// The URL the provider redirects the browser to, fetched without reaching the listener.
#[cfg(target_os = "linux")]
fn redirect_target(start: &str) -> String {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location = |url: &str| -> String {
        let resp = client.get(url).send().unwrap();
        resp.headers()["location"].to_str().unwrap().to_string()
    };
    location(start)
}

#[cfg(target_os = "linux")]
#[test]
fn pasting_the_redirect_url_at_the_prompt_completes_the_login() {
    use std::io::{BufRead, BufReader, Write};
    use std::time::{Duration, Instant};
    let tenant = Tenant::start();
    let home = TempDir::new("login-paste");
    let Some(mut child) = login_on_a_terminal(&tenant, &home) else {
        return;
    };
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut start = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            if let Some(url) = line
                .split_whitespace()
                .find(|w| w.contains("redirect_uri="))
            {
                start = Some(url.to_string());
            }
            let prompt = line.contains("paste the URL");
            seen.push(line);
            if prompt && start.is_some() {
                break;
            }
        }
    }
    let start = start.unwrap_or_else(|| panic!("no start URL / prompt:\n{}", seen.join("\n")));
    // The browser is elsewhere (another machine): the user pastes where it ended up.
    let final_url = redirect_target(&start);
    assert!(final_url.contains("/callback?code="), "{final_url}");
    writeln!(stdin, "{final_url}").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "login did not finish after the paste"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest = lines_until_eof(&rx);
    assert!(status.success(), "{}\n{}", seen.join("\n"), rest.join("\n"));
    assert!(
        rest.iter()
            .any(|l| l.trim().starts_with("ey") && l.trim().split('.').count() == 3),
        "no token printed:\n{}",
        rest.join("\n")
    );
    // The code went through the paste, never through the listener.
    assert_eq!(tenant.requests_to("/oauth/token").len(), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn token_on_a_terminal_without_a_session_starts_a_login_and_stores_it() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};
    let tenant = Tenant::start();
    let home = TempDir::new("token-interactive");
    let Some(mut child) = on_a_terminal(&tenant, &home, "token") else {
        return;
    };
    let _stdin = child.stdin.take();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let start = loop {
        assert!(
            Instant::now() < deadline,
            "no start URL:\n{}",
            seen.join("\n")
        );
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            let url = line
                .split_whitespace()
                .find(|w| w.contains("redirect_uri="))
                .map(String::from);
            seen.push(line);
            if let Some(url) = url {
                break url;
            }
        }
    };
    assert!(
        seen.iter().any(|l| l.contains("starting a login")),
        "{}",
        seen.join("\n")
    );
    browse_plain(&start);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "token did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest = lines_until_eof(&rx);
    assert!(status.success(), "{}\n{}", seen.join("\n"), rest.join("\n"));
    assert!(
        rest.iter().any(|l| l.trim().starts_with("ey")),
        "{}",
        rest.join("\n")
    );
    assert_eq!(
        crate::support::session_files(home.path()).len(),
        1,
        "the login was stored"
    );
}
