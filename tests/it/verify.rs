//! `authcli verify` (SPEC §9) and the JWKS cache behind it and the id_token check, against
//! the mock tenant. Bad tokens are crafted here with the mock's public seed keys (`--seed 0`
//! makes seed key 0 the signing key and seed key 1 the announced next key).

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use authcli::mock::SigningKey;

use crate::support::{
    authcli, browse_plain, now, run, start_login, Finished, TempDir, Tenant, AUDIENCE,
};

const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Seed key `i` of the mock (src/mock/seed-keys.pem: public test keys).
pub fn seed_key(i: usize) -> SigningKey {
    let bundle = include_str!("../../src/mock/seed-keys.pem");
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in bundle.lines() {
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END ") {
            blocks.push(std::mem::take(&mut current));
        }
    }
    SigningKey::from_pem(&blocks[i % blocks.len()]).expect("seed key parses")
}

/// The mock with deterministic keys.
pub fn seeded_tenant() -> Tenant {
    Tenant::start_with(&["--seed", "0"])
}

/// Claims of a good access token from `tenant`.
pub fn good_claims(tenant: &Tenant) -> Value {
    let now = now();
    json!({
        "iss": tenant.issuer, "sub": "auth0|alice", "aud": [AUDIENCE, format!("{}userinfo", tenant.issuer)],
        "iat": now, "exp": now + 3600, "scope": "openid read:events", "azp": "authcli-test",
    })
}

/// An RS256 JWT signed by `key` with its own kid.
pub fn sign(key: &SigningKey, claims: &Value) -> String {
    key.sign(
        &json!({"alg": "RS256", "typ": "JWT", "kid": key.kid}),
        claims,
    )
    .expect("signs")
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

pub fn verify(tenant: &Tenant, home: &Path, token: &str, extra: &[&str]) -> Finished {
    let mut cmd = authcli(home);
    cmd.args([
        "verify",
        token,
        "--issuer",
        &tenant.issuer,
        "--audience",
        AUDIENCE,
    ])
    .args(extra);
    run(cmd)
}

fn rotate(tenant: &Tenant) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/__mock/keys/rotate", tenant.base()))
        .bearer_auth(&tenant.control_token)
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

fn assert_invalid(out: &Finished, check: &str) {
    assert_eq!(out.code, Some(7), "stderr:\n{}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "claims printed for an invalid token: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains(check),
        "stderr does not name {check:?}:\n{}",
        out.stderr
    );
}

#[test]
fn good_token_is_valid_and_its_claims_go_to_stdout() {
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-good");
    let token = sign(&seed_key(0), &good_claims(&tenant));
    let out = verify(&tenant, home.path(), &token, &["--scope", "read:events"]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    let claims: Value = serde_json::from_str(&out.stdout).expect("claims as JSON");
    assert_eq!(claims["sub"], "auth0|alice");
    assert_eq!(claims["iss"], tenant.issuer.as_str());
    assert!(
        !out.stderr.contains(&token),
        "the token is echoed on stderr"
    );
}

#[test]
fn a_token_the_mock_issued_verifies() {
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-m2m");
    let resp: Value = reqwest::blocking::Client::new()
        .post(format!("{}/oauth/token", tenant.base()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "authcli-m2m"),
            ("client_secret", "authcli-m2m-secret"),
            ("audience", AUDIENCE),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = resp["access_token"].as_str().unwrap();
    let out = verify(&tenant, home.path(), token, &["--scope", "write:events"]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
}

#[test]
fn each_failing_check_exits_7_and_is_named() {
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-bad");
    let key = seed_key(0);
    let good = good_claims(&tenant);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let now = now();

    // Signature: one flipped bit.
    let token = sign(&key, &good);
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bytes[0] ^= 1;
    let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes));
    assert_invalid(
        &verify(&tenant, home.path(), &tampered, &[]),
        "`signature` check",
    );

    // Claims changed after signing, signature kept.
    let forged = format!(
        "{}.{}.{}",
        token.split('.').next().unwrap(),
        b64(&with("scope", json!("read:events write:admin"))),
        token.rsplit('.').next().unwrap()
    );
    assert_invalid(
        &verify(&tenant, home.path(), &forged, &[]),
        "`signature` check",
    );

    // alg none.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&good)
    );
    assert_invalid(&verify(&tenant, home.path(), &none, &[]), "algorithm none");

    // HS256 with the RSA public key as the shared secret (algorithm confusion).
    let public_key = key.jwk.to_string();
    let confused = hs256(
        public_key.as_bytes(),
        &json!({"alg": "HS256", "typ": "JWT", "kid": key.kid}),
        &good,
    );
    assert_invalid(&verify(&tenant, home.path(), &confused, &[]), "HS256");

    let expired = with("exp", json!(now - 3600));
    assert_invalid(
        &verify(&tenant, home.path(), &sign(&key, &expired), &[]),
        "`exp` check: expired at",
    );
    let early = with("nbf", json!(now + 3600));
    assert_invalid(
        &verify(&tenant, home.path(), &sign(&key, &early), &[]),
        "`nbf` check",
    );
    let wrong_iss = with("iss", json!("https://evil.example.test/"));
    assert_invalid(
        &verify(&tenant, home.path(), &sign(&key, &wrong_iss), &[]),
        "`iss` check: `iss` is `https://evil.example.test/`",
    );
    let wrong_aud = with("aud", json!("https://other-api.example.test"));
    assert_invalid(
        &verify(&tenant, home.path(), &sign(&key, &wrong_aud), &[]),
        "`aud` check: `aud` is \"https://other-api.example.test\"",
    );
    assert_invalid(
        &verify(
            &tenant,
            home.path(),
            &sign(&key, &good),
            &["--scope", "delete:events"],
        ),
        "`scope` check: `delete:events`",
    );
    assert_invalid(
        &verify(
            &tenant,
            home.path(),
            &sign(&key, &good),
            &["--require-typ", "at+jwt"],
        ),
        "`typ` check",
    );
    // Within the leeway, and outside a smaller one.
    let just_expired = with("exp", json!(now - 30));
    assert_eq!(
        verify(&tenant, home.path(), &sign(&key, &just_expired), &[]).code,
        Some(0)
    );
    assert_invalid(
        &verify(
            &tenant,
            home.path(),
            &sign(&key, &just_expired),
            &["--leeway", "0"],
        ),
        "`exp` check",
    );
}

#[test]
fn a_scope_held_only_in_permissions_passes() {
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-perms");
    let mut claims = good_claims(&tenant);
    claims["scope"] = json!("openid");
    claims["permissions"] = json!(["read:events"]);
    let token = sign(&seed_key(0), &claims);
    let out = verify(&tenant, home.path(), &token, &["--scope", "read:events"]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    let out = verify(&tenant, home.path(), &token, &["--scope", "write:events"]);
    assert_invalid(&out, "`scope` check");
}

#[test]
fn a_second_verify_within_max_age_makes_no_jwks_request() {
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-cache");
    let token = sign(&seed_key(0), &good_claims(&tenant));
    assert_eq!(verify(&tenant, home.path(), &token, &[]).code, Some(0));
    assert_eq!(tenant.requests_to(JWKS_PATH).len(), 1);
    let out = verify(&tenant, home.path(), &token, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        tenant.requests_to(JWKS_PATH).len(),
        1,
        "the second verify fetched the JWKS again"
    );
    // The cache entry is private and named by a hash, not the URL.
    let dir = home.path().join("cache").join("jwks");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().into_string().unwrap();
    assert!(!name.contains("127.0.0.1"), "{name}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            files[0].metadata().unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}

#[test]
fn after_two_rotations_the_new_key_verifies_with_exactly_one_refetch() {
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-rotate");
    let token = sign(&seed_key(0), &good_claims(&tenant));
    assert_eq!(verify(&tenant, home.path(), &token, &[]).code, Some(0));
    rotate(&tenant);
    rotate(&tenant);
    tenant.clear_requests();
    // Two rotations later seed key 2 signs; the cached set (keys 0 and 1) does not list it.
    let rotated = sign(&seed_key(2), &good_claims(&tenant));
    let out = verify(&tenant, home.path(), &rotated, &[]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert_eq!(tenant.requests_to(JWKS_PATH).len(), 1);
}

#[test]
fn an_unknown_kid_fails_after_exactly_one_refetch() {
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-kid");
    let token = sign(&seed_key(0), &good_claims(&tenant));
    assert_eq!(verify(&tenant, home.path(), &token, &[]).code, Some(0));
    tenant.clear_requests();
    let stranger = seed_key(4)
        .sign(
            &json!({"alg": "RS256", "typ": "JWT", "kid": "never-published"}),
            &good_claims(&tenant),
        )
        .unwrap();
    let out = verify(&tenant, home.path(), &stranger, &[]);
    assert_invalid(&out, "never-published");
    assert_eq!(tenant.requests_to(JWKS_PATH).len(), 1);
    // And again: still one fetch per check, never a loop.
    tenant.clear_requests();
    assert_invalid(
        &verify(&tenant, home.path(), &stranger, &[]),
        "never-published",
    );
    assert_eq!(tenant.requests_to(JWKS_PATH).len(), 1);
}

#[test]
fn no_jwks_is_exit_6_and_a_stale_copy_is_used_only_with_a_warning() {
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-stale");
    let token = sign(&seed_key(0), &good_claims(&tenant));
    tenant.fault(json!({"endpoint": "jwks", "fault": "status", "status": 503, "every": true}));
    let out = verify(&tenant, home.path(), &token, &[]);
    assert_eq!(out.code, Some(6), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("JWKS"), "{}", out.stderr);

    // A copy cached earlier and now expired is used while the issuer fails, with a warning.
    let fresh_home = TempDir::new("verify-stale-2");
    let tenant2 = seeded_tenant();
    let token2 = sign(&seed_key(0), &good_claims(&tenant2));
    assert_eq!(
        verify(&tenant2, fresh_home.path(), &token2, &[]).code,
        Some(0)
    );
    let dir = fresh_home.path().join("cache").join("jwks");
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
        v["expires_at"] = json!(0);
        std::fs::write(entry.path(), v.to_string()).unwrap();
    }
    tenant2.fault(json!({"endpoint": "jwks", "fault": "status", "status": 503, "every": true}));
    let out = verify(&tenant2, fresh_home.path(), &token2, &[]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert!(
        out.stderr.contains("warning:") && out.stderr.contains("cached"),
        "{}",
        out.stderr
    );
}

#[test]
fn jwks_file_checks_offline_and_hmac_needs_a_secret_file() {
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-offline");
    let key = seed_key(0);
    let jwks = home.path().join("jwks.json");
    std::fs::write(&jwks, json!({"keys": [key.jwk]}).to_string()).unwrap();
    let token = sign(&key, &good_claims(&tenant));
    let out = verify(
        &tenant,
        home.path(),
        &token,
        &["--jwks-file", jwks.to_str().unwrap()],
    );
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert!(
        tenant.requests().is_empty(),
        "an offline check talked to the issuer"
    );

    let secret = home.path().join("secret");
    std::fs::write(&secret, "a-shared-secret-of-32-bytes-long\n").unwrap();
    let hs = hs256(
        b"a-shared-secret-of-32-bytes-long",
        &json!({"alg": "HS256", "typ": "JWT"}),
        &good_claims(&tenant),
    );
    assert_invalid(&verify(&tenant, home.path(), &hs, &[]), "HS256");
    let out = verify(
        &tenant,
        home.path(),
        &hs,
        &["--secret-file", secret.to_str().unwrap()],
    );
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    let mut cmd = authcli(home.path());
    cmd.args([
        "verify",
        &hs,
        "--issuer",
        &tenant.issuer,
        "--audience",
        AUDIENCE,
    ])
    .env("AUTHCLI_VERIFY_SECRET", "another-secret-another-secret!!");
    assert_invalid(&run(cmd), "`signature` check");
    // A secret on argv is refused before anything else.
    let out = verify(
        &tenant,
        home.path(),
        &hs,
        &["--secret", "a-shared-secret-of-32-bytes-long"],
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--secret-file") && !out.stderr.contains("a-shared-secret"));
}

#[test]
fn login_survives_a_key_rotated_just_before_signing() {
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-login-rotation");
    let login = |home: &TempDir| {
        let mut running = start_login(&tenant, home, &["--no-store"]);
        browse_plain(&running.start_url());
        running.finish()
    };
    // The first login caches the JWKS (current and next key).
    let out = login(&home);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert_eq!(tenant.requests_to(JWKS_PATH).len(), 1);
    // Now a key nobody has seen signs the tokens (OIDF "signing-key-rotation-just-before-signing").
    tenant.fault(json!({"endpoint": "token", "fault": "rotate_before_signing"}));
    tenant.clear_requests();
    let out = login(&home);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert_eq!(
        tenant.requests_to(JWKS_PATH).len(),
        1,
        "the unknown key should cost exactly one refetch"
    );
    let tokens: Value = serde_json::from_str(&out.stdout).unwrap();
    let header = authcli::jwt::decode_unverified("id_token", tokens["id_token"].as_str().unwrap())
        .unwrap()
        .0;
    assert_ne!(header["kid"], seed_key(0).kid.as_str());
    assert_ne!(header["kid"], seed_key(1).kid.as_str());
}

/// With no token argument and stdin a terminal, verify checks the current session's access
/// token (util-linux `script` provides the terminal).
#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_without_a_token_the_sessions_access_token_is_verified() {
    let Some(script_bin) = crate::tools::script(
        "verify::on_a_terminal_without_a_token_the_sessions_access_token_is_verified",
    ) else {
        return;
    };
    let tenant = seeded_tenant();
    let home = TempDir::new("verify-session");
    let mut running = start_login(&tenant, &home, &[]);
    browse_plain(&running.start_url());
    assert_eq!(running.finish().code, Some(0));
    let line = format!(
        "{} verify --scope read:events -o json",
        crate::support::bin().display()
    );
    let mut script = std::process::Command::new(&script_bin);
    script
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        .env("AUTHCLI_HOME", home.path())
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::null());
    let out = run(script);
    assert_eq!(
        out.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("current session") && out.stdout.contains("\"sub\": \"auth0|alice\""),
        "{}",
        out.stdout
    );
}
