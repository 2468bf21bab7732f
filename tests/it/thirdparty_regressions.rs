//! Regressions found by running every grant against a third-party provider on loopback
//! (panva's `oidc-provider` 9.x, issue 7), reproduced against the mock tenant:
//! - `authcli verify` of the session's token compared `iss` with the session's normalised
//!   issuer (`http://host:port/`), so every provider without a trailing slash failed it;
//! - `--param` (e.g. RFC 8707 `resource`, which oidc-provider needs to issue a JWT access
//!   token) was silently dropped by the client credentials and device grants, and a renewal
//!   without the flag asked for another audience.

use std::path::Path;

use serde_json::Value;

use crate::support::{authcli, browse_plain, run, start_login, TempDir, Tenant, AUDIENCE};

const M2M: &str = "authcli-m2m";
const M2M_SECRET: &str = "authcli-m2m-secret";
const RESOURCE: &str = "https://resource.example.test/v1";

/// With no token argument and stdin a terminal (util-linux `script`), `verify` checks the
/// current session's access token; the provider spells its issuer without a trailing slash,
/// as oidc-provider, Keycloak and the mock's RFC flavour do.
#[cfg(target_os = "linux")]
#[test]
fn verify_of_the_session_token_accepts_an_issuer_without_trailing_slash() {
    let test = "thirdparty_regressions::verify_of_the_session_token_accepts_an_issuer_without_trailing_slash";
    let Some(script_bin) = crate::tools::script(test) else {
        return;
    };
    let tenant = Tenant::start_with(&["--flavor", "rfc"]);
    assert!(!tenant.issuer.ends_with('/'), "{}", tenant.issuer);
    let home = TempDir::new("tp-verify-noslash");
    let mut running = start_login(&tenant, &home, &[]);
    browse_plain(&running.start_url());
    let login = running.finish();
    assert_eq!(login.code, Some(0), "{}", login.stderr);
    let line = format!(
        "{} verify --scope read:events -o json",
        crate::support::bin().display()
    );
    let mut script = std::process::Command::new(&script_bin);
    script
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("AUTHCLI_HOME", home.path())
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::null());
    let out = run(script);
    assert_eq!(out.code, Some(0), "stdout:\n{}", out.stdout);
    let issuer_claim = format!("\"iss\": \"{}\"", tenant.issuer);
    assert!(
        out.stdout.contains("current session")
            && out.stdout.contains(&issuer_claim)
            && out.stdout.contains(", iss, aud, scopes checked"),
        "{}",
        out.stdout
    );
}

/// The issuer check is still made: a token from another issuer fails it (exit 7), even
/// though the session's issuer is taken from the provider's metadata.
#[cfg(target_os = "linux")]
#[test]
fn verify_of_the_session_token_still_refuses_another_issuer() {
    let test = "thirdparty_regressions::verify_of_the_session_token_still_refuses_another_issuer";
    let Some(script_bin) = crate::tools::script(test) else {
        return;
    };
    let tenant = Tenant::start_with(&["--flavor", "rfc"]);
    let home = TempDir::new("tp-verify-wrongiss");
    let mut running = start_login(&tenant, &home, &[]);
    browse_plain(&running.start_url());
    assert_eq!(running.finish().code, Some(0));
    // The metadata now names another issuer: the check compares with what the provider says,
    // and discovery's mix-up defence refuses the document before any key is fetched.
    tenant.fault(serde_json::json!({"endpoint": "discovery", "fault": "wrong_issuer"}));
    let line = format!("{} verify -o json", crate::support::bin().display());
    let mut script = std::process::Command::new(&script_bin);
    script
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("AUTHCLI_HOME", home.path())
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::null());
    let out = run(script);
    assert_ne!(out.code, Some(0), "stdout:\n{}", out.stdout);
    assert!(out.stdout.contains("issuer mismatch"), "{}", out.stdout);
}

fn params_of(tenant: &Tenant, path: &str) -> Vec<Value> {
    tenant
        .requests_to(path)
        .into_iter()
        .map(|r| r["params"].clone())
        .collect()
}

#[test]
fn client_credentials_sends_param_on_the_token_request() {
    let tenant = Tenant::start();
    let home = TempDir::new("tp-cc-param");
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--client-credentials", "--issuer", &tenant.issuer])
        .args(["--client-id", M2M, "--audience", AUDIENCE])
        .args(["--param", &format!("resource={RESOURCE}")])
        .env("AUTHCLI_CLIENT_SECRET", M2M_SECRET);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let seen = params_of(&tenant, "/oauth/token");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["grant_type"], "client_credentials");
    assert_eq!(seen[0]["resource"], RESOURCE, "{}", seen[0]);
    assert_eq!(seen[0]["audience"], AUDIENCE, "{}", seen[0]);

    // Renewal by running the grant again asks for the same resource, without the flag: the
    // session remembers its --param, so `authcli token` never silently returns a token for
    // another audience (oidc-provider: an opaque one).
    let mut renew = authcli(home.path());
    renew
        .args(["token", "--force-refresh", "-o", "token"])
        .env("AUTHCLI_CLIENT_SECRET", M2M_SECRET);
    let out = run(renew);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let seen = params_of(&tenant, "/oauth/token");
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1]["grant_type"], "client_credentials");
    assert_eq!(seen[1]["resource"], RESOURCE, "{}", seen[1]);
}

#[test]
fn device_grant_sends_param_on_the_device_authorization_request() {
    let dir = TempDir::new("tp-device-config");
    let config = dir.path().join("tenant.toml");
    std::fs::write(
        &config,
        "[device]\nexpires_in_secs = 900\ninterval_secs = 1\nauto_approve_after_polls = 0\n",
    )
    .unwrap();
    let tenant = Tenant::start_with(&["--config", config.to_str().unwrap()]);
    let home = TempDir::new("tp-device-param");
    let mut cmd = authcli(home.path());
    cmd.args([
        "login",
        "--device",
        "--no-browser",
        "--issuer",
        &tenant.issuer,
    ])
    .args(["--client-id", "authcli-test", "--audience", AUDIENCE])
    .args(["--param", &format!("resource={RESOURCE}")]);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let seen = params_of(&tenant, "/oauth/device/code");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["resource"], RESOURCE, "{}", seen[0]);
}

/// Now that `--param` reaches token requests, it must not smuggle a client credential or a
/// grant type there (nor into an authorize URL): refused with exit 2 before any request.
#[test]
fn param_may_not_carry_a_client_credential_or_grant_type() {
    let tenant = Tenant::start();
    for param in [
        "client_secret=s3cret",
        "client_assertion=eyJ.x.y",
        "client_assertion_type=urn:x",
        "grant_type=password",
    ] {
        let home = TempDir::new("tp-param-reserved");
        let mut cmd = authcli(home.path());
        cmd.args(["login", "--client-credentials", "--issuer", &tenant.issuer])
            .args(["--client-id", M2M, "--param", param])
            .env("AUTHCLI_CLIENT_SECRET", M2M_SECRET);
        let out = run(cmd);
        assert_eq!(out.code, Some(2), "{param}: {}", out.stderr);
        assert!(out.stderr.contains("--param"), "{}", out.stderr);
        assert!(!out.stderr.contains("s3cret"), "{}", out.stderr);
    }
    assert!(tenant.requests_to("/oauth/token").is_empty());
}

/// `verify --audience API` on a terminal: a session made without that audience (with
/// oidc-provider, `--param resource=API` instead of Auth0's `--audience`) is still the one
/// verified, and its token is checked against the audience, instead of "not logged in".
#[cfg(target_os = "linux")]
#[test]
fn verify_audience_checks_the_current_session_made_without_that_audience() {
    let test = "thirdparty_regressions::verify_audience_checks_the_current_session_made_without_that_audience";
    let Some(script_bin) = crate::tools::script(test) else {
        return;
    };
    let tenant = Tenant::start();
    let home = TempDir::new("tp-verify-aud");
    let on_terminal = |home: &Path, aud: &str| {
        let line = format!(
            "{} verify --audience {aud} -o json",
            crate::support::bin().display()
        );
        let mut script = std::process::Command::new(&script_bin);
        script
            .args(["-qec", &line, "/dev/null"])
            .env_clear()
            .env("AUTHCLI_HOME", home)
            .env("HOME", home)
            .env("PATH", "/usr/bin:/bin")
            .stdin(std::process::Stdio::null());
        run(script)
    };
    // No session at all: still "not logged in" (exit 4).
    let out = on_terminal(home.path(), "https://other.example.test");
    assert_eq!(out.code, Some(4), "{}", out.stdout);
    let mut running = start_login(&tenant, &home, &[]);
    browse_plain(&running.start_url());
    assert_eq!(running.finish().code, Some(0));
    // The session is for AUDIENCE; asked for another: the token is verified and fails `aud`.
    let out = on_terminal(home.path(), "https://other.example.test");
    assert_eq!(out.code, Some(7), "{}", out.stdout);
    assert!(
        out.stdout.contains("current session") && out.stdout.contains("`aud` check"),
        "{}",
        out.stdout
    );
    let out = on_terminal(home.path(), AUDIENCE);
    assert_eq!(out.code, Some(0), "{}", out.stdout);
}
