//! Refresh-token families, revocation, client credentials, userinfo, the device flow,
//! logout, the RFC flavor, config files, seeds, key rotation and interactive pages.

use std::path::Path;

use crate::mock_http::*;
use authcli::mock::{Flavor, MockOptions, MockTenant, TenantConfig};
use reqwest::Method;
use serde_json::{json, Value};

fn login(t: &MockTenant) -> Value {
    let (status, body) = exchange(t, &code(t, &[]));
    assert_eq!(status, 200, "{body}");
    body
}

fn refresh(t: &MockTenant, rt: &str) -> (u16, Value) {
    token(
        t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "authcli-test"),
            ("refresh_token", rt),
        ],
    )
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

#[test]
fn refresh_rotates_and_reusing_an_old_token_revokes_the_family() {
    let t = start();
    let first = s(&login(&t)["refresh_token"]);
    let (status, body) = refresh(&t, &first);
    assert_eq!(status, 200, "{body}");
    let second = s(&body["refresh_token"]);
    assert!(second.starts_with("v1.") && second != first);
    assert!(body["id_token"].is_string());
    assert_eq!(claims(&s(&body["access_token"]))["gty"], "refresh_token");

    // Replaying the first token: refused, and the family is gone.
    let (status, body) = refresh(&t, &first);
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})
    );
    assert_eq!(
        refresh(&t, &second).0,
        403,
        "the newest token died with its family"
    );
}

#[test]
fn refresh_can_only_narrow_the_scope() {
    let t = start();
    let rt = s(&login(&t)["refresh_token"]);
    let (status, body) = token(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "authcli-test"),
            ("refresh_token", &rt),
            ("scope", "openid"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid");
    let rt = s(&body["refresh_token"]);
    let (status, body) = token(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "authcli-test"),
            ("refresh_token", &rt),
            ("scope", "openid admin"),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_scope"))
    );
}

#[test]
fn no_refresh_token_without_offline_access() {
    let t = start();
    let (_, body) = exchange(&t, &code(&t, &[("scope", Some("openid read:events"))]));
    assert!(body.get("refresh_token").is_none());
}

#[test]
fn revoke_ends_the_family_and_answers_200_twice() {
    let t = start();
    let rt = s(&login(&t)["refresh_token"]);
    for _ in 0..2 {
        let resp = client()
            .post(format!("{}oauth/revoke", t.issuer()))
            .json(&json!({"client_id": "authcli-test", "token": rt}))
            .send()
            .expect("revoke");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().unwrap_or_default(), "");
    }
    assert_eq!(refresh(&t, &rt).0, 403);
}

fn m2m(t: &MockTenant, form: &[(&str, &str)], secret: &str) -> (u16, Value) {
    let resp = client()
        .post(format!("{}oauth/token", t.issuer()))
        .basic_auth("authcli-m2m", Some(secret))
        .form(form)
        .send()
        .expect("token");
    (resp.status().as_u16(), resp.json().unwrap_or(Value::Null))
}

#[test]
fn client_credentials_issue_m2m_tokens_and_check_the_client_grant() {
    let t = start();
    let (status, body) = m2m(
        &t,
        &[("grant_type", "client_credentials"), ("audience", API)],
        "authcli-m2m-secret",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let c = verify(&t, &s(&body["access_token"]), API).expect("verifies");
    assert_eq!(c["sub"], "authcli-m2m@clients");
    assert_eq!(c["gty"], "client-credentials");
    assert_eq!(c["scope"], "read:events write:events");

    let (status, body) = m2m(
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("audience", API),
            ("scope", "read:events"),
        ],
        "authcli-m2m-secret",
    );
    assert_eq!((status, body["scope"].as_str()), (200, Some("read:events")));

    let (status, body) = m2m(
        &t,
        &[("grant_type", "client_credentials")],
        "authcli-m2m-secret",
    );
    assert_eq!(status, 403);
    assert_eq!(body["error"], "access_denied");
    assert!(s(&body["error_description"]).starts_with("No audience parameter was provided"));

    let (status, body) = m2m(
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("audience", API),
            ("scope", "delete:events"),
        ],
        "authcli-m2m-secret",
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("access_denied"))
    );

    let (status, _) = m2m(
        &t,
        &[("grant_type", "client_credentials"), ("audience", API)],
        "wrong",
    );
    assert_eq!(status, 401);

    // client_secret_post works too; a public client may not use this grant.
    let (status, _) = token(
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "authcli-m2m"),
            ("client_secret", "authcli-m2m-secret"),
            ("audience", API),
        ],
    );
    assert_eq!(status, 200);
    let (status, body) = token(
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "authcli-test"),
            ("audience", API),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("unauthorized_client"))
    );
}

#[test]
fn client_grant_is_required_for_an_api() {
    let mut tenant = TenantConfig::default();
    tenant.apis.push(authcli::mock::ApiConfig {
        identifier: "https://other.example.test".into(),
        name: None,
        scopes: vec![],
        allow_offline_access: false,
        token_lifetime_secs: 60,
        rbac: false,
    });
    let t = start_with(MockOptions {
        tenant,
        ..MockOptions::default()
    });
    let (status, body) = m2m(
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("audience", "https://other.example.test"),
        ],
        "authcli-m2m-secret",
    );
    assert_eq!(status, 403);
    assert!(s(&body["error_description"])
        .starts_with("Client is not authorized to access \"https://other.example.test\""));
}

#[test]
fn userinfo_needs_an_openid_token() {
    let t = start();
    let at = s(&login(&t)["access_token"]);
    let resp = client()
        .get(format!("{}userinfo", t.issuer()))
        .bearer_auth(&at)
        .send()
        .expect("userinfo");
    assert_eq!(resp.status(), 200);
    let (_, body) = m2m(
        &t,
        &[("grant_type", "client_credentials"), ("audience", API)],
        "authcli-m2m-secret",
    );
    let resp = client()
        .get(format!("{}userinfo", t.issuer()))
        .bearer_auth(s(&body["access_token"]))
        .send()
        .expect("userinfo");
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap_or_default()
        .contains("invalid_token"));
    let resp = client()
        .get(format!("{}userinfo", t.issuer()))
        .send()
        .expect("userinfo");
    assert_eq!(resp.status(), 401);
}

fn device_start(t: &MockTenant) -> Value {
    let resp = client()
        .post(format!("{}oauth/device/code", t.issuer()))
        .form(&[
            ("client_id", "authcli-test"),
            ("scope", "openid offline_access read:events"),
            ("audience", API),
        ])
        .send()
        .expect("device code");
    assert_eq!(resp.status(), 200);
    resp.json().expect("device JSON")
}

fn poll(t: &MockTenant, device_code: &str) -> (u16, Value) {
    token(
        t,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "authcli-test"),
            ("device_code", device_code),
        ],
    )
}

#[test]
fn device_flow_pending_then_slow_down_then_auto_approved() {
    let t = start();
    let d = device_start(&t);
    let user_code = s(&d["user_code"]);
    assert_eq!(user_code.len(), 9);
    assert_eq!(d["verification_uri"], format!("{}activate", t.issuer()));
    assert_eq!(
        d["verification_uri_complete"],
        format!("{}activate?user_code={user_code}", t.issuer())
    );
    assert_eq!(
        (d["expires_in"].as_u64(), d["interval"].as_u64()),
        (Some(900), Some(5))
    );
    let dc = s(&d["device_code"]);

    let (status, body) = poll(&t, &dc);
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("authorization_pending"))
    );
    let (status, body) = poll(&t, &dc);
    assert_eq!((status, body["error"].as_str()), (429, Some("slow_down")));
    // The interval is now 10 s; polling after 6 s is still too fast and adds 5 s more.
    t.advance_clock(6);
    assert_eq!(poll(&t, &dc).1["error"], "slow_down");
    t.advance_clock(11);
    assert_eq!(poll(&t, &dc).1["error"], "slow_down", "15 s are needed now");
    t.advance_clock(21);
    let (status, body) = poll(&t, &dc);
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string());
    t.advance_clock(11);
    assert_eq!(
        poll(&t, &dc).1["error"],
        "invalid_grant",
        "a device code is single-use"
    );
}

#[test]
fn device_flow_denied_and_expired_once() {
    let t = start();
    let d = device_start(&t);
    assert_eq!(
        control(
            &t,
            Method::POST,
            &format!("device/{}/deny", s(&d["user_code"])),
            None
        )
        .status(),
        204
    );
    let (status, body) = poll(&t, &s(&d["device_code"]));
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("access_denied"))
    );

    let d = device_start(&t);
    t.advance_clock(901);
    let (status, body) = poll(&t, &s(&d["device_code"]));
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("expired_token"))
    );
    t.advance_clock(10);
    let (status, body) = poll(&t, &s(&d["device_code"]));
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_grant"))
    );
}

#[test]
fn activate_page_approves_as_the_hinted_user() {
    let mut tenant = TenantConfig::default();
    tenant.device.auto_approve_after_polls = None;
    let t = start_with(MockOptions {
        tenant,
        ..MockOptions::default()
    });
    let d = device_start(&t);
    let dc = s(&d["device_code"]);
    assert_eq!(poll(&t, &dc).1["error"], "authorization_pending");
    let resp = client()
        .get(format!(
            "{}&login_hint=bob",
            s(&d["verification_uri_complete"])
        ))
        .send()
        .expect("activate");
    assert_eq!(resp.status(), 200);
    t.advance_clock(5);
    let (status, body) = poll(&t, &dc);
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(&s(&body["access_token"]))["sub"], "auth0|bob");
}

#[test]
fn logout_checks_return_to_against_allowed_logout_urls() {
    let t = start();
    let resp = client()
        .get(format!(
            "{}v2/logout?client_id=authcli-test&returnTo=http%3A%2F%2F127.0.0.1%3A8400%2F",
            t.issuer()
        ))
        .send()
        .expect("logout");
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), "http://127.0.0.1:8400/");
    let resp = client()
        .get(format!(
            "{}v2/logout?client_id=authcli-test&returnTo=https%3A%2F%2Fevil.example%2F",
            t.issuer()
        ))
        .send()
        .expect("logout");
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    assert!(resp
        .text()
        .unwrap_or_default()
        .contains("Allowed Logout URLs"));
}

#[test]
fn rfc_flavor_uses_400s_and_no_trailing_slash() {
    let t = start_with(MockOptions {
        flavor: Flavor::Rfc,
        ..MockOptions::default()
    });
    assert!(!t.issuer().ends_with('/'));
    let issuer = format!("{}/", t.issuer());
    let resp = client()
        .post(format!("{issuer}oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "authcli-test"),
            ("code", "nope"),
        ])
        .send()
        .expect("token");
    assert_eq!(resp.status(), 400);
    let meta: Value = client()
        .get(format!("{issuer}.well-known/oauth-authorization-server"))
        .send()
        .and_then(|r| r.json())
        .expect("RFC 8414 metadata");
    assert_eq!(meta["issuer"], t.issuer());
    assert!(meta["grant_types_supported"].is_array());
}

#[test]
fn config_file_defines_clients_users_and_lifetimes() {
    let toml = r#"
default_user = "carol"

[[clients]]
client_id = "cfg-native"
app_type = "native"
grant_types = ["authorization_code"]
callbacks = ["http://127.0.0.1/cb"]

[[users]]
username = "carol"
user_id = "auth0|carol"
email = "carol@example.test"
name = "Carol"
claims = { "https://example.test/role" = "admin" }

[lifetimes]
id_token_secs = 120
"#;
    let tenant = TenantConfig::parse(toml, Path::new("inline.toml")).expect("config parses");
    let t = start_with(MockOptions {
        tenant,
        ..MockOptions::default()
    });
    let resp = authorize(
        &t,
        &[
            ("client_id", Some("cfg-native")),
            ("redirect_uri", Some("http://127.0.0.1:9/cb")),
            ("audience", None),
        ],
    );
    let code = location_params(&resp)["code"].clone();
    let (status, body) = token(
        &t,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "cfg-native"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let id = claims(&s(&body["id_token"]));
    assert_eq!(id["sub"], "auth0|carol");
    assert_eq!(id["https://example.test/role"], "admin");
    assert_eq!(
        id["exp"].as_i64().unwrap_or(0) - id["iat"].as_i64().unwrap_or(0),
        120
    );
    // Offline access was asked for, but the client has no refresh grant.
    assert!(body.get("refresh_token").is_none());
}

#[test]
fn config_errors_name_the_key() {
    let err = TenantConfig::parse(
        "[[client_grants]]\nclient_id = \"ghost\"\naudience = \"https://api.example.test\"\n",
        Path::new("g.toml"),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.contains("g.toml") && err.contains("client_grants[0].client_id"),
        "{err}"
    );
}

#[test]
fn same_seed_same_keys_and_codes() {
    let run = |seed| {
        let t = start_with(MockOptions {
            seed: Some(seed),
            ..MockOptions::default()
        });
        let jwks: Value = client()
            .get(format!("{}.well-known/jwks.json", t.issuer()))
            .send()
            .and_then(|r| r.json())
            .expect("jwks");
        // The whole published key set (current and next key), and two codes in a row.
        (jwks, code(&t, &[]), code(&t, &[]))
    };
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a, b);
    assert_eq!(a.0["keys"].as_array().map(Vec::len), Some(2), "{}", a.0);
    assert_ne!(a.1, a.2, "two codes of one run are equal");
    // Another seed changes every part, not just one.
    assert_ne!(a.0["keys"][0]["n"], c.0["keys"][0]["n"]);
    assert_ne!(a.0["keys"][1]["n"], c.0["keys"][1]["n"]);
    assert_ne!(a.1, c.1);
    assert_ne!(a.2, c.2);
}

#[test]
fn key_rotation_promotes_next_and_keeps_previous() {
    let t = start();
    let before: Value = client()
        .get(format!("{}.well-known/jwks.json", t.issuer()))
        .send()
        .and_then(|r| r.json())
        .expect("jwks");
    let after: Value = control(&t, Method::POST, "keys/rotate", None)
        .json()
        .expect("rotated JWKS");
    assert_eq!(
        after["keys"][0]["kid"], before["keys"][1]["kid"],
        "next became current"
    );
    assert_eq!(
        after["keys"][2]["kid"], before["keys"][0]["kid"],
        "current stays as previous"
    );
    let at = s(&login(&t)["access_token"]);
    assert_eq!(header(&at)["kid"], after["keys"][0]["kid"]);
    assert!(verify(&t, &at, API).is_ok());
}

#[test]
fn signing_key_option_signs_with_that_key() {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/mock/seed-keys.pem"
    ))
    .expect("test keys");
    let first: String = pem
        .split_inclusive("-----END PRIVATE KEY-----\n")
        .next()
        .unwrap_or_default()
        .to_string();
    let expected = authcli::mock::SigningKey::from_pem(&first)
        .expect("key parses")
        .kid;
    let t = start_with(MockOptions {
        signing_key_pem: Some(first),
        ..MockOptions::default()
    });
    let at = s(&login(&t)["access_token"]);
    assert_eq!(header(&at)["kid"], expected);
}

#[test]
fn interactive_mode_signs_in_through_forms_with_csrf() {
    let t = start_with(MockOptions {
        interactive: true,
        ..MockOptions::default()
    });
    let resp = authorize(&t, &[("state", Some("<script>x</script>"))]);
    assert_eq!(resp.status(), 200);
    let page = resp.text().unwrap_or_default();
    assert!(page.contains("<label>") && page.contains("Alice Example"));
    // The hostile state never reaches the page as markup.
    assert!(!page.contains("<script>x</script>"), "{page}");
    assert!(!page.to_ascii_lowercase().contains("<script"), "{page}");
    let field = |page: &str, name: &str| -> String {
        let marker = format!("name=\"{name}\" value=\"");
        page.split(&marker)
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string()
    };
    let (tx, csrf) = (field(&page, "tx"), field(&page, "csrf"));
    // A forged CSRF token is refused.
    let resp = client()
        .post(format!("{}authorize", t.issuer()))
        .form(&[
            ("tx", tx.as_str()),
            ("csrf", "forged"),
            ("action", "login"),
            ("user", "auth0|bob"),
        ])
        .send()
        .expect("post");
    assert_eq!(resp.status(), 400);
    let resp = client()
        .post(format!("{}authorize", t.issuer()))
        .form(&[
            ("tx", tx.as_str()),
            ("csrf", csrf.as_str()),
            ("action", "login"),
            ("user", "auth0|bob"),
        ])
        .send()
        .expect("post");
    let consent = resp.text().unwrap_or_default();
    assert!(
        consent.contains("Allow") && consent.contains("Deny") && consent.contains("Bob Example")
    );
    assert!(
        !consent.to_ascii_lowercase().contains("<script"),
        "{consent}"
    );
    let resp = client()
        .post(format!("{}authorize", t.issuer()))
        .form(&[
            ("tx", tx.as_str()),
            ("csrf", csrf.as_str()),
            ("action", "consent"),
            ("decision", "allow"),
        ])
        .send()
        .expect("post");
    assert_eq!(resp.status(), 302);
    let p = location_params(&resp);
    assert_eq!(p["state"], "<script>x</script>");
    let (status, body) = exchange(&t, &p["code"]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(&s(&body["access_token"]))["sub"], "auth0|bob");
}
