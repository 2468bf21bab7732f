//! The pages a person sees, in a real headless browser (Chromium): the login completes when
//! Chromium follows the start URL through the mock tenant, and the callback page says so.
//!
//! Without Chromium these tests skip, unless AUTHCLI_REQUIRE_BROWSER is set (as `.ci/run`
//! does), where a missing browser is a failure.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::support::{start_login, Running, TempDir, Tenant};

fn chromium() -> Option<PathBuf> {
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    if std::env::var_os("AUTHCLI_REQUIRE_BROWSER").is_some() {
        panic!("AUTHCLI_REQUIRE_BROWSER is set but no Chromium was found on PATH");
    }
    eprintln!("skipping: no Chromium on PATH");
    None
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
    let Some(chromium) = chromium() else { return };
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
    let Some(chromium) = chromium() else { return };
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
