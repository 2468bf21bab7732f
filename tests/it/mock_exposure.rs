//! The mock tenant seen from an attacker's side (SPEC §8): its secrets are public, so it must
//! not listen beyond loopback by accident, must not answer a web page that rebinds its own
//! name to 127.0.0.1, and must not write its control token into a file someone planted.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{bin, raw_request, run, TempDir, Tenant};

fn mock_tenant(args: &[&str]) -> crate::support::Finished {
    let mut cmd = Command::new(bin());
    cmd.arg("mock-tenant").args(args).stdin(Stdio::null());
    run(cmd)
}

#[test]
fn a_non_loopback_host_is_refused_without_allow_remote() {
    // 192.0.2.1 (TEST-NET-1) is not an address of this machine: refusing it with a usage
    // error, rather than failing to bind it, shows the check comes first.
    for host in ["0.0.0.0", "192.0.2.1", "::"] {
        let out = mock_tenant(&["--host", host, "--port", "0"]);
        assert_eq!(out.code, Some(2), "{host}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{host}: {}", out.stdout);
        assert!(out.stderr.contains("--allow-remote"), "{}", out.stderr);
    }
}

fn addr(tenant: &Tenant) -> String {
    tenant
        .base()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

fn get(addr: &str, target: &str, host: &str, extra: &str) -> u16 {
    raw_request(
        addr,
        &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"),
    )
}

#[test]
fn requests_naming_another_host_are_refused() {
    let tenant = Tenant::start();
    let addr = addr(&tenant);
    let port = addr.rsplit(':').next().unwrap();
    let discovery = "/.well-known/openid-configuration";
    assert_eq!(get(&addr, discovery, &addr, ""), 200);
    assert_eq!(get(&addr, discovery, &format!("localhost:{port}"), ""), 200);

    // A page on evil.example, rebound to 127.0.0.1, sends its own name.
    for host in [
        "evil.example".to_string(),
        format!("evil.example:{port}"),
        format!("127.0.0.1.evil.example:{port}"),
        "127.0.0.1".to_string(),
    ] {
        assert_eq!(get(&addr, discovery, &host, ""), 421, "Host: {host}");
        assert_eq!(get(&addr, "/authorize", &host, ""), 421, "Host: {host}");
    }
    // The control API too, even with the right token.
    let bearer = format!("Authorization: Bearer {}\r\n", tenant.control_token);
    assert_eq!(get(&addr, "/__mock/requests", &addr, &bearer), 200);
    assert_eq!(get(&addr, "/__mock/requests", "evil.example", &bearer), 421);
    // An absolute request target names the host as well.
    assert_eq!(
        get(&addr, &format!("http://evil.example{discovery}"), &addr, ""),
        421
    );
    // No Host at all (HTTP/1.0).
    assert_eq!(
        raw_request(
            &addr,
            &format!("GET {discovery} HTTP/1.0\r\nConnection: close\r\n\r\n")
        ),
        421
    );
    // Refused requests never reached an endpoint.
    let seen = tenant.requests();
    assert_eq!(seen.len(), 2, "{seen:#?}");
}

#[cfg(unix)]
fn assert_refused_ready_file(ready: &Path) {
    let out = mock_tenant(&["--port", "0", "--ready-file", ready.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "announced readiness: {}", out.stdout);
    assert!(
        out.stderr.contains("ready file") && out.stderr.contains("already"),
        "{}",
        out.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_planted_ready_file_is_not_written_through() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("ready-planted");
    let ready = dir.path().join("ready.json");
    // Another user's world-writable file, waiting for the control token.
    std::fs::write(&ready, b"planted").unwrap();
    std::fs::set_permissions(&ready, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_refused_ready_file(&ready);
    assert_eq!(std::fs::read(&ready).unwrap(), b"planted");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["ready.json"], "temp files left behind");
}

#[cfg(unix)]
#[test]
fn a_symlink_at_the_ready_path_is_not_followed() {
    let dir = TempDir::new("ready-link");
    let ready = dir.path().join("ready.json");
    // A dangling link: following it would create the target.
    let target = dir.path().join("attacker-reads-this");
    std::os::unix::fs::symlink(&target, &ready).unwrap();
    assert_refused_ready_file(&ready);
    assert!(!target.exists(), "the link was followed");
    // A link to an existing file: following it would overwrite it.
    std::fs::remove_file(&ready).unwrap();
    let existing = dir.path().join("existing");
    std::fs::write(&existing, b"keep").unwrap();
    std::os::unix::fs::symlink(&existing, &ready).unwrap();
    assert_refused_ready_file(&ready);
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep");
}

#[cfg(unix)]
#[test]
fn the_ready_file_is_new_and_private() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("ready-new");
    let ready = dir.path().join("ready.json");
    let mut child = Command::new(bin())
        .args(["mock-tenant", "--port", "0", "--ready-file"])
        .arg(&ready)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let meta = std::fs::symlink_metadata(&ready).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(meta.is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["ready.json"], "temp files left behind");
}
