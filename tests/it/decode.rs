//! `authcli decode` (SPEC §2): header and claims, no verification, and a one-line refusal for
//! anything that is not a readable JWT.

use std::io::Write;
use std::process::Stdio;

use serde_json::{json, Value};

use crate::support::{authcli, run, TempDir};
use crate::verify::{seed_key, sign};

fn claims() -> Value {
    json!({"iss": "https://tenant.example.test/", "sub": "auth0|alice", "aud": "https://api.example.test",
           "iat": 1_700_000_000u64, "exp": 1_700_003_600u64, "nbf": 1_700_000_000u64, "scope": "read:events"})
}

#[test]
fn a_good_jwt_is_decoded_with_rfc3339_times_and_marked_unverified() {
    let home = TempDir::new("decode-good");
    let token = sign(&seed_key(0), &claims());
    let mut cmd = authcli(home.path());
    cmd.args(["decode", &token]);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON when stdout is not a terminal");
    assert_eq!(doc["verified"], false);
    assert_eq!(doc["header"]["alg"], "RS256");
    assert_eq!(doc["claims"]["sub"], "auth0|alice");
    assert_eq!(doc["times"]["exp"]["rfc3339"], "2023-11-14T23:13:20Z");
    assert!(doc["times"]["exp"]["relative"]
        .as_str()
        .unwrap()
        .starts_with("expired"));
    assert!(out.stderr.contains("Not verified"), "{}", out.stderr);
}

#[test]
fn stdin_is_read_for_a_dash_and_a_table_can_be_asked_for() {
    let home = TempDir::new("decode-stdin");
    let token = sign(&seed_key(0), &claims());
    let mut cmd = authcli(home.path());
    cmd.args(["decode", "-", "-o", "table"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{token}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HEADER") && text.contains("CLAIMS"), "{text}");
    assert!(text.contains("2023-11-14T23:13:20Z"), "{text}");
}

#[test]
fn opaque_jwe_and_garbage_get_one_line_and_exit_1() {
    let home = TempDir::new("decode-bad");
    for (input, says) in [
        ("Zx8kQ2aLr7Vn0pWm5tYsQ2aLr7Vn0pWm", "opaque token"),
        ("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "encrypted JWT"),
        ("this is not a token at all", "not a JWT"),
        ("e30.!!!.x", "not a JWT"),
        ("eyJhbGciOiJSUzI1NiJ9.WzFd.x", "not a JWT"),
    ] {
        let mut cmd = authcli(home.path());
        cmd.args(["decode", input]);
        let out = run(cmd);
        assert_eq!(out.code, Some(1), "{input}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{input}");
        assert!(out.stderr.contains(says), "{input}: {}", out.stderr);
        assert_eq!(
            out.stderr.trim().lines().count(),
            1,
            "{input}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"));
    }
}
