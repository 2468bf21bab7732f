//! External tools some tests need (Chromium, chromedriver, util-linux `script`), and what
//! happens when one is missing: the test FAILS, unless skipping was asked for explicitly with
//! `AUTHCLI_ALLOW_SKIP=1`. A skip is then written straight to the test binary's stderr (not
//! through `eprintln!`, which the test harness captures and hides for passing tests) with a
//! running count, so it shows in the output of `cargo test`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Set to `1` to let tests whose tools are missing skip (visibly) instead of failing.
pub const ALLOW_SKIP: &str = "AUTHCLI_ALLOW_SKIP";

static SKIPPED: AtomicUsize = AtomicUsize::new(0);

/// Whether skipping was asked for (`AUTHCLI_ALLOW_SKIP=1`; the older
/// `AUTHCLI_REQUIRE_BROWSER` forbids it either way).
fn skipping_allowed() -> bool {
    std::env::var_os("AUTHCLI_REQUIRE_BROWSER").is_none()
        && std::env::var(ALLOW_SKIP).is_ok_and(|v| v == "1")
}

/// A test cannot run because `what` is missing: panics, or with `AUTHCLI_ALLOW_SKIP=1`
/// reports the skip (visibly, counted) and returns so the caller can `return`.
pub fn missing(test: &str, what: &str) {
    if !skipping_allowed() {
        panic!(
            "{test}: needs {what}, not found; install it, or set {ALLOW_SKIP}=1 to skip such tests"
        );
    }
    skipped(test, &format!("needs {what}, not found ({ALLOW_SKIP}=1)"));
}

/// Reports (visibly, counted) that `test` did not run, and why.
pub fn skipped(test: &str, why: &str) {
    let n = SKIPPED.fetch_add(1, Ordering::SeqCst) + 1;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED ({n} so far in this run): {test}: {why}"
    );
}

/// The first of `names` (with the platform's executable suffix) on PATH, else in `extra`.
fn find(names: &[&str], extra: &[PathBuf]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(extra.iter().cloned());
    dirs.iter()
        .flat_map(|dir| {
            names
                .iter()
                .map(move |n| dir.join(format!("{n}{}", std::env::consts::EXE_SUFFIX)))
        })
        .find(|p| p.is_file())
}

/// Where browsers install themselves off PATH (Windows: Program Files; macOS: the app bundle).
fn browser_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for var in ["ProgramFiles", "ProgramFiles(x86)", "LOCALAPPDATA"] {
        if let Some(base) = std::env::var_os(var) {
            let base = PathBuf::from(base);
            dirs.push(base.join("Google").join("Chrome").join("Application"));
            dirs.push(base.join("Chromium").join("Application"));
        }
    }
    dirs.push(PathBuf::from(
        "/Applications/Google Chrome.app/Contents/MacOS",
    ));
    dirs.push(PathBuf::from("/Applications/Chromium.app/Contents/MacOS"));
    dirs
}

/// Chromium or Chrome: `chromium` (Debian), `chrome.exe` (Windows), the macOS bundles.
pub fn chromium() -> Option<PathBuf> {
    find(
        &[
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
            "chrome",
            "Google Chrome",
            "Chromium",
        ],
        &browser_dirs(),
    )
}

/// chromedriver: on PATH, or where GitHub's runners put it (`$CHROMEWEBDRIVER`).
pub fn chromedriver() -> Option<PathBuf> {
    let extra: Vec<PathBuf> = std::env::var_os("CHROMEWEBDRIVER")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    find(&["chromedriver"], &extra)
}

/// curl, the stand-in for a non-interactive browser command, for `test` (see [`script`]).
pub fn curl(test: &str) -> Option<PathBuf> {
    required(test, find(&["curl"], &[]), "curl")
}

/// util-linux `script`, which runs a command on a pseudo-terminal, for `test`: when it is
/// missing the test fails, or (skipping asked for) the skip is reported and this is `None`.
pub fn script(test: &str) -> Option<PathBuf> {
    let found = find(&["script"], &[PathBuf::from("/usr/bin")]);
    required(test, found, "util-linux `script` (a pseudo-terminal)")
}

/// `found`, or [`missing`] for `test` when it is `None`.
fn required(test: &str, found: Option<PathBuf>, what: &str) -> Option<PathBuf> {
    if found.is_none() {
        missing(test, what);
    }
    found
}

const CHILD_ENV: &str = "AUTHCLI_TEST_TOOLS_CHILD";

#[test]
fn a_missing_tool_fails_unless_skipping_is_asked_for() {
    // Run in a child copy of this binary so the environment of this process stays untouched.
    let exe = std::env::current_exe().unwrap();
    let child = |allow: Option<&str>| {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["--exact", "tools::missing_tool_child", "--ignored"])
            .env(CHILD_ENV, "1")
            .env_remove(ALLOW_SKIP)
            .env_remove("AUTHCLI_REQUIRE_BROWSER");
        if let Some(v) = allow {
            cmd.env(ALLOW_SKIP, v);
        }
        cmd.output().unwrap()
    };
    let strict = child(None);
    assert!(!strict.status.success(), "a missing tool passed silently");
    let allowed = child(Some("1"));
    assert!(allowed.status.success());
    let stderr = String::from_utf8_lossy(&allowed.stderr);
    assert!(
        stderr.contains("SKIPPED (1 so far in this run)"),
        "skip not shown: {stderr}"
    );
    assert!(!child(Some("0")).status.success(), "only `1` allows skips");
}

#[test]
#[ignore = "child process of tools::a_missing_tool_fails_unless_skipping_is_asked_for"]
fn missing_tool_child() {
    // Run by hand (`--ignored`) without its parent, it has nothing to check.
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    missing("tools::missing_tool_child", "a tool that does not exist");
}
