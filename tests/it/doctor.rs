//! `authcli doctor`: each check with its status, a fix for every warn or fail, exit 0/1,
//! bounded, and never a token in what it prints.

use serde_json::{json, Value};

use crate::support::{authcli, run, Finished, TempDir, Tenant, AUDIENCE};

fn doctor(tenant: &Tenant, home: &TempDir, extra: &[&str]) -> Finished {
    let mut cmd = authcli(home.path());
    cmd.args(["doctor", "--issuer", &tenant.issuer, "--no-browser"])
        .args(["--audience", AUDIENCE])
        .args(extra);
    if !extra.contains(&"--client-id") {
        cmd.args(["--client-id", "authcli-test"]);
    }
    run(cmd)
}

fn report(out: &Finished) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor JSON: {e}\n{}\nstderr:\n{}", out.stdout, out.stderr))
}

/// The entry for `name`.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no `{name}` check in {report:#}"))
}

fn assert_no_token(out: &Finished) {
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains("eyJ"), "a JWT was printed:\n{text}");
        assert!(
            !text.contains("code="),
            "an authorization code was printed:\n{text}"
        );
    }
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let tenant = Tenant::start();
    let home = TempDir::new("doctor-ok");
    let out = doctor(&tenant, &home, &[]);
    assert_eq!(
        out.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    let r = report(&out);
    assert_eq!(r["ok"], true);
    for name in [
        "config",
        "ports",
        "browser",
        "proxy",
        "discovery",
        "issuer",
        "pkce",
        "authorize",
        "jwks",
        "clock",
        "storage",
    ] {
        assert_ne!(check(&r, name)["status"], "fail", "{name}: {r:#}");
    }
    assert!(check(&r, "config")["found"]
        .as_str()
        .unwrap()
        .contains("client authcli-test (flag)"));
    for c in r["checks"].as_array().unwrap() {
        if c["status"] != "ok" {
            assert!(
                c["fix"].as_str().is_some_and(|f| !f.is_empty()),
                "no fix line: {c}"
            );
        }
    }
    // It sent one authorization request, for this client, with PKCE.
    let authorize = tenant.requests_to("/authorize");
    assert_eq!(authorize.len(), 1, "{authorize:#?}");
    assert_no_token(&out);
}

#[test]
fn a_wrong_issuer_in_discovery_fails_naming_the_issuer_found() {
    let tenant = Tenant::start();
    let home = TempDir::new("doctor-issuer");
    tenant.fault(json!({"endpoint": "discovery", "fault": "wrong_issuer", "every": true}));
    let out = doctor(&tenant, &home, &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let r = report(&out);
    let issuer = check(&r, "issuer");
    assert_eq!(issuer["status"], "fail");
    assert!(
        issuer["found"]
            .as_str()
            .unwrap()
            .contains("https://wrong-issuer.example.test/"),
        "{issuer}"
    );
    assert!(issuer["fix"].as_str().unwrap().contains("--issuer"));
}

#[test]
fn an_unknown_client_fails_naming_the_client() {
    let tenant = Tenant::start();
    let home = TempDir::new("doctor-client");
    let out = doctor(&tenant, &home, &["--client-id", "no-such-client"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let r = report(&out);
    let authorize = check(&r, "authorize");
    assert_eq!(authorize["status"], "fail", "{authorize}");
    assert!(authorize["found"]
        .as_str()
        .unwrap()
        .contains("Unknown client: no-such-client"));
    assert!(authorize["fix"]
        .as_str()
        .unwrap()
        .contains("`no-such-client`"));
}

#[test]
fn a_callback_mismatch_fails_naming_the_url_to_register() {
    let tenant = Tenant::start();
    let home = TempDir::new("doctor-callback");
    // Port 0: doctor binds a random port, as a login would, and asks with that URI.
    let uri = "http://127.0.0.1:0/not-registered";
    let out = doctor(&tenant, &home, &["--redirect-uri", uri]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let r = report(&out);
    let authorize = check(&r, "authorize");
    assert_eq!(authorize["status"], "fail", "{authorize}");
    let fix = authorize["fix"].as_str().unwrap();
    assert!(
        fix.contains("register http://127.0.0.1:")
            && fix.contains("/not-registered as an allowed callback URL"),
        "{authorize}"
    );
}

#[test]
fn a_busy_fixed_port_fails_naming_it() {
    let tenant = Tenant::start();
    let home = TempDir::new("doctor-port");
    // Held for the whole test: the port is busy, not racing.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = doctor(&tenant, &home, &["--port", &port]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let r = report(&out);
    let ports = check(&r, "ports");
    assert_eq!(ports["status"], "fail", "{ports}");
    assert!(ports["found"].as_str().unwrap().contains(&port), "{ports}");
    assert!(ports["fix"].as_str().unwrap().contains(&port), "{ports}");
    drop(busy);
}

#[test]
fn hanging_discovery_is_bounded_by_the_timeout() {
    let tenant = Tenant::start();
    let home = TempDir::new("doctor-hang");
    tenant.fault(json!({"endpoint": "discovery", "fault": "hang", "every": true}));
    let out = doctor(&tenant, &home, &["--timeout", "1"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let r = report(&out);
    let discovery = check(&r, "discovery");
    assert_eq!(discovery["status"], "fail");
    assert!(
        discovery["found"]
            .as_str()
            .unwrap()
            .contains("did not answer within 1 s"),
        "{discovery}"
    );
    // The local checks still ran.
    assert_eq!(check(&r, "ports")["status"], "ok");
}
