//! The pages a person sees, in a real headless browser (Chromium): the login completes when
//! Chromium follows the start URL through the mock tenant, and the callback page says so.
//!
//! Without Chromium these tests fail, unless AUTHCLI_ALLOW_SKIP=1 asks to skip them (visibly:
//! see tools.rs).

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::support::{start_login, Running, TempDir, Tenant};

/// Chromium, or a failure (a visible skip with AUTHCLI_ALLOW_SKIP=1) when it is missing.
fn chromium(test: &str) -> Option<PathBuf> {
    let found = crate::tools::chromium();
    if found.is_none() {
        crate::tools::missing(test, "Chromium (chromium, google-chrome or chrome.exe)");
    }
    found
}

/// Loads `url` in headless Chromium and returns the DOM of the page it ends on.
fn dump_dom(chromium: &PathBuf, url: &str, profile: &TempDir) -> String {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run chromium");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn login(tenant: &Tenant, home: &TempDir) -> Running {
    start_login(tenant, home, &[])
}

#[test]
fn chromium_completes_the_login_and_sees_the_success_page() {
    let Some(chromium) =
        chromium("browser::chromium_completes_the_login_and_sees_the_success_page")
    else {
        return;
    };
    let tenant = Tenant::start();
    let home = TempDir::new("chromium-ok");
    let profile = TempDir::new("chromium-profile");
    let mut run = login(&tenant, &home);
    let start = run.start_url();
    let dom = dump_dom(&chromium, &start, &profile);
    assert!(dom.contains("You are signed in"), "page:\n{dom}");
    assert!(dom.contains("<title>Signed in"), "page:\n{dom}");
    let out = run.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("\"access_token\""));
}

#[test]
fn chromium_sees_the_failure_page_when_sign_in_is_denied() {
    let Some(chromium) = chromium("browser::chromium_sees_the_failure_page_when_sign_in_is_denied")
    else {
        return;
    };
    let tenant = Tenant::start();
    tenant.fault(json!({"endpoint": "authorize", "fault": "deny"}));
    let home = TempDir::new("chromium-deny");
    let profile = TempDir::new("chromium-profile");
    let mut run = login(&tenant, &home);
    let start = run.start_url();
    let dom = dump_dom(&chromium, &start, &profile);
    assert!(dom.contains("Sign-in failed"), "page:\n{dom}");
    assert!(dom.contains("access_denied"), "page:\n{dom}");
    let out = run.finish();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
}
