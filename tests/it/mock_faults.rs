//! Injected faults, observed from the outside the way a client under test would see them.

use std::time::{Duration, Instant};

use crate::mock_http::*;
use authcli::mock::{FaultSpec, MockOptions};
use reqwest::Method;
use serde_json::{json, Value};

fn discovery(t: &authcli::mock::MockTenant) -> reqwest::Result<reqwest::blocking::Response> {
    client()
        .get(format!("{}.well-known/openid-configuration", t.issuer()))
        .send()
}

#[test]
fn oauth_error_fault_answers_with_the_given_error_and_status() {
    let t = start();
    add_fault(
        &t,
        json!({"endpoint": "token", "fault": "oauth_error", "error": "temporarily_unavailable",
               "error_description": "try later", "status": 503}),
    );
    let (status, body) = exchange(&t, &code(&t, &[]));
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"error": "temporarily_unavailable", "error_description": "try later"})
    );
    // Once only: the next call is normal again.
    assert_eq!(exchange(&t, &code(&t, &[])).0, 200);
}

#[test]
fn status_fault_sends_retry_after_and_the_body() {
    let t = start();
    add_fault(
        &t,
        json!({"endpoint": "token", "fault": "status", "status": 429, "retry_after": 7,
               "body": "slow down"}),
    );
    let resp = client()
        .post(format!("{}oauth/token", t.issuer()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .expect("token");
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(resp.text().unwrap_or_default(), "slow down");
}

#[test]
fn nth_and_every_pick_the_calls() {
    let t = start();
    add_fault(
        &t,
        json!({"endpoint": "discovery", "fault": "status", "status": 500, "nth": 2, "every": true}),
    );
    let statuses: Vec<u16> = (0..4)
        .map(|_| discovery(&t).map(|r| r.status().as_u16()).unwrap_or(0))
        .collect();
    assert_eq!(statuses, vec![200, 500, 500, 500]);
    assert_eq!(control(&t, Method::DELETE, "faults", None).status(), 204);
    assert_eq!(discovery(&t).map(|r| r.status().as_u16()).unwrap_or(0), 200);
}

#[test]
fn delay_fault_delays_then_answers_normally() {
    let t = start();
    add_fault(
        &t,
        json!({"endpoint": "jwks", "fault": "delay", "delay_ms": 300}),
    );
    let started = Instant::now();
    let resp = client()
        .get(format!("{}.well-known/jwks.json", t.issuer()))
        .send()
        .expect("jwks");
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn hang_fault_never_answers_and_drop_fault_closes_the_connection() {
    let t = start();
    add_fault(&t, json!({"endpoint": "discovery", "fault": "hang"}));
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(500))
        .no_proxy()
        .build()
        .expect("client");
    let err = c
        .get(format!("{}.well-known/openid-configuration", t.issuer()))
        .send()
        .expect_err("hang must time out");
    assert!(err.is_timeout(), "{err}");

    add_fault(&t, json!({"endpoint": "discovery", "fault": "drop"}));
    let err = discovery(&t).expect_err("drop must fail the request");
    assert!(!err.is_timeout(), "{err}");
    let log = t.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].status, None);
    assert_eq!(log[1].fault.as_deref(), Some("drop"));
}

#[test]
fn truncate_fault_cuts_the_json_body() {
    let t = start();
    add_fault(&t, json!({"endpoint": "discovery", "fault": "truncate"}));
    let resp = discovery(&t).expect("discovery");
    assert_eq!(resp.status(), 200);
    let text = resp.text().unwrap_or_default();
    assert!(!text.is_empty());
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "still valid JSON: {text}"
    );
}

#[test]
fn html_fault_serves_a_proxy_error_page() {
    let t = start();
    add_fault(&t, json!({"endpoint": "any", "fault": "html"}));
    let resp = discovery(&t).expect("discovery");
    assert_eq!(resp.status(), 502);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/html"));
    assert!(resp.text().unwrap_or_default().contains("502 Bad Gateway"));
}

#[test]
fn deny_wrong_state_and_wrong_iss_bend_the_authorize_redirect() {
    let t = start();
    add_fault(&t, json!({"endpoint": "authorize", "fault": "deny"}));
    let p = location_params(&authorize(&t, &[]));
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "state-123");
    assert!(!p.contains_key("code"));

    add_fault(&t, json!({"endpoint": "authorize", "fault": "wrong_state"}));
    let p = location_params(&authorize(&t, &[]));
    assert!(p.contains_key("code"));
    assert_ne!(p["state"], "state-123");

    add_fault(&t, json!({"endpoint": "authorize", "fault": "wrong_iss"}));
    let p = location_params(&authorize(&t, &[]));
    assert_ne!(p["iss"], t.issuer());
}

#[test]
fn wrong_issuer_fault_changes_the_discovery_issuer() {
    let t = start();
    add_fault(
        &t,
        json!({"endpoint": "discovery", "fault": "wrong_issuer"}),
    );
    let doc: Value = discovery(&t).and_then(|r| r.json()).expect("discovery");
    assert_ne!(doc["issuer"], t.issuer());
}

/// Runs a login with one token fault and returns (access token, id token).
fn tokens_with(fault: &str) -> (authcli::mock::MockTenant, String, String) {
    let t = start();
    add_fault(&t, json!({"endpoint": "token", "fault": fault}));
    let (status, body) = exchange(&t, &code(&t, &[]));
    assert_eq!(status, 200, "{body}");
    let at = body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let id = body["id_token"].as_str().unwrap_or_default().to_string();
    (t, at, id)
}

#[test]
fn token_faults_break_exactly_the_check_they_name() {
    let (t, at, id) = tokens_with("token_expired");
    assert!(verify(&t, &at, API).is_err_and(|e| e.contains("Expired")));
    assert!(verify(&t, &id, "authcli-test").is_err_and(|e| e.contains("Expired")));

    let (t, at, id) = tokens_with("token_wrong_aud");
    assert!(verify(&t, &at, API).is_err_and(|e| e.contains("Audience")));
    assert!(verify(&t, &id, "authcli-test").is_err_and(|e| e.contains("Audience")));

    let (t, at, _) = tokens_with("token_wrong_iss");
    assert!(verify(&t, &at, API).is_err_and(|e| e.contains("Issuer")));

    let (t, _, id) = tokens_with("token_wrong_nonce");
    let c = verify(&t, &id, "authcli-test").expect("still validly signed");
    assert_ne!(c["nonce"], "nonce-456");

    let (t, at, _) = tokens_with("token_unknown_kid");
    assert_eq!(verify(&t, &at, API), Err("kid not in JWKS".to_string()));

    let (t, at, _) = tokens_with("token_bad_signature");
    assert!(verify(&t, &at, API).is_err_and(|e| e.contains("Signature")));

    let (t, at, id) = tokens_with("token_alg_none");
    assert_eq!(header(&at)["alg"], "none");
    assert_eq!(header(&id)["alg"], "none");
    assert!(at.ends_with('.'));
    assert!(verify(&t, &at, API).is_err());
}

#[test]
fn faults_given_at_start_apply_and_bad_faults_are_refused() {
    let fault = FaultSpec::from_json(r#"{"endpoint":"jwks","fault":"status","status":500}"#)
        .expect("valid fault");
    let t = start_with(MockOptions {
        faults: vec![fault],
        ..MockOptions::default()
    });
    let resp = client()
        .get(format!("{}.well-known/jwks.json", t.issuer()))
        .send()
        .expect("jwks");
    assert_eq!(resp.status(), 500);
    let resp = control(
        &t,
        Method::POST,
        "faults",
        Some(json!({"endpoint": "token", "fault": "deny"})),
    );
    assert_eq!(resp.status(), 400);
}

/// The new token faults are the attacks they name: checked with a verifier of the test's own,
/// so the client's refusals (tests/it/id_token.rs) are refusals of real attacks.
#[test]
fn newer_token_faults_are_the_attacks_they_name() {
    use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
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
    let public_pem = authcli::mock::SigningKey::from_pem(&first)
        .and_then(|k| k.public_pem())
        .expect("public key");
    let t = start_with(MockOptions {
        signing_key_pem: Some(first),
        ..MockOptions::default()
    });
    let token = |fault: &str| {
        add_fault(&t, json!({"endpoint": "token", "fault": fault}));
        let (status, body) = exchange(&t, &code(&t, &[]));
        assert_eq!(status, 200, "{body}");
        body["id_token"].as_str().unwrap_or_default().to_string()
    };

    // Key confusion: an HS256 MAC keyed with the public PEM anyone can fetch, which a
    // verifier trusting the header's `alg` would accept.
    let id = token("token_hs256_public_key");
    assert_eq!(header(&id)["alg"], "HS256");
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&["authcli-test"]);
    assert!(
        decode::<Value>(&id, &DecodingKey::from_secret(public_pem.as_bytes()), &v).is_ok(),
        "not a MAC under the public key"
    );

    let id = token("token_azp_mismatch");
    let c = verify(&t, &id, "authcli-test").expect("validly signed, aud contains the client");
    assert!(c["aud"].as_array().is_some_and(|a| a.len() > 1), "{c}");
    assert_ne!(c["azp"], "authcli-test");

    let id = token("token_nbf_future");
    let c = verify(&t, &id, "authcli-test").expect("validly signed");
    assert!(
        c["nbf"].as_i64().unwrap_or(0) >= c["iat"].as_i64().unwrap_or(i64::MAX) + 600,
        "{c}"
    );

    let id = token("token_missing_nonce");
    let c = verify(&t, &id, "authcli-test").expect("validly signed");
    assert!(c.get("nonce").is_none(), "{c}");
    assert!(claims(&id).get("sub").is_some());
}

#[test]
fn missing_state_and_missing_iss_leave_the_parameter_out() {
    let t = start();
    add_fault(
        &t,
        json!({"endpoint": "authorize", "fault": "missing_state"}),
    );
    let p = location_params(&authorize(&t, &[]));
    assert!(p.contains_key("code") && p.contains_key("iss"), "{p:?}");
    assert!(!p.contains_key("state"), "{p:?}");

    add_fault(&t, json!({"endpoint": "authorize", "fault": "missing_iss"}));
    let p = location_params(&authorize(&t, &[]));
    assert_eq!(p["state"], "state-123");
    assert!(!p.contains_key("iss"), "{p:?}");
}
