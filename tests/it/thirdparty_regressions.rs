//! Regressions found by running every grant against a third-party provider on loopback
//! (panva's `oidc-provider` 9.x, issue 7), reproduced against the mock tenant:
//! - `authcli verify` of the session's token compared `iss` with the session's normalised
//!   issuer (`http://host:port/`), so every provider without a trailing slash failed it;

use std::path::Path;

use crate::support::{browse_plain, run, start_login, TempDir, Tenant};

/// With no token argument and stdin a terminal (util-linux `script`), `verify` checks the
/// current session's access token; the provider spells its issuer without a trailing slash,
/// as oidc-provider, Keycloak and the mock's RFC flavour do.
#[cfg(target_os = "linux")]
#[test]
fn verify_of_the_session_token_accepts_an_issuer_without_trailing_slash() {
    if !Path::new("/usr/bin/script").exists() {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
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
    let mut script = std::process::Command::new("/usr/bin/script");
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
    if !Path::new("/usr/bin/script").exists() {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let tenant = Tenant::start_with(&["--flavor", "rfc"]);
    let home = TempDir::new("tp-verify-wrongiss");
    let mut running = start_login(&tenant, &home, &[]);
    browse_plain(&running.start_url());
    assert_eq!(running.finish().code, Some(0));
    // The metadata now names another issuer: the check compares with what the provider says,
    // and discovery's mix-up defence refuses the document before any key is fetched.
    tenant.fault(serde_json::json!({"endpoint": "discovery", "fault": "wrong_issuer"}));
    let line = format!("{} verify -o json", crate::support::bin().display());
    let mut script = std::process::Command::new("/usr/bin/script");
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
