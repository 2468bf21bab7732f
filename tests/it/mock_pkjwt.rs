//! `private_key_jwt` client authentication at the mock tenant (RFC 7523, OIDC Core §9),
//! through `authcli mock-tenant` over HTTP. A good assertion gets a token; each forgery
//! (another key, another audience, expired, no `jti`, a replay, `alg` none or HS256 keyed
//! with the public key) gets 401 `invalid_client`.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::mock_http::{claims, client, API};
use crate::support::{TempDir, Tenant};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The mock's public test keys (PKCS#8 PEM), published on purpose.
const SEED_KEYS: &str = include_str!("../../src/mock/seed-keys.pem");

/// The `n`th PEM block of the seed-key bundle.
pub fn seed_private_pem(n: usize) -> String {
    SEED_KEYS
        .split_inclusive("-----END PRIVATE KEY-----")
        .filter_map(|block| block.find("-----BEGIN").map(|i| block[i..].to_string()))
        .nth(n)
        .expect("seed key")
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The SPKI public key PEM of a PKCS#8 RSA private key PEM.
pub fn rsa_public_pem(private_pem: &str) -> String {
    let body: String = private_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(body).expect("base64 key");
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).expect("RSA key");
    let spki = pair.public_key().as_der().expect("SPKI");
    pem("PUBLIC KEY", spki.as_ref())
}

/// A fresh P-256 key: (signing key, public JWK).
fn ec_key() -> (EncodingKey, Value) {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("EC key generation");
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("EC key");
    let point = pair.public_key().as_ref().to_vec();
    assert_eq!((point.len(), point[0]), (65, 4), "uncompressed P-256 point");
    let jwk = json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });
    (EncodingKey::from_ec_der(pkcs8.as_ref()), jwk)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

static JTI: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The claims a correct client sends: iss = sub = client id, aud the token endpoint, a
/// short exp and a fresh jti.
fn good_claims(t: &Tenant, client_id: &str) -> Value {
    let n = JTI.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": format!("{}/oauth/token", t.base()),
        "iat": now(),
        "exp": now() + 60,
        "jti": format!("jti-{}-{n}-{}", std::process::id(), now()),
    })
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    encode(&Header::new(alg), claims, key).expect("sign assertion")
}

struct Keys {
    rsa: EncodingKey,
    rsa_public_pem: String,
    other_rsa: EncodingKey,
    ec: EncodingKey,
}

/// A tenant with `pk-rsa` (PEM public key, RS256) and `pk-ec` (JWK, ES256), both granted the
/// built-in API.
fn tenant() -> (Tenant, Keys) {
    let private = seed_private_pem(0);
    let rsa_public_pem = rsa_public_pem(&private);
    let (ec, jwk) = ec_key();
    let toml = format!(
        r#"
[[clients]]
client_id = "pk-rsa"
app_type = "non_interactive"
grant_types = ["client_credentials"]
public_key_pem = """
{rsa_public_pem}"""

[[clients]]
client_id = "pk-ec"
app_type = "non_interactive"
grant_types = ["client_credentials"]
public_key_jwk = {{ kty = "EC", crv = "P-256", x = "{x}", y = "{y}" }}

[[client_grants]]
client_id = "pk-rsa"
audience = "{API}"
scopes = ["read:events"]

[[client_grants]]
client_id = "pk-ec"
audience = "{API}"
scopes = ["read:events"]
"#,
        x = jwk["x"].as_str().unwrap_or_default(),
        y = jwk["y"].as_str().unwrap_or_default(),
    );
    let dir = TempDir::new("pkjwt-config");
    let path = dir.path().join("tenant.toml");
    std::fs::write(&path, toml).expect("write config");
    let t = Tenant::start_with(&["--config", path.to_str().expect("utf-8 path")]);
    let keys = Keys {
        rsa: EncodingKey::from_rsa_pem(private.as_bytes()).expect("RSA signing key"),
        rsa_public_pem,
        other_rsa: EncodingKey::from_rsa_pem(seed_private_pem(1).as_bytes())
            .expect("second RSA key"),
        ec,
    };
    (t, keys)
}

/// Client credentials authenticated by `assertion`.
fn m2m(t: &Tenant, client_id: Option<&str>, assertion: &str) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("audience", API),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    if let Some(id) = client_id {
        form.push(("client_id", id));
    }
    let resp = client()
        .post(format!("{}/oauth/token", t.base()))
        .form(&form)
        .send()
        .expect("token request");
    (resp.status().as_u16(), resp.json().unwrap_or(Value::Null))
}

/// 401 `invalid_client` whose description contains `needle`.
fn assert_refused(result: (u16, Value), needle: &str) {
    let (status, body) = result;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
    let desc = body["error_description"].as_str().unwrap_or_default();
    assert!(desc.contains(needle), "expected {needle:?} in {desc:?}");
    assert!(body.get("access_token").is_none());
}

#[test]
fn a_good_rs256_assertion_gets_a_token_and_is_masked_in_the_log() {
    let (t, k) = tenant();
    let assertion = sign(Algorithm::RS256, &k.rsa, &good_claims(&t, "pk-rsa"));
    let (status, body) = m2m(&t, Some("pk-rsa"), &assertion);
    assert_eq!(status, 200, "{body}");
    let access = claims(body["access_token"].as_str().unwrap_or_default());
    assert_eq!(access["sub"], "pk-rsa@clients");
    assert_eq!(access["gty"], "client-credentials");
    assert_eq!(body["scope"], "read:events");

    let log = t.requests_to("/oauth/token");
    assert_eq!(log[0]["params"]["client_assertion"], "***");
    assert_eq!(log[0]["params"]["client_assertion_type"], ASSERTION_TYPE);
    let text = serde_json::to_string(&log).unwrap_or_default();
    assert!(
        !text.contains(&assertion),
        "the assertion leaked into the log"
    );
}

#[test]
fn a_good_es256_assertion_against_a_jwk_works_without_client_id_and_with_the_issuer_as_aud() {
    let (t, k) = tenant();
    let assertion = sign(Algorithm::ES256, &k.ec, &good_claims(&t, "pk-ec"));
    let (status, body) = m2m(&t, None, &assertion);
    assert_eq!(status, 200, "{body}");
    let mut c = good_claims(&t, "pk-ec");
    c["aud"] = json!(t.issuer);
    let (status, body) = m2m(&t, Some("pk-ec"), &sign(Algorithm::ES256, &k.ec, &c));
    assert_eq!(status, 200, "issuer as aud: {body}");
}

#[test]
fn an_assertion_signed_with_another_key_is_refused() {
    let (t, k) = tenant();
    let assertion = sign(Algorithm::RS256, &k.other_rsa, &good_claims(&t, "pk-rsa"));
    assert_refused(m2m(&t, Some("pk-rsa"), &assertion), "signature");
    // pk-ec's key is not pk-rsa's, even with the right alg for it.
    let assertion = sign(Algorithm::ES256, &k.ec, &good_claims(&t, "pk-rsa"));
    assert_refused(m2m(&t, Some("pk-rsa"), &assertion), "alg 'ES256'");
}

#[test]
fn a_wrong_audience_is_refused() {
    let (t, k) = tenant();
    for aud in [
        json!("https://other-tenant.example.test/oauth/token"),
        json!(API),
        json!(["https://elsewhere.example.test/"]),
    ] {
        let mut c = good_claims(&t, "pk-rsa");
        c["aud"] = aud;
        assert_refused(
            m2m(&t, Some("pk-rsa"), &sign(Algorithm::RS256, &k.rsa, &c)),
            "aud",
        );
    }
}

#[test]
fn expired_or_far_future_assertions_are_refused() {
    let (t, k) = tenant();
    let mut c = good_claims(&t, "pk-rsa");
    c["exp"] = json!(now() - 120);
    assert_refused(
        m2m(&t, Some("pk-rsa"), &sign(Algorithm::RS256, &k.rsa, &c)),
        "expired",
    );
    let mut c = good_claims(&t, "pk-rsa");
    c["exp"] = json!(now() + 3600);
    assert_refused(
        m2m(&t, Some("pk-rsa"), &sign(Algorithm::RS256, &k.rsa, &c)),
        "at most 300 s",
    );
    let mut c = good_claims(&t, "pk-rsa");
    c.as_object_mut().map(|m| m.remove("exp"));
    assert_refused(
        m2m(&t, Some("pk-rsa"), &sign(Algorithm::RS256, &k.rsa, &c)),
        "exp is missing",
    );
}

#[test]
fn a_missing_jti_is_refused() {
    let (t, k) = tenant();
    let mut c = good_claims(&t, "pk-rsa");
    c.as_object_mut().map(|m| m.remove("jti"));
    assert_refused(
        m2m(&t, Some("pk-rsa"), &sign(Algorithm::RS256, &k.rsa, &c)),
        "jti is missing",
    );
}

#[test]
fn a_replayed_assertion_is_refused_naming_the_replay() {
    let (t, k) = tenant();
    let assertion = sign(Algorithm::RS256, &k.rsa, &good_claims(&t, "pk-rsa"));
    let (status, body) = m2m(&t, Some("pk-rsa"), &assertion);
    assert_eq!(status, 200, "{body}");
    assert_refused(m2m(&t, Some("pk-rsa"), &assertion), "replayed");
}

#[test]
fn iss_and_sub_must_be_the_client() {
    let (t, k) = tenant();
    let mut c = good_claims(&t, "pk-rsa");
    c["sub"] = json!("someone-else");
    assert_refused(
        m2m(&t, Some("pk-rsa"), &sign(Algorithm::RS256, &k.rsa, &c)),
        "sub must be the client_id",
    );
    // An assertion for pk-rsa presented as pk-ec.
    let assertion = sign(Algorithm::RS256, &k.rsa, &good_claims(&t, "pk-rsa"));
    assert_refused(m2m(&t, Some("pk-ec"), &assertion), "iss 'pk-rsa'");
}

#[test]
fn alg_none_and_hs256_keyed_with_the_public_key_are_refused() {
    let (t, k) = tenant();
    let c = good_claims(&t, "pk-rsa");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(c.to_string())
    );
    assert_refused(m2m(&t, Some("pk-rsa"), &unsigned), "alg 'none'");
    // The classic confusion attack: HMAC with the (public) PEM as the secret.
    let hmac = EncodingKey::from_secret(k.rsa_public_pem.as_bytes());
    let forged = sign(Algorithm::HS256, &hmac, &good_claims(&t, "pk-rsa"));
    assert_refused(m2m(&t, Some("pk-rsa"), &forged), "alg 'HS256'");
}

#[test]
fn a_key_client_cannot_skip_authentication_or_use_a_guess_as_secret() {
    let (t, _) = tenant();
    let resp = client()
        .post(format!("{}/oauth/token", t.base()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "pk-rsa"),
            ("audience", API),
        ])
        .send()
        .expect("token request");
    assert_refused(
        (resp.status().as_u16(), resp.json().unwrap_or(Value::Null)),
        "private_key_jwt",
    );
    let resp = client()
        .post(format!("{}/oauth/token", t.base()))
        .basic_auth("pk-rsa", Some("guess"))
        .form(&[("grant_type", "client_credentials"), ("audience", API)])
        .send()
        .expect("token request");
    assert_eq!(resp.status(), 401);
}

#[test]
fn discovery_advertises_private_key_jwt() {
    let t = Tenant::start();
    let doc: Value = client()
        .get(format!("{}/.well-known/openid-configuration", t.base()))
        .send()
        .and_then(|r| r.json())
        .expect("discovery");
    let methods = &doc["token_endpoint_auth_methods_supported"];
    assert_eq!(
        methods,
        &json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert_eq!(
        doc["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
}

#[test]
fn revoke_authenticates_key_clients_the_same_way() {
    let (t, k) = tenant();
    let revoke = |assertion: &str| {
        let resp = client()
            .post(format!("{}/oauth/revoke", t.base()))
            .form(&[
                ("token", "v1.not-a-token-of-this-client"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion),
            ])
            .send()
            .expect("revoke request");
        (resp.status().as_u16(), resp.json().unwrap_or(Value::Null))
    };
    let forged = sign(Algorithm::RS256, &k.other_rsa, &good_claims(&t, "pk-rsa"));
    assert_refused(revoke(&forged), "signature");
    let good = sign(Algorithm::RS256, &k.rsa, &good_claims(&t, "pk-rsa"));
    assert_eq!(revoke(&good).0, 200);
}
