//! `authcli mock-tenant` as a process: one stdout line, the ready file, signals, errors.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_authcli"));
    // Nothing of the caller's environment (AUTHCLI_*, proxies, HOME, RUST_LOG …) reaches
    // the mock: only what a process needs to start.
    c.env_clear().env("NO_PROXY", "*").stdin(Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        c.env("PATH", path);
    }
    c
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -{sig} failed");
}

/// Waits for the process, killing it if it takes more than `limit`.
fn wait(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the mock tenant did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn start(
    args: &[&str],
) -> (
    Child,
    BufReader<std::process::ChildStdout>,
    String,
    Duration,
) {
    let started = Instant::now();
    let mut child = bin()
        .arg("mock-tenant")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn authcli");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read the ready line");
    (child, out, line, started.elapsed())
}

#[test]
fn prints_exactly_one_line_and_exits_0_on_sigterm() {
    let (mut child, mut out, line, took) = start(&[]);
    eprintln!("time to ready line (debug build, incl. spawn): {took:?}");
    assert!(line.starts_with("http://127.0.0.1:"), "{line:?}");
    assert!(line.ends_with("/\n"), "{line:?}");
    let port: u16 = line
        .trim()
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .expect("a port");
    assert_ne!(port, 0);
    // It really serves what it announced.
    let resp = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .and_then(|c| {
            c.get(format!("{}.well-known/openid-configuration", line.trim()))
                .send()
        })
        .expect("discovery");
    assert_eq!(resp.status(), 200);

    signal(&child, "TERM");
    let status = wait(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("rest of stdout");
    assert_eq!(rest, "", "nothing after the issuer line");
}

#[test]
fn ctrl_c_also_exits_0() {
    let (mut child, _out, _line, _) = start(&[]);
    signal(&child, "INT");
    let status = wait(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
}

#[test]
fn ready_file_has_issuer_control_token_and_built_in_clients() {
    let dir = std::env::temp_dir().join(format!("authcli-mock-ready-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ready.json");
    let (mut child, _out, line, _) = start(&["--ready-file", path.to_str().unwrap_or_default()]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("ready file"))
        .expect("ready file is JSON");
    assert_eq!(doc["issuer"], line.trim());
    assert_eq!(doc["public_client_id"], "authcli-test");
    assert_eq!(doc["m2m_client_id"], "authcli-m2m");
    assert_eq!(doc["m2m_client_secret"], "authcli-m2m-secret");
    assert_eq!(doc["audience"], "https://api.example.test");
    assert!(doc["clients"].as_array().is_some_and(|c| c.len() == 2));
    let token = doc["control_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(token.len() >= 32);
    let resp = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .and_then(|c| {
            c.get(format!("{}__mock/requests", line.trim()))
                .bearer_auth(&token)
                .send()
        })
        .expect("control API");
    assert_eq!(resp.status(), 200);
    // No temp file left next to it.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "ready.json")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    signal(&child, "TERM");
    assert!(wait(&mut child, Duration::from_secs(5)).success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verbose_logs_one_masked_line_per_request_on_stderr() {
    let (mut child, _out, line, _) = start(&["-v"]);
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let resp = client
        .post(format!("{}oauth/token", line.trim()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "authcli-m2m"),
            ("client_secret", "authcli-m2m-secret"),
            ("audience", "https://api.example.test"),
        ])
        .send()
        .expect("token");
    assert_eq!(resp.status(), 200);
    signal(&child, "TERM");
    assert!(wait(&mut child, Duration::from_secs(5)).success());
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr text");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("/oauth/token")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("200"), "{err}");
    assert!(lines[0].contains("client_secret=***"), "{err}");
    assert!(!err.contains("authcli-m2m-secret"), "{err}");
}

#[test]
fn non_loopback_host_warns_that_credentials_are_public() {
    let (mut child, _out, line, _) = start(&["--host", "0.0.0.0", "--allow-remote"]);
    assert!(line.starts_with("http://127.0.0.1:"), "{line}");
    signal(&child, "TERM");
    assert!(wait(&mut child, Duration::from_secs(5)).success());
    let mut err = String::new();
    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
    assert!(err.contains("warning"), "{err}");
    assert!(err.contains("public"), "{err}");
}

#[test]
fn bad_fault_json_is_a_usage_error() {
    let out = bin()
        .args([
            "mock-tenant",
            "--fault",
            r#"{"endpoint":"token","fault":"explode"}"#,
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--fault"), "{err}");
}

#[test]
fn bad_config_names_file_line_and_key() {
    let path = std::env::temp_dir().join(format!("authcli-mock-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "[lifetimes]\nid_token_secs = 5\nid_tokn_secs = 6\n").expect("write");
    let out = bin()
        .args(["mock-tenant", "--config", path.to_str().unwrap_or_default()])
        .output()
        .expect("run");
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&*path.to_string_lossy()), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("id_tokn_secs"), "{err}");
}

#[test]
fn busy_port_is_a_clear_error() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port().to_string();
    let out = bin()
        .args(["mock-tenant", "--port", &port])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&port), "{err}");
}
