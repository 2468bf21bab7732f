//! The mock tenant in-process: discovery, JWKS, authorize and the code exchange, Auth0's
//! error statuses, the control API and the request log.

use crate::mock_http::*;
use reqwest::Method;
use serde_json::{json, Value};

#[test]
fn discovery_has_auth0_fields_and_a_trailing_slash_issuer() {
    let t = start();
    assert!(t.issuer().starts_with("http://127.0.0.1:"));
    assert!(t.issuer().ends_with('/'));
    let doc: Value = client()
        .get(format!("{}.well-known/openid-configuration", t.issuer()))
        .send()
        .and_then(|r| r.json())
        .expect("discovery JSON");
    let base = t.base_url();
    assert_eq!(doc["issuer"], t.issuer());
    assert_eq!(doc["authorization_endpoint"], format!("{base}/authorize"));
    assert_eq!(doc["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(
        doc["device_authorization_endpoint"],
        format!("{base}/oauth/device/code")
    );
    assert_eq!(doc["revocation_endpoint"], format!("{base}/oauth/revoke"));
    assert_eq!(doc["userinfo_endpoint"], format!("{base}/userinfo"));
    assert_eq!(doc["jwks_uri"], format!("{base}/.well-known/jwks.json"));
    assert!(doc["end_session_endpoint"].is_string());
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert!(doc["token_endpoint_auth_methods_supported"]
        .as_array()
        .is_some_and(|a| a.contains(&json!("client_secret_post"))));
    // Auth0 does not advertise these.
    assert!(doc.get("grant_types_supported").is_none());
    assert!(doc.get("introspection_endpoint").is_none());
}

#[test]
fn jwks_lists_current_and_next_rsa_keys() {
    let t = start();
    let jwks: Value = client()
        .get(format!("{}.well-known/jwks.json", t.issuer()))
        .send()
        .and_then(|r| r.json())
        .expect("JWKS JSON");
    let keys = jwks["keys"].as_array().expect("keys array");
    assert_eq!(keys.len(), 2);
    for k in keys {
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["use"], "sig");
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["e"], "AQAB");
        assert!(k["kid"].as_str().is_some_and(|s| !s.is_empty()));
        // 2048-bit modulus → 256 bytes → 342 base64url characters.
        assert_eq!(k["n"].as_str().map(str::len), Some(342));
    }
    assert_ne!(keys[0]["kid"], keys[1]["kid"]);
}

#[test]
fn authorization_code_round_trip_with_pkce_gives_verifiable_tokens() {
    let t = start();
    let resp = authorize(&t, &[]);
    assert_eq!(resp.status(), 302);
    let params = location_params(&resp);
    assert!(location(&resp).starts_with(CALLBACK));
    assert_eq!(params["state"], "state-123");
    assert_eq!(params["iss"], t.issuer());
    let (status, body) = exchange(&t, &params["code"]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86400);
    assert_eq!(
        body["scope"],
        "openid profile email offline_access read:events"
    );
    assert!(body["refresh_token"]
        .as_str()
        .is_some_and(|r| r.starts_with("v1.")));

    let at = verify(&t, body["access_token"].as_str().unwrap_or_default(), API)
        .expect("access token verifies against the JWKS");
    assert_eq!(at["sub"], "auth0|alice");
    assert_eq!(at["azp"], "authcli-test");
    assert_eq!(at["aud"], json!([API, format!("{}userinfo", t.issuer())]));
    assert_eq!(at["permissions"], json!(["read:events", "write:events"]));
    assert!(at.get("gty").is_none());

    let id_token = body["id_token"].as_str().unwrap_or_default();
    let id = verify(&t, id_token, "authcli-test").expect("id token verifies");
    assert_eq!(id["nonce"], "nonce-456");
    assert_eq!(id["email"], "alice@example.test");
    assert_eq!(id["name"], "Alice Example");
    assert!(id["sid"].is_string());
    let h = header(id_token);
    assert_eq!(h["alg"], "RS256");
    assert_eq!(h["typ"], "JWT");
}

#[test]
fn without_audience_the_access_token_is_opaque_and_works_at_userinfo() {
    let t = start();
    let code = code(&t, &[("audience", None)]);
    let (status, body) = exchange(&t, &code);
    assert_eq!(status, 200, "{body}");
    let at = body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!at.contains('.'), "opaque, not a JWT: {at}");
    let info: Value = client()
        .get(format!("{}userinfo", t.issuer()))
        .bearer_auth(&at)
        .send()
        .and_then(|r| r.json())
        .expect("userinfo JSON");
    assert_eq!(info["sub"], "auth0|alice");
    assert_eq!(info["email"], "alice@example.test");
}

#[test]
fn a_code_works_once_and_its_reuse_gets_403_invalid_grant() {
    let t = start();
    let code = code(&t, &[]);
    assert_eq!(exchange(&t, &code).0, 200);
    let (status, body) = exchange(&t, &code);
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Invalid authorization code"})
    );
}

#[test]
fn a_code_is_good_for_60_seconds_on_the_mock_clock_and_no_longer() {
    let t = start();
    let (on_time, late) = (code(&t, &[]), code(&t, &[]));
    // The mock clock is wall time plus an offset, in whole seconds: 59 s later is at most
    // 60 s after issue (the lifetime, still good); 2 s more is past it.
    t.advance_clock(59);
    let (status, body) = exchange(&t, &on_time);
    assert_eq!(status, 200, "59 s after issue: {body}");
    t.advance_clock(2);
    let (status, body) = exchange(&t, &late);
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_grant"))
    );
}

#[test]
fn a_verifier_outside_rfc_7636_is_refused_even_when_its_challenge_matches() {
    use base64::Engine;
    use sha2::Digest;
    let t = start();
    // RFC 7636 §4.1: 43 to 128 characters of [A-Za-z0-9-._~]. Each of these matches the
    // challenge it was sent with, so only the format check can refuse it.
    let too_short = "a".repeat(42);
    let too_long = "a".repeat(129);
    let bad_char = format!("{}+", "a".repeat(42));
    for verifier in [too_short, too_long, bad_char] {
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let code = code(&t, &[("code_challenge", Some(&challenge))]);
        let (status, body) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "authcli-test"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &verifier),
            ],
        );
        assert_eq!(status, 403, "{verifier}: {body}");
        assert_eq!(body["error_description"], "Failed to verify code verifier");
    }
}

#[test]
fn wrong_or_missing_verifier_gets_403_failed_to_verify() {
    let t = start();
    let code1 = code(&t, &[]);
    let wrong = "x".repeat(43);
    let form = |code: &str, verifier: Option<&str>| {
        let mut f = vec![
            ("grant_type", "authorization_code".to_string()),
            ("client_id", "authcli-test".to_string()),
            ("code", code.to_string()),
            ("redirect_uri", CALLBACK.to_string()),
        ];
        if let Some(v) = verifier {
            f.push(("code_verifier", v.to_string()));
        }
        f
    };
    for (code, verifier) in [(code1, Some(wrong.as_str())), (code(&t, &[]), None)] {
        let f = form(&code, verifier);
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = token(&t, &f);
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["error_description"], "Failed to verify code verifier");
    }
}

#[test]
fn redirect_uri_must_be_repeated_exactly_at_the_token_endpoint() {
    let t = start();
    let code = code(&t, &[]);
    let (status, body) = token(
        &t,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "authcli-test"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", "http://127.0.0.1:53683/callback"),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("invalid_grant"))
    );
}

#[test]
fn unknown_client_gets_an_error_page_and_no_redirect() {
    let t = start();
    let resp = authorize(&t, &[("client_id", Some("nobody"))]);
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    let page = resp.text().unwrap_or_default();
    assert!(page.contains("nobody"), "{page}");
}

#[test]
fn callback_mismatch_gets_an_error_page_and_no_redirect() {
    let t = start();
    for bad in [
        "http://127.0.0.1:5000/other",
        "https://evil.example/callback",
        "http://127.0.0.1.evil.example/callback",
        "http://localhost:5000/callback#frag",
    ] {
        let resp = authorize(&t, &[("redirect_uri", Some(bad))]);
        assert_eq!(resp.status(), 400, "{bad}");
        assert!(resp.headers().get("location").is_none(), "{bad}");
        let page = resp.text().unwrap_or_default();
        assert!(page.contains("Callback URL mismatch"), "{page}");
    }
}

#[test]
fn loopback_callbacks_match_any_port_for_the_native_client() {
    let t = start();
    for ok in [
        "http://127.0.0.1:8400/callback",
        "http://localhost:9999/callback",
        "http://[::1]:1234/callback",
        "http://127.0.0.1/callback",
    ] {
        let resp = authorize(&t, &[("redirect_uri", Some(ok))]);
        assert_eq!(resp.status(), 302, "{ok}");
        assert!(location(&resp).starts_with(ok), "{ok}");
    }
}

#[test]
fn pkce_is_required_for_public_clients_and_plain_is_refused() {
    let t = start();
    let cases: [&[(&str, Option<&str>)]; 3] = [
        &[("code_challenge", None), ("code_challenge_method", None)],
        &[("code_challenge_method", Some("plain"))],
        &[("code_challenge_method", None)],
    ];
    for extra in cases {
        let resp = authorize(&t, extra);
        assert_eq!(resp.status(), 302, "{extra:?}");
        let p = location_params(&resp);
        assert_eq!(
            p.get("error").map(String::as_str),
            Some("invalid_request"),
            "{extra:?}"
        );
        assert_eq!(p["state"], "state-123");
        assert!(!p.contains_key("code"));
    }
}

#[test]
fn unknown_audience_is_access_denied_service_not_found() {
    let t = start();
    let resp = authorize(&t, &[("audience", Some("https://nope.example"))]);
    let p = location_params(&resp);
    assert_eq!(p["error"], "access_denied");
    assert_eq!(
        p["error_description"],
        "Service not found: https://nope.example"
    );
    assert_eq!(p["state"], "state-123");
}

#[test]
fn wrong_response_type_is_redirected_as_unsupported() {
    let t = start();
    let p = location_params(&authorize(&t, &[("response_type", Some("token"))]));
    assert_eq!(p["error"], "unsupported_response_type");
}

#[test]
fn login_hint_signs_in_another_user_with_rbac_limited_scopes() {
    let t = start();
    let code = code(
        &t,
        &[
            ("login_hint", Some("bob")),
            ("scope", Some("openid read:events write:events")),
        ],
    );
    let (_, body) = exchange(&t, &code);
    let at = claims(body["access_token"].as_str().unwrap_or_default());
    assert_eq!(at["sub"], "auth0|bob");
    // Bob only holds read:events.
    assert_eq!(at["scope"], "openid read:events");
}

#[test]
fn token_endpoint_accepts_json_bodies() {
    let t = start();
    let code = code(&t, &[]);
    let resp = client()
        .post(format!("{}oauth/token", t.issuer()))
        .json(&json!({
            "grant_type": "authorization_code", "client_id": "authcli-test", "code": code,
            "code_verifier": VERIFIER, "redirect_uri": CALLBACK
        }))
        .send()
        .expect("token");
    assert_eq!(resp.status(), 200);
}

#[test]
fn unsupported_grant_and_malformed_bodies_are_oauth_errors() {
    let t = start();
    let (status, body) = token(
        &t,
        &[
            // The password grants are implemented now (SPEC §8); token exchange is not.
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("client_id", "authcli-test"),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let resp = client()
        .post(format!("{}oauth/token", t.issuer()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .expect("token");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().unwrap_or(Value::Null);
    assert_eq!(body["error"], "invalid_request");
    let (status, body) = token(
        &t,
        &[
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[test]
fn oversized_bodies_get_413_and_oversized_headers_431() {
    let t = start();
    let resp = client()
        .post(format!("{}oauth/token", t.issuer()))
        .body(vec![b'a'; 70 * 1024])
        .send()
        .expect("token");
    assert_eq!(resp.status(), 413);
    let resp = client()
        .get(format!("{}.well-known/jwks.json", t.issuer()))
        .header("x-big", "b".repeat(20 * 1024))
        .send();
    // hyper answers 431, or closes the connection; either way no 200.
    if let Ok(r) = resp {
        assert_eq!(r.status(), 431);
    }
}

#[test]
fn control_api_needs_the_control_token() {
    let t = start();
    let resp = client()
        .get(format!("{}__mock/requests", t.issuer()))
        .send()
        .expect("control");
    assert_eq!(resp.status(), 401);
    let resp = client()
        .get(format!("{}__mock/requests", t.issuer()))
        .bearer_auth("wrong")
        .send()
        .expect("control");
    assert_eq!(resp.status(), 401);
    assert_eq!(control(&t, Method::GET, "requests", None).status(), 200);
}

#[test]
fn request_log_masks_secrets_but_keeps_their_keys() {
    let t = start();
    let code = code(&t, &[]);
    exchange(&t, &code);
    let log: Value = control(&t, Method::GET, "requests", None)
        .json()
        .expect("log JSON");
    let entries = log.as_array().expect("array");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["path"], "/authorize");
    assert_eq!(entries[0]["query"]["state"], "state-123");
    assert_eq!(entries[0]["status"], 302);
    let tok = &entries[1];
    assert_eq!(tok["method"], "POST");
    assert_eq!(tok["path"], "/oauth/token");
    assert_eq!(tok["status"], 200);
    assert_eq!(tok["params"]["grant_type"], "authorization_code");
    assert_eq!(tok["params"]["code"], "***");
    assert_eq!(tok["params"]["code_verifier"], "***");
    let text = log.to_string();
    assert!(!text.contains(&code));
    assert!(!text.contains(VERIFIER));
    // The same view from Rust.
    let rust_view = t.requests();
    assert_eq!(rust_view.len(), 2);
    assert_eq!(rust_view[1].params["code"], "***");

    assert_eq!(control(&t, Method::DELETE, "requests", None).status(), 204);
    assert!(t.requests().is_empty());
}

#[test]
fn basic_auth_is_logged_with_its_scheme_only() {
    let t = start();
    client()
        .post(format!("{}oauth/token", t.issuer()))
        .basic_auth("authcli-m2m", Some("authcli-m2m-secret"))
        .form(&[("grant_type", "client_credentials"), ("audience", API)])
        .send()
        .expect("token");
    let log = t.requests();
    assert_eq!(log[0].headers["authorization"], "Basic ***");
}

#[test]
fn reset_forgets_codes_and_clock_advances_are_reported() {
    let t = start();
    let code = code(&t, &[]);
    let clock: Value = control(&t, Method::POST, "clock", Some(json!({"advance_secs": 30})))
        .json()
        .expect("clock JSON");
    assert_eq!(clock["offset_secs"], 30);
    assert_eq!(control(&t, Method::POST, "reset", None).status(), 204);
    assert_eq!(exchange(&t, &code).0, 403);
}

#[test]
fn unknown_paths_and_wrong_methods_are_json_errors() {
    let t = start();
    let resp = client()
        .get(format!("{}nope", t.issuer()))
        .send()
        .expect("get");
    assert_eq!(resp.status(), 404);
    let resp = client()
        .get(format!("{}oauth/token", t.issuer()))
        .send()
        .expect("get");
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
}
