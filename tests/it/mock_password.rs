//! The mock tenant's password grants (SPEC §8), through `authcli mock-tenant` over HTTP:
//! `password` and Auth0's `password-realm`, Auth0's refusals, `mfa_required`, the masked log
//! and the users listed in the ready file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::mock_http::{claims, client, API};
use crate::support::{bin, TempDir, Tenant};

const REALM_GRANT: &str = "http://auth0.com/oauth/grant-type/password-realm";
const CONNECTION: &str = "Username-Password-Authentication";

/// POSTs a form to the token endpoint; status and JSON body.
fn token(t: &Tenant, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/oauth/token", t.base()))
        .form(form)
        .send()
        .expect("token request");
    (resp.status().as_u16(), resp.json().unwrap_or(Value::Null))
}

fn password_grant(
    t: &Tenant,
    username: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "password"),
        ("client_id", "authcli-test"),
        ("username", username),
        ("password", password),
    ];
    form.extend_from_slice(extra);
    token(t, &form)
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A tenant started with `toml` as its config file.
fn tenant_with_config(toml: &str) -> Tenant {
    let dir = TempDir::new("pw-config");
    let path = dir.path().join("tenant.toml");
    std::fs::write(&path, toml).expect("write config");
    // The config is read at start; the directory may go afterwards.
    Tenant::start_with(&["--config", path.to_str().expect("utf-8 path")])
}

#[test]
fn password_grant_returns_auth0s_tokens_with_id_and_refresh_tokens() {
    let t = Tenant::start();
    let (status, body) = password_grant(
        &t,
        "alice",
        "alice-password",
        &[
            ("scope", "openid profile email offline_access read:events"),
            ("audience", API),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert_eq!(
        body["scope"],
        "openid profile email offline_access read:events"
    );
    let access = claims(&s(&body["access_token"]));
    assert_eq!(access["gty"], "password");
    assert_eq!(access["sub"], "auth0|alice");
    assert_eq!(access["azp"], "authcli-test");
    assert_eq!(access["iss"], t.issuer.as_str());
    assert_eq!(access["aud"], json!([API, format!("{}userinfo", t.issuer)]));
    let id = claims(&s(&body["id_token"]));
    assert_eq!(id["sub"], "auth0|alice");
    assert_eq!(id["aud"], "authcli-test");
    assert_eq!(id["email"], "alice@example.test");

    // The refresh token is a real one: it refreshes.
    let rt = s(&body["refresh_token"]);
    assert!(rt.starts_with("v1."), "{body}");
    let (status, body) = token(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "authcli-test"),
            ("refresh_token", &rt),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(&s(&body["access_token"]))["sub"], "auth0|alice");
}

#[test]
fn without_openid_or_offline_access_there_is_no_id_or_refresh_token() {
    let t = Tenant::start();
    let (status, body) = password_grant(&t, "bob", "bob-password", &[("audience", API)]);
    assert_eq!(status, 200, "{body}");
    assert!(body.get("id_token").is_none(), "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    // No scope asked: the API's scopes bob holds (RBAC), as Auth0 grants them.
    assert_eq!(body["scope"], "read:events");
    assert_eq!(claims(&s(&body["access_token"]))["aud"], API);
}

#[test]
fn password_realm_names_the_connection_and_accepts_the_email() {
    let t = Tenant::start();
    let (status, body) = token(
        &t,
        &[
            ("grant_type", REALM_GRANT),
            ("client_id", "authcli-test"),
            ("username", "bob@example.test"),
            ("password", "bob-password"),
            ("realm", CONNECTION),
            ("scope", "openid"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(&s(&body["id_token"]))["sub"], "auth0|bob");
}

#[test]
fn an_unknown_realm_is_refused() {
    let t = Tenant::start();
    let (status, body) = token(
        &t,
        &[
            ("grant_type", REALM_GRANT),
            ("client_id", "authcli-test"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("realm", "No-Such-Connection"),
        ],
    );
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({
            "error": "invalid_request",
            "error_description": "Unknown realm: No-Such-Connection (the tenant has no such connection)"
        })
    );
}

#[test]
fn wrong_password_or_unknown_user_is_auth0s_403() {
    let t = Tenant::start();
    let expected =
        json!({"error": "invalid_grant", "error_description": "Wrong email or password."});
    for (user, password) in [
        ("alice", "bob-password"),
        ("alice", "alice-password "),
        ("mallory", "alice-password"),
    ] {
        let (status, body) = password_grant(&t, user, password, &[]);
        assert_eq!((status, &body), (403, &expected), "{user}/{password}");
    }
}

#[test]
fn a_user_configured_for_mfa_gets_mfa_required_with_a_token() {
    let t = tenant_with_config(
        r#"
[[users]]
username = "carol"
user_id = "auth0|carol"
email = "carol@example.test"
name = "Carol Example"
password = "carol-pass-1"
mfa_required = true

[[users]]
username = "dave"
user_id = "auth0|dave"
email = "dave@example.test"
name = "Dave Example"
"#,
    );
    let (status, body) = password_grant(&t, "carol", "carol-pass-1", &[("scope", "openid")]);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "mfa_required");
    assert_eq!(
        body["error_description"],
        "Multifactor authentication required"
    );
    assert!(
        body["mfa_token"].as_str().is_some_and(|m| m.len() >= 32),
        "{body}"
    );
    assert!(body.get("access_token").is_none());
    // The password is checked first: a wrong one never reveals that MFA is on.
    let (status, body) = password_grant(&t, "carol", "wrong", &[]);
    assert_eq!((status, s(&body["error"])), (403, "invalid_grant".into()));
    // A user without `password` in the config has USERNAME-password.
    let (status, body) = password_grant(&t, "dave", "dave-password", &[("scope", "openid")]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(&s(&body["id_token"]))["sub"], "auth0|dave");
}

#[test]
fn clients_without_the_grant_are_refused_with_auth0s_message() {
    let t = tenant_with_config(
        r#"
[[clients]]
client_id = "browser-only"
app_type = "native"
grant_types = ["authorization_code"]
callbacks = ["http://127.0.0.1/callback"]

[[clients]]
client_id = "realm-only"
app_type = "native"
grant_types = ["http://auth0.com/oauth/grant-type/password-realm"]
"#,
    );
    let (status, body) = token(
        &t,
        &[
            ("grant_type", "password"),
            ("client_id", "browser-only"),
            ("username", "alice"),
            ("password", "alice-password"),
        ],
    );
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({
            "error": "unauthorized_client",
            "error_description": "Grant type 'password' not allowed for the client."
        })
    );
    let (status, body) = token(
        &t,
        &[
            ("grant_type", "password"),
            ("client_id", "realm-only"),
            ("username", "alice"),
            ("password", "alice-password"),
        ],
    );
    assert_eq!(
        (status, s(&body["error"])),
        (403, "unauthorized_client".into())
    );
    let (status, body) = token(
        &t,
        &[
            ("grant_type", REALM_GRANT),
            ("client_id", "realm-only"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("realm", CONNECTION),
        ],
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn the_built_in_m2m_client_may_not_use_the_password_grant() {
    let t = Tenant::start();
    let resp = client()
        .post(format!("{}/oauth/token", t.base()))
        .basic_auth("authcli-m2m", Some("authcli-m2m-secret"))
        .form(&[
            ("grant_type", REALM_GRANT),
            ("username", "alice"),
            ("password", "alice-password"),
            ("realm", CONNECTION),
        ])
        .send()
        .expect("token request");
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().unwrap_or(Value::Null);
    assert_eq!(
        body["error_description"],
        format!("Grant type '{REALM_GRANT}' not allowed for the client.")
    );
}

#[test]
fn the_password_never_appears_in_the_request_log() {
    let t = Tenant::start();
    let (status, _) = password_grant(&t, "alice", "alice-password", &[]);
    assert_eq!(status, 200);
    let (status, _) = password_grant(&t, "alice", "a-wrong-password-guess", &[]);
    assert_eq!(status, 403);
    let log = t.requests_to("/oauth/token");
    assert_eq!(log.len(), 2);
    for entry in &log {
        assert_eq!(entry["params"]["password"], "***", "{entry}");
        assert_eq!(entry["params"]["username"], "alice", "{entry}");
    }
    let text = serde_json::to_string(&t.requests()).unwrap_or_default();
    assert!(!text.contains("alice-password"), "{text}");
    assert!(!text.contains("a-wrong-password-guess"), "{text}");
}

#[test]
fn the_ready_file_lists_users_with_passwords_and_the_connection() {
    let dir = TempDir::new("pw-ready");
    let ready = dir.path().join("ready.json");
    let mut child = Command::new(bin())
        .args(["mock-tenant", "--port", "0", "--ready-file"])
        .arg(&ready)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start authcli mock-tenant");
    let mut line = String::new();
    let read = child
        .stdout
        .take()
        .map(|out| BufReader::new(out).read_line(&mut line));
    let info: Option<Value> = std::fs::read_to_string(&ready)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let _ = child.kill();
    let _ = child.wait();
    assert!(matches!(read, Some(Ok(n)) if n > 0), "no ready line");
    let info = info.expect("the ready file is JSON");
    assert_eq!(info["connection"], CONNECTION);
    assert_eq!(
        info["user_credentials"],
        json!([
            {"username": "alice", "email": "alice@example.test", "password": "alice-password",
             "connection": CONNECTION, "mfa_required": false},
            {"username": "bob", "email": "bob@example.test", "password": "bob-password",
             "connection": CONNECTION, "mfa_required": false},
        ])
    );
    // What it had before stays.
    assert_eq!(info["users"], json!(["alice", "bob"]));
    assert_eq!(info["public_client_id"], "authcli-test");
}
