//! Promises of SPEC §3–§8 that only the binary can show: output formats, option precedence,
//! endpoint overrides, discovery fallbacks, `--min-ttl`, `exec`, session choice, revocation
//! failure, `-q`, and the mock tenant's own command-line options.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    authcli, browse_plain, edit_session, now, run, session_files, start_login, Finished, Running,
    TempDir, Tenant, AUDIENCE,
};

fn login_ok(tenant: &Tenant, home: &TempDir, extra: &[&str]) -> Finished {
    let mut running = start_login(tenant, home, extra);
    browse_plain(&running.start_url());
    let out = running.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out
}

fn authcli_run(home: &TempDir, args: &[&str]) -> Finished {
    let mut cmd = authcli(home.path());
    cmd.args(args);
    run(cmd)
}

fn refresh_calls(tenant: &Tenant) -> usize {
    tenant
        .requests_to("/oauth/token")
        .iter()
        .filter(|r| r["params"]["grant_type"] == "refresh_token")
        .count()
}

/// An HTTP server on 127.0.0.1 (listener held for its life, so no port race) that records
/// each request line and gives every request the same raw `answer`.
struct Canned {
    base: String,
    seen: mpsc::Receiver<String>,
}

impl Canned {
    fn start(answer: String) -> Canned {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, seen) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                // Read the headers and the body so the client is not reset mid-send.
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                if tx.send(line.trim().to_string()).is_err() {
                    return;
                }
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Canned { base, seen }
    }

    fn lines(&self) -> Vec<String> {
        self.seen.try_iter().collect()
    }
}

#[test]
fn output_exec_credential_is_a_kubectl_exec_credential() {
    let tenant = Tenant::start();
    let home = TempDir::new("out-execcred");
    let out = login_ok(&tenant, &home, &["-o", "exec-credential"]);
    let cred: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(cred["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(cred["kind"], "ExecCredential");
    let token = cred["status"]["token"].as_str().expect("status.token");
    assert_eq!(token.split('.').count(), 3, "{token}");
    let expiry = cred["status"]["expirationTimestamp"]
        .as_str()
        .expect("status.expirationTimestamp");
    assert!(expiry.ends_with('Z') && expiry.contains('T'), "{expiry}");
    // It is the stored session's token.
    let cached = authcli_run(&home, &["token"]);
    assert_eq!(cached.stdout.trim(), token);
}

#[test]
fn output_id_token_prints_the_verified_id_token_alone() {
    let tenant = Tenant::start();
    let home = TempDir::new("out-idtoken");
    let out = login_ok(&tenant, &home, &["-o", "id-token"]);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let id = out.stdout.trim();
    let (header, claims) = authcli::jwt::decode_unverified("id_token", id).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["aud"], "authcli-test");
    assert_eq!(claims["sub"], "auth0|alice");
    assert_eq!(claims["iss"], tenant.issuer.as_str());
    // Not the access token.
    let at = authcli_run(&home, &["token"]);
    assert_ne!(at.stdout.trim(), id);
}

#[test]
fn logout_revoke_failure_deletes_the_session_warns_and_fails() {
    let tenant = Tenant::start();
    let home = TempDir::new("logout-revoke-fail");
    login_ok(&tenant, &home, &[]);
    tenant.fault(json!({"endpoint": "revoke", "fault": "status", "status": 503}));
    let out = authcli_run(&home, &["logout", "--revoke"]);
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("could not revoke"), "{}", out.stderr);
    assert!(out.stderr.contains("deleted anyway"), "{}", out.stderr);
    assert_eq!(tenant.requests_to("/oauth/revoke").len(), 1);
    assert!(session_files(home.path()).is_empty(), "session kept");
    assert_eq!(authcli_run(&home, &["token"]).code, Some(4));
}

#[test]
fn the_token_request_never_follows_a_redirect() {
    let tenant = Tenant::start();
    // A token URL that redirects to the real token endpoint: following it would re-send the
    // code and verifier to wherever the redirect points.
    let redirector = Canned::start(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}/oauth/token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        tenant.base()
    ));
    let home = TempDir::new("token-redirect");
    let token_url = format!("{}/token", redirector.base);
    let mut running = start_login(&tenant, &home, &["--token-url", &token_url]);
    browse_plain(&running.start_url());
    let out = running.finish();
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert_eq!(redirector.lines(), vec!["POST /token HTTP/1.1".to_string()]);
    assert!(
        tenant.requests_to("/oauth/token").is_empty(),
        "the redirect was followed"
    );
    assert!(session_files(home.path()).is_empty());
}

#[test]
fn authorize_url_override_is_where_the_browser_goes() {
    let tenant = Tenant::start();
    let home = TempDir::new("authorize-url");
    // The same mock, named differently: only the override can produce this URL.
    let port = tenant.base().rsplit(':').next().unwrap().to_string();
    let authorize_url = format!("http://localhost:{port}/authorize");
    let mut running = start_login(&tenant, &home, &["--authorize-url", &authorize_url]);
    let hops = browse_plain(&running.start_url());
    let out = running.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // The URL printed for the user (and fetched here) is the overridden endpoint.
    assert!(
        hops[0].url.starts_with(&format!("{authorize_url}?")),
        "{hops:#?}"
    );
}

#[test]
fn precedence_is_flag_then_environment_then_profile() {
    let tenant = Tenant::start();
    let home = TempDir::new("precedence");
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[profiles.default]\nissuer = \"{}\"\nclient_id = \"from-profile\"\naudience = \"https://profile.example.test\"\n",
            tenant.issuer
        ),
    )
    .unwrap();
    let client_ids = |tenant: &Tenant| -> Vec<Value> {
        tenant
            .requests_to("/authorize")
            .iter()
            .map(|r| r["query"]["client_id"].clone())
            .collect()
    };
    let audiences = |tenant: &Tenant| -> Vec<Value> {
        tenant
            .requests_to("/authorize")
            .iter()
            .map(|r| r["query"]["audience"].clone())
            .collect()
    };

    // The environment beats the profile.
    let mut cmd = authcli(home.path());
    cmd.env("AUTHCLI_CLIENT_ID", "authcli-test")
        .env("AUTHCLI_AUDIENCE", AUDIENCE)
        .args(["login", "--no-browser"]);
    let mut running = Running::spawn(cmd);
    browse_plain(&running.start_url());
    assert_eq!(running.finish().code, Some(0));
    assert_eq!(client_ids(&tenant), vec![json!("authcli-test")]);
    assert_eq!(audiences(&tenant), vec![json!(AUDIENCE)]);
    tenant.clear_requests();

    // A flag beats both.
    let mut cmd = authcli(home.path());
    cmd.env("AUTHCLI_CLIENT_ID", "from-env")
        .env("AUTHCLI_AUDIENCE", "https://env.example.test")
        .args([
            "login",
            "--no-browser",
            "--client-id",
            "authcli-test",
            "--audience",
            AUDIENCE,
        ]);
    let mut running = Running::spawn(cmd);
    browse_plain(&running.start_url());
    assert_eq!(running.finish().code, Some(0));
    assert_eq!(client_ids(&tenant), vec![json!("authcli-test")]);
    assert_eq!(audiences(&tenant), vec![json!(AUDIENCE)]);
}

#[test]
fn discovery_falls_back_to_rfc8414() {
    let tenant = Tenant::start_with(&["--flavor", "rfc"]);
    tenant.fault(json!({"endpoint": "discovery", "fault": "status", "status": 404}));
    let home = TempDir::new("discovery-8414");
    login_ok(&tenant, &home, &[]);
    let paths: Vec<(Value, Value)> = tenant
        .requests()
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap_or("")
                .starts_with("/.well-known/o")
        })
        .map(|r| (r["path"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(
        paths,
        vec![
            (json!("/.well-known/openid-configuration"), json!(404)),
            (json!("/.well-known/oauth-authorization-server"), json!(200)),
        ]
    );
}

#[test]
fn without_discovery_auth0_paths_are_used() {
    let tenant = Tenant::start();
    tenant.fault(json!({"endpoint": "discovery", "fault": "status", "status": 404, "every": true}));
    let home = TempDir::new("discovery-auth0");
    login_ok(&tenant, &home, &[]);
    assert_eq!(tenant.requests_to("/authorize").len(), 1);
    assert_eq!(tenant.requests_to("/oauth/token").len(), 1);
    assert_eq!(tenant.requests_to("/.well-known/jwks.json").len(), 1);
    assert!(tenant
        .requests_to("/.well-known/openid-configuration")
        .iter()
        .all(|r| r["status"] == 404));
}

#[test]
fn min_ttl_decides_between_cache_and_refresh() {
    let tenant = Tenant::start();
    let home = TempDir::new("min-ttl");
    login_ok(&tenant, &home, &[]);
    let file = session_files(home.path())[0].clone();
    // Ten minutes left.
    edit_session(&file, |s| s["expires_at"] = json!(now() + 600));
    let cached = authcli_run(&home, &["token", "--min-ttl", "300"]);
    assert_eq!(cached.code, Some(0), "{}", cached.stderr);
    assert_eq!(refresh_calls(&tenant), 0, "refreshed with 600 s left");
    let refreshed = authcli_run(&home, &["token", "--min-ttl", "900"]);
    assert_eq!(refreshed.code, Some(0), "{}", refreshed.stderr);
    assert_eq!(
        refresh_calls(&tenant),
        1,
        "not refreshed with 600 s < 900 s left"
    );
    assert_ne!(refreshed.stdout, cached.stdout);
}

#[cfg(unix)]
#[test]
fn exec_refreshes_an_expired_session_before_the_command_runs() {
    let tenant = Tenant::start();
    let home = TempDir::new("exec-refresh");
    let first: Value = serde_json::from_str(&login_ok(&tenant, &home, &[]).stdout).unwrap();
    let file = session_files(home.path())[0].clone();
    edit_session(&file, |s| s["expires_at"] = json!(now() - 10));
    let out = authcli_run(
        &home,
        &[
            "exec",
            "--",
            "sh",
            "-c",
            "printf %s \"$AUTHCLI_ACCESS_TOKEN\"",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(refresh_calls(&tenant), 1);
    assert_ne!(out.stdout, first["access_token"].as_str().unwrap());
    // The child got the refreshed token, the one now stored.
    assert_eq!(authcli_run(&home, &["token"]).stdout.trim(), out.stdout);
}

#[test]
fn token_picks_the_session_its_options_select() {
    let tenant = Tenant::start();
    let home = TempDir::new("token-choice");
    let api: Value = serde_json::from_str(&login_ok(&tenant, &home, &[]).stdout).unwrap();
    let mut running = {
        let mut cmd = authcli(home.path());
        cmd.args([
            "login",
            "--issuer",
            &tenant.issuer,
            "--client-id",
            "authcli-test",
            "--no-browser",
            "--scope",
            "openid offline_access",
        ]);
        Running::spawn(cmd)
    };
    browse_plain(&running.start_url());
    let plain = running.finish();
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    let plain: Value = serde_json::from_str(&plain.stdout).unwrap();
    assert_eq!(session_files(home.path()).len(), 2);

    // No selection: the profile's current session, the last login.
    let out = authcli_run(&home, &["token"]);
    assert_eq!(out.stdout.trim(), plain["access_token"].as_str().unwrap());
    // --audience selects the API session.
    let out = authcli_run(&home, &["token", "--audience", AUDIENCE]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), api["access_token"].as_str().unwrap());
    // A selection nothing matches is "login required", not another session's token.
    let out = authcli_run(
        &home,
        &["token", "--audience", "https://nothing.example.test"],
    );
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("https://nothing.example.test"),
        "{}",
        out.stderr
    );

    // A login at a second provider becomes current; --issuer still reaches the first one's.
    let other = Tenant::start();
    let elsewhere: Value = serde_json::from_str(&login_ok(&other, &home, &[]).stdout).unwrap();
    let token_of = |v: &Value| v["access_token"].as_str().unwrap().to_string();
    let out = authcli_run(&home, &["token", "--audience", AUDIENCE]);
    assert_eq!(out.stdout.trim(), token_of(&elsewhere));
    let out = authcli_run(
        &home,
        &["token", "--issuer", &tenant.issuer, "--audience", AUDIENCE],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), token_of(&api));
    // --scope picks the session with exactly those scopes.
    let out = authcli_run(
        &home,
        &[
            "token",
            "--issuer",
            &tenant.issuer,
            "--scope",
            "openid offline_access",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), token_of(&plain));
    // A client id no session has is "login required" too.
    let out = authcli_run(&home, &["token", "--client-id", "another-client"]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(out.stdout.is_empty());

    // When the current session does not fit, the most recent one that does: the first
    // provider's two sessions a minute apart, one way and then the other.
    let first_provider = |newest_has_audience: bool| {
        for file in session_files(home.path()) {
            edit_session(&file, |s| {
                if s["key"]["issuer"] == json!(tenant.issuer) {
                    let newest = s["key"]["audience"].is_null() != newest_has_audience;
                    s["obtained_at"] = json!(now() - if newest { 60 } else { 120 });
                }
            });
        }
        authcli_run(&home, &["token", "--issuer", &tenant.issuer])
    };
    let out = first_provider(false);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), token_of(&plain));
    let out = first_provider(true);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), token_of(&api));
}

#[test]
fn quiet_silences_information_but_not_errors() {
    let tenant = Tenant::start();
    let home = TempDir::new("quiet");
    login_ok(&tenant, &home, &[]);
    let loud = authcli_run(&home, &["logout"]);
    assert_eq!(loud.code, Some(0));
    assert!(loud.stderr.contains("Logged out"), "{}", loud.stderr);
    login_ok(&tenant, &home, &[]);
    let quiet = authcli_run(&home, &["-q", "logout"]);
    assert_eq!(quiet.code, Some(0), "{}", quiet.stderr);
    assert_eq!(quiet.stderr, "");
    assert!(session_files(home.path()).is_empty());
    // An error is still said.
    let err = authcli_run(&home, &["-q", "token"]);
    assert_eq!(err.code, Some(4));
    assert!(err.stderr.contains("authcli login"), "{:?}", err.stderr);
}

#[test]
fn mock_fault_given_on_the_command_line_applies() {
    let tenant =
        Tenant::start_with(&["--fault", r#"{"endpoint":"token","fault":"token_expired"}"#]);
    let home = TempDir::new("mock-fault-flag");
    let mut running = start_login(&tenant, &home, &[]);
    browse_plain(&running.start_url());
    let out = running.finish();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("expired (exp)"), "{}", out.stderr);
    // One-shot, as given: the next login works.
    login_ok(&tenant, &home, &[]);
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn client_credentials(tenant: &Tenant, secret: &str) -> reqwest::blocking::Response {
    http()
        .post(format!("{}/oauth/token", tenant.base()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "authcli-m2m"),
            ("client_secret", secret),
            ("audience", AUDIENCE),
        ])
        .send()
        .unwrap()
}

#[test]
fn mock_seed_makes_keys_and_tokens_repeat() {
    let claims_of = |seed: &str| {
        let tenant = Tenant::start_with(&["--seed", seed]);
        let jwks: Value = http()
            .get(format!("{}/.well-known/jwks.json", tenant.base()))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let body: Value = client_credentials(&tenant, "authcli-m2m-secret")
            .json()
            .unwrap();
        let at = body["access_token"].as_str().unwrap().to_string();
        let (header, mut claims) = authcli::jwt::decode_unverified("t", &at).unwrap();
        // Times come from the wall clock; everything else from the seed.
        let obj = claims.as_object_mut().unwrap();
        obj.remove("iat");
        obj.remove("exp");
        let port = tenant.base().rsplit(':').next().unwrap().to_string();
        let unported = |v: Value| Value::from(v.to_string().replace(&port, "PORT"));
        (jwks, header, unported(claims))
    };
    let a = claims_of("7");
    let b = claims_of("7");
    assert_eq!(a, b, "the same seed gave different keys or tokens");
    let c = claims_of("8");
    assert_ne!(a.0, c.0, "another seed gave the same keys");
}

#[test]
fn mock_rfc_flavor_statuses() {
    let rfc = Tenant::start_with(&["--flavor", "rfc"]);
    let auth0 = Tenant::start();
    // Bad client secret: 401 invalid_client (RFC 6749 §5.2), Auth0 says 401 access_denied.
    let resp = client_credentials(&rfc, "wrong");
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "invalid_client");
    let resp = client_credentials(&auth0, "wrong");
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "access_denied");

    // A device code polled before approval: 400 in RFC 8628, 403 at Auth0.
    let pending = |tenant: &Tenant| {
        let device: Value = http()
            .post(format!("{}/oauth/device/code", tenant.base()))
            .form(&[("client_id", "authcli-test"), ("scope", "openid")])
            .send()
            .unwrap()
            .json()
            .unwrap();
        let resp = http()
            .post(format!("{}/oauth/token", tenant.base()))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device["device_code"].as_str().unwrap()),
                ("client_id", "authcli-test"),
            ])
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().unwrap()["error"].clone())
    };
    assert_eq!(pending(&rfc), (400, json!("authorization_pending")));
    assert_eq!(pending(&auth0), (403, json!("authorization_pending")));
}

#[test]
fn demo_logs_in_against_its_own_mock_and_stores_nothing() {
    let home = TempDir::new("demo");
    let out = authcli_run(&home, &["demo", "--no-browser"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let tokens: Value = serde_json::from_str(&out.stdout).expect("the tokens as JSON");
    let (_, claims) =
        authcli::jwt::decode_unverified("id_token", tokens["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["sub"], "auth0|alice");
    assert!(
        out.stderr.contains("signed in as alice@example.test"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("Signing in without a browser (authcli follows the sign-in itself)"),
        "{}",
        out.stderr
    );
    // Nothing secret on stderr, and no session left behind.
    for secret in ["access_token", "id_token", "refresh_token"] {
        if let Some(value) = tokens[secret].as_str() {
            assert!(!out.stderr.contains(value), "{secret} on stderr");
        }
    }
    assert!(session_files(home.path()).is_empty());
}

#[test]
fn not_logged_in_names_the_profile_in_its_login_hint() {
    let home = TempDir::new("hint-profile");
    std::fs::write(
        home.path().join("config.toml"),
        "[profiles.work]\nissuer = \"https://work.example.test/\"\nclient_id = \"work-cli\"\n",
    )
    .unwrap();
    let out = authcli_run(&home, &["token", "--profile", "work"]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "authcli login --issuer https://work.example.test/ --client-id work-cli --profile work"
        ),
        "{}",
        out.stderr
    );
    let out = authcli_run(&home, &["token"]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(!out.stderr.contains("--profile"), "{}", out.stderr);
}

#[test]
fn refresh_uses_the_stored_token_endpoint_unless_told_otherwise() {
    // A session without `openid` needs no JWKS, so its refresh goes straight to the token
    // endpoint stored at login: no discovery request.
    let tenant = Tenant::start();
    let home = TempDir::new("refresh-endpoints");
    login_ok(&tenant, &home, &["--scope", "offline_access"]);
    let discoveries = |t: &Tenant| t.requests_to("/.well-known/openid-configuration").len();
    let before = discoveries(&tenant);
    let out = authcli_run(&home, &["refresh"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(refresh_calls(&tenant), 1);
    assert_eq!(
        discoveries(&tenant),
        before,
        "refresh rediscovered the endpoints"
    );

    // --token-url wins over the stored endpoint: the refresh goes to the one named (another
    // tenant here, which does not know the token: exit 3).
    let other = Tenant::start();
    let token_url = format!("{}oauth/token", other.issuer);
    let out = authcli_run(&home, &["refresh", "--token-url", &token_url]);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert_eq!(refresh_calls(&other), 1);
    assert_eq!(refresh_calls(&tenant), 1);
}
