//! Issue 8 hardening, tested from the attacker's side where there is an attacker: the
//! single-use start URL, token responses that would inject or mislabel, a starved listener,
//! the paste path's mix-up defence, a failing browser opener, and the plain-words errors.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::login::authority;
use crate::support::{
    authcli, browse_plain, query_param, raw_request, recorded_url, recording_browser,
    session_files, start_login, Running, TempDir, Tenant, AUDIENCE,
};

/// `authcli login` for the built-in client with the given extra arguments (no `--no-browser`).
fn login_cmd(tenant: &Tenant, home: &TempDir, extra: &[&str]) -> std::process::Command {
    let mut cmd = authcli(home.path());
    cmd.args([
        "login",
        "--issuer",
        &tenant.issuer,
        "--client-id",
        "authcli-test",
        "--audience",
        AUDIENCE,
        "--login-timeout",
        "60",
    ])
    .args(extra);
    cmd
}

/// GET without following redirects: status, Location and body.
fn get(url: &str) -> (u16, Option<String>, String) {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let resp = client.get(url).send().unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    (status, location, resp.text().unwrap_or_default())
}

// ------------------------------------------------------------------ 1. the start URL

/// Like [`get`], but a refused connection is `None`.
fn try_get(url: &str) -> Option<u16> {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    client.get(url).send().ok().map(|r| r.status().as_u16())
}

#[cfg(unix)]
#[test]
fn start_url_fetched_first_by_another_program_ends_the_login_and_its_code_is_refused() {
    let tenant = Tenant::start();
    let home = TempDir::new("race-attacker-first");
    let file = home.path().join("start-url");
    let run = Running::spawn(login_cmd(
        &tenant,
        &home,
        &["--browser-command", &recording_browser(&file)],
    ));
    let start = recorded_url(&file);
    // The start URL is not a fixed path.
    assert!(!start.ends_with("/login"), "{start}");

    // The attacker read the browser's command line and is faster than the browser: it gets
    // the authorization URL and signs in (as itself), holding a code for the victim's listener.
    let (status, authorize, _) = get(&start);
    assert_eq!(status, 302);
    let (status, callback, _) = get(&authorize.unwrap());
    assert_eq!(status, 302);
    let callback = callback.unwrap();
    assert!(callback.contains("code="), "{callback}");

    // The victim's browser arrives second: 4xx, nothing of the login, and the login ends.
    let (status, location, body) = get(&start);
    assert!((400..500).contains(&status), "second fetch got {status}");
    assert!(location.is_none());
    assert!(
        !body.contains("state") && !body.contains("authorize"),
        "{body}"
    );
    let out = run.finish();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("raced the browser"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);

    // The attacker's code finds no listener, and nothing was stored or exchanged.
    assert_ne!(try_get(&callback), Some(200));
    assert!(session_files(home.path()).is_empty());
    assert!(tenant.requests_to("/oauth/token").is_empty());
}

#[cfg(unix)]
#[test]
fn second_request_for_the_start_url_gets_4xx_without_state_and_ends_the_login() {
    let tenant = Tenant::start();
    let home = TempDir::new("race-browser-first");
    let file = home.path().join("start-url");
    let run = Running::spawn(login_cmd(
        &tenant,
        &home,
        &["--browser-command", &recording_browser(&file)],
    ));
    let start = recorded_url(&file);
    // The browser was first.
    let (status, authorize, _) = get(&start);
    assert_eq!(status, 302);
    let state = query_param(&authorize.unwrap(), "state").unwrap();
    // A local program replays the start URL it saw on the browser's command line.
    let (status, location, body) = get(&start);
    assert!((400..500).contains(&status), "replay got {status}");
    assert!(location.is_none());
    assert!(!body.contains(&state), "{body}");
    let out = run.finish();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("raced the browser"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn fixed_paths_reveal_no_state_and_do_not_end_the_login() {
    let tenant = Tenant::start();
    let home = TempDir::new("fixed-paths");
    let mut run = start_login(&tenant, &home, &[]);
    let authorize = run.start_url();
    let state = query_param(&authorize, "state").unwrap();
    let listener = authority(&authorize);
    for path in ["/login", "/", "/start", "/login?x=1"] {
        let (status, location, body) = get(&format!("http://{listener}{path}"));
        assert!((400..500).contains(&status), "{path} got {status}");
        assert!(location.is_none(), "{path} redirects");
        assert!(!body.contains(&state), "{path} shows the state");
    }
    // The printed authorization URL (for the user's own terminal) still signs in.
    let hops = browse_plain(&authorize);
    assert_eq!(hops.last().unwrap().status, 200);
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

// ------------------------------------------------------------------ 2. token responses

/// A login whose token endpoint answers 200 with `body` (the mock's `status` fault).
fn login_with_token_body(body: &str, extra: &[&str]) -> (crate::support::Finished, TempDir) {
    let tenant = Tenant::start();
    tenant.fault(json!({"endpoint": "token", "fault": "status", "status": 200, "body": body}));
    let home = TempDir::new("token-body");
    let mut run = start_login(&tenant, &home, extra);
    browse_plain(&run.start_url());
    (run.finish(), home)
}

#[test]
fn access_token_with_a_header_injection_is_refused_with_exit_6() {
    let body = json!({"access_token": "x\r\nX-Admin: 1", "token_type": "Bearer", "expires_in": 60});
    let (out, home) = login_with_token_body(&body.to_string(), &["-o", "header"]);
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "printed: {}", out.stdout);
    assert!(out.stderr.contains("`access_token`"), "{}", out.stderr);
    assert!(!out.stderr.contains("X-Admin"), "{}", out.stderr);
    assert!(session_files(home.path()).is_empty(), "stored");
}

#[test]
fn empty_access_token_is_refused_with_exit_6() {
    let body = json!({"access_token": "", "token_type": "Bearer", "expires_in": 60});
    let (out, _home) = login_with_token_body(&body.to_string(), &["-o", "token"]);
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("`access_token` is empty"),
        "{}",
        out.stderr
    );
}

#[test]
fn non_bearer_token_type_is_refused_with_exit_6() {
    for kind in ["mac", "DPoP"] {
        let body = json!({"access_token": "abc", "token_type": kind, "expires_in": 60});
        let (out, home) = login_with_token_body(&body.to_string(), &["-o", "token"]);
        assert_eq!(out.code, Some(6), "{kind}: {}", out.stderr);
        assert!(out.stdout.is_empty());
        assert!(out.stderr.contains("`token_type`"), "{}", out.stderr);
        assert!(session_files(home.path()).is_empty());
    }
}

#[test]
fn lowercase_bearer_and_digit_string_expires_in_are_accepted() {
    let body = json!({"access_token": "opaque-Token_1.~+/=", "token_type": "bearer", "expires_in": "3600"});
    let (out, _home) = login_with_token_body(&body.to_string(), &["-o", "json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let tokens: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["access_token"], "opaque-Token_1.~+/=");
}

#[test]
fn odd_expires_in_is_refused_with_exit_6() {
    for odd in [json!("1h"), json!(-5), json!(1.5), json!(true)] {
        let body = json!({"access_token": "abc", "token_type": "Bearer", "expires_in": odd});
        let (out, _home) = login_with_token_body(&body.to_string(), &["-o", "token"]);
        assert_eq!(out.code, Some(6), "{odd}: {}", out.stderr);
        assert!(out.stderr.contains("expires_in"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
}

// ------------------------------------------------------------------ 3. listener starvation

#[test]
fn two_hundred_idle_connections_do_not_starve_the_callback() {
    let tenant = Tenant::start();
    let home = TempDir::new("starve-idle");
    let mut run = start_login(&tenant, &home, &[]);
    let authorize = run.start_url();
    let listener = authority(&authorize);
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&listener).unwrap())
        .collect();
    // A well-formed callback arrives while they are all held open.
    let hops = browse_plain(&authorize);
    assert_eq!(hops.last().unwrap().status, 200, "{hops:#?}");
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    drop(idle);
}

#[test]
fn reconnecting_slowloris_sockets_do_not_starve_the_callback() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let tenant = Tenant::start();
    let home = TempDir::new("starve-slowloris");
    let mut run = start_login(&tenant, &home, &[]);
    let authorize = run.start_url();
    let listener = authority(&authorize);
    let stop = Arc::new(AtomicBool::new(false));
    let attacker = {
        let stop = stop.clone();
        let listener = listener.clone();
        std::thread::spawn(move || {
            let open = |addr: &str| -> Option<TcpStream> {
                let mut s = TcpStream::connect(addr).ok()?;
                s.set_read_timeout(Some(Duration::from_millis(20))).ok()?;
                // Headers that never end.
                let _ = write!(s, "GET /callback?state=x HTTP/1.1\r\nHost: {addr}\r\nX-A: ");
                Some(s)
            };
            let mut socks: Vec<Option<TcpStream>> = (0..16).map(|_| open(&listener)).collect();
            while !stop.load(Ordering::Relaxed) {
                for slot in socks.iter_mut() {
                    let closed = match slot {
                        Some(s) => {
                            let mut buf = [0u8; 64];
                            // One more byte of a header line that never ends.
                            s.write_all(b"a").is_err()
                                || match s.read(&mut buf) {
                                    // Closed, or answered (and about to be closed).
                                    Ok(_) => true,
                                    Err(e) => !matches!(
                                        e.kind(),
                                        std::io::ErrorKind::WouldBlock
                                            | std::io::ErrorKind::TimedOut
                                    ),
                                }
                        }
                        None => true,
                    };
                    if closed {
                        *slot = open(&listener);
                    }
                }
            }
        })
    };
    let hops = browse_plain(&authorize);
    stop.store(true, Ordering::Relaxed);
    attacker.join().unwrap();
    assert_eq!(hops.last().unwrap().status, 200, "{hops:#?}");
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn a_flood_of_stray_requests_prints_a_bounded_number_of_warnings() {
    let tenant = Tenant::start();
    let home = TempDir::new("stray-flood");
    let mut run = start_login(&tenant, &home, &[]);
    let authorize = run.start_url();
    let listener = authority(&authorize);
    for i in 0..50 {
        let status = raw_request(
            &listener,
            &format!("GET /callback?code=x&state=forged{i} HTTP/1.1\r\nHost: {listener}\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(status, 400);
    }
    let hops = browse_plain(&authorize);
    assert_eq!(hops.last().unwrap().status, 200);
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // Three warnings in full, one line saying the rest are only counted, then a count at each
    // power of ten (10; 50 is not one): five lines for 50 requests.
    let each = out.stderr.matches("wrong or missing state").count();
    assert_eq!(each, 3, "{each} warnings:\n{}", out.stderr);
    assert_eq!(
        out.stderr
            .matches("more stray requests are arriving")
            .count(),
        1,
        "{}",
        out.stderr
    );
    let counts: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("stray requests ignored so far"))
        .collect();
    assert_eq!(counts.len(), 1, "{}", out.stderr);
    assert!(
        counts[0].contains("10 stray requests ignored so far"),
        "{}",
        out.stderr
    );
}

/// The callback port cannot be taken over while the login waits: a second socket that asks the
/// OS to share the address (SO_REUSEADDR, and SO_REUSEPORT on Unix) is refused. On Windows this
/// is what the listener's SO_EXCLUSIVEADDRUSE buys; on Unix std never opts in to sharing.
#[test]
fn a_second_socket_cannot_take_over_the_callback_port() {
    use socket2::{Domain, Protocol, Socket, Type};
    let tenant = Tenant::start();
    let home = TempDir::new("port-takeover");
    let mut run = start_login(&tenant, &home, &[]);
    let start = run.start_url();
    let addr: std::net::SocketAddr = authority(&start).parse().unwrap();
    let thief = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).unwrap();
    thief.set_reuse_address(true).unwrap();
    #[cfg(unix)]
    thief.set_reuse_port(true).unwrap();
    let err = thief
        .bind(&addr.into())
        .expect_err("a second socket bound the callback port");
    // Windows answers WSAEACCES for an exclusive address.
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied
        ),
        "{err}"
    );
    drop(thief);
    // The login still completes on its own listener.
    assert_eq!(browse_plain(&start).last().unwrap().status, 200);
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

// ------------------------------------------------------------------ 4. the paste path

#[cfg(target_os = "linux")]
#[test]
fn pasted_url_with_a_repeated_state_is_refused_and_one_from_another_issuer_ends_the_login() {
    use std::io::{BufRead, BufReader};
    let tenant = Tenant::start();
    let home = TempDir::new("paste-mixup");
    let Some(mut child) =
        crate::login::on_a_terminal(&tenant, &home, "login --login-timeout 30 -o token")
    else {
        return;
    };
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<String> = Vec::new();
    let wait_for = |needle: &str, seen: &mut Vec<String>| -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
        }
        panic!("no line with {needle:?}:\n{}", seen.join("\n"));
    };
    let line = wait_for("redirect_uri=", &mut seen);
    let authorize = line
        .split_whitespace()
        .find(|w| w.contains("redirect_uri="))
        .unwrap()
        .to_string();
    wait_for("paste the URL", &mut seen);
    // Where the browser (on another machine) ended up; the provider advertises RFC 9207.
    let (_, callback, _) = get(&authorize);
    let callback = callback.unwrap();
    let state = query_param(&callback, "state").unwrap();
    assert!(query_param(&callback, "iss").is_some(), "{callback}");

    // A repeated parameter is ambiguous: refused, and the prompt asks again.
    writeln!(stdin, "{callback}&state={state}").unwrap();
    wait_for("repeats the `state` parameter", &mut seen);

    // Right state, another issuer (a mix-up): the login ends, as at the listener.
    let iss = query_param(&callback, "iss").unwrap();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let forged = callback.replace(&enc(&iss), &enc("https://evil.example/"));
    assert_ne!(forged, callback);
    writeln!(stdin, "{forged}").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "login did not end");
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = rx.try_iter().collect();
    let all = format!("{}\n{}", seen.join("\n"), rest.join("\n"));
    assert_eq!(status.code(), Some(3), "{all}");
    assert!(
        all.contains("evil.example") && all.contains("RFC 9207"),
        "{all}"
    );
    assert!(
        tenant.requests_to("/oauth/token").is_empty(),
        "code exchanged"
    );
}

// ------------------------------------------------------------------ 5. smaller

#[test]
fn trace_never_prints_a_non_json_body() {
    // A GitHub-style form-encoded token response: -vv must not print it.
    let (out, _home) = login_with_token_body(
        "access_token=FORMSECRET42&token_type=bearer&scope=x",
        &["-vv"],
    );
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(!out.stderr.contains("FORMSECRET42"), "{}", out.stderr);
    assert!(out.stderr.contains("not shown"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn config_file_writable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let home = TempDir::new("config-mode");
    let path = home.path().join("config.toml");
    std::fs::write(&path, "[profiles.default]\nclient_id = \"x\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--no-browser"]);
    let out = crate::support::run(cmd);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("chmod go-w"), "{}", out.stderr);
    assert!(out.stderr.contains("all users"), "{}", out.stderr);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--no-browser"]);
    let out = crate::support::run(cmd);
    assert!(!out.stderr.contains("chmod"), "{}", out.stderr);
}

#[test]
fn demo_ignores_proxy_variables() {
    let home = TempDir::new("demo-proxy");
    let mut cmd = authcli(home.path());
    // A proxy that does not exist: anything sent through it fails.
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "all_proxy",
    ] {
        cmd.env(var, "http://127.0.0.1:9");
    }
    cmd.args(["demo", "-o", "token"]);
    let out = crate::support::run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim().split('.').count(), 3, "{}", out.stdout);
}

// ------------------------------------------------------------------ 6. the browser opener

#[cfg(unix)]
#[test]
fn browser_command_false_ends_the_login_at_once_with_exit_1() {
    let tenant = Tenant::start();
    let home = TempDir::new("browser-false");
    let out = crate::support::run(login_cmd(&tenant, &home, &["--browser-command", "false"]));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the browser command `false` failed (exit status 1)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--no-browser"), "{}", out.stderr);
    assert!(tenant.requests_to("/oauth/token").is_empty());
}

#[cfg(unix)]
#[test]
fn curl_as_browser_with_a_wrong_client_id_ends_the_login_at_once() {
    if crate::tools::curl("harden::curl_as_browser_with_a_wrong_client_id_ends_the_login_at_once")
        .is_none()
    {
        return;
    }
    let tenant = Tenant::start();
    let home = TempDir::new("browser-curl");
    let mut cmd = authcli(home.path());
    cmd.args([
        "login",
        "--issuer",
        &tenant.issuer,
        "--client-id",
        "no-such-client",
        "--browser-command",
        "curl -fsSL -o /dev/null",
    ]);
    let out = crate::support::run(cmd);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("`curl` failed (exit status 22)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--client-id"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn failing_system_opener_is_one_sentence_and_ends_a_headless_login() {
    use std::os::unix::fs::PermissionsExt;
    let tenant = Tenant::start();
    let home = TempDir::new("browser-xdg");
    let bin = home.path().join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let opener = bin.join("xdg-open");
    // What xdg-open does with no browser configured: exit 3.
    std::fs::write(&opener, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = login_cmd(&tenant, &home, &[]);
    cmd.env("PATH", &bin);
    let out = crate::support::run(cmd);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("no browser could be opened"),
        "{}",
        out.stderr
    );
    for raw in ["Launcher", "ExitStatus", "unix_wait_status"] {
        assert!(!out.stderr.contains(raw), "{}", out.stderr);
    }
}

// ------------------------------------------------------------------ 7. plain words

#[test]
fn issuer_that_is_not_a_url_is_one_plain_sentence() {
    let home = TempDir::new("issuer-words");
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--issuer", "not a url", "--client-id", "x"]);
    let out = crate::support::run(cmd);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(!out.stderr.contains("international"), "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot contain spaces"),
        "{}",
        out.stderr
    );
}

#[test]
fn connection_refused_is_one_plain_sentence_and_the_cause_comes_with_v() {
    let home = TempDir::new("refused-words");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let issuer = format!("http://127.0.0.1:{closed}/");
    let mut cmd = authcli(home.path());
    cmd.args([
        "login",
        "--issuer",
        &issuer,
        "--client-id",
        "x",
        "--no-browser",
    ]);
    let out = crate::support::run(cmd);
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing is listening"),
        "{}",
        out.stderr
    );
    for raw in ["os error", "tcp connect", "client error (Connect)"] {
        assert!(!out.stderr.contains(raw), "{}", out.stderr);
    }
    let mut cmd = authcli(home.path());
    cmd.args([
        "login",
        "--issuer",
        &issuer,
        "--client-id",
        "x",
        "--no-browser",
        "-v",
    ]);
    let out = crate::support::run(cmd);
    assert!(out.stderr.contains("cause:"), "{}", out.stderr);
}

#[test]
fn https_to_a_plain_http_port_says_so() {
    let tenant = Tenant::start();
    let home = TempDir::new("not-tls-words");
    let issuer = tenant.issuer.replace("http://", "https://");
    let mut cmd = authcli(home.path());
    cmd.args([
        "login",
        "--issuer",
        &issuer,
        "--client-id",
        "x",
        "--no-browser",
    ]);
    let out = crate::support::run(cmd);
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(out.stderr.contains("does not speak TLS"), "{}", out.stderr);
    assert!(!out.stderr.contains("InvalidContentType"), "{}", out.stderr);
}

#[test]
fn a_proxy_html_page_is_named_on_one_line() {
    let tenant = Tenant::start();
    tenant.fault(json!({"endpoint": "token", "fault": "html", "status": 502}));
    let home = TempDir::new("html-words");
    let mut run = start_login(&tenant, &home, &[]);
    browse_plain(&run.start_url());
    let out = run.finish();
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(error.contains("\"502 Bad Gateway\""), "{error}");
    assert!(!out.stderr.contains('<'), "{}", out.stderr);
}
