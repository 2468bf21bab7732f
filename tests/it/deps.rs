//! Dependency floors (shared/reference/dependency-floors.md): `cargo audit` needs the network,
//! so the known advisories are checked against Cargo.lock here.

/// (crate, minimum version) pairs: every locked version of the crate must be at least this.
const FLOORS: &[(&str, &str)] = &[
    ("jsonwebtoken", "10.3.0"),
    ("hyper", "1.0.0"),
    ("rustls", "0.23.18"),
    ("rustls-webpki", "0.103.13"),
    ("ring", "0.17.12"),
    ("url", "2.5.4"),
    ("idna", "1.0.3"),
    ("tokio", "1.44.2"),
    ("tracing-subscriber", "0.3.20"),
    ("shlex", "1.3.0"),
    ("h2", "0.4.16"),
];

fn parse(v: &str) -> Vec<u64> {
    v.split(['.', '-', '+'])
        .take(3)
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

fn rand_ok(v: &[u64]) -> bool {
    match (v[0], v[1]) {
        (0, 8) => v[2] >= 6,
        (0, 9) => v[2] >= 3,
        (0, 10) => v[2] >= 1,
        (0, minor) => minor > 10,
        _ => true,
    }
}

#[test]
fn locked_dependencies_are_above_known_advisories() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("Cargo.lock is committed");
    let lock: toml::Value = toml::from_str(&lock).expect("Cargo.lock parses");
    let packages = lock["package"].as_array().expect("packages");
    let mut problems = Vec::new();
    let mut seen_jsonwebtoken = false;
    for pkg in packages {
        let name = pkg["name"].as_str().unwrap_or_default();
        let version = pkg["version"].as_str().unwrap_or_default();
        let v = parse(version);
        if let Some((_, floor)) = FLOORS.iter().find(|(n, _)| *n == name) {
            if v < parse(floor) {
                problems.push(format!("{name} {version} < {floor}"));
            }
        }
        if name == "rand" && !rand_ok(&v) {
            problems.push(format!("rand {version} has RUSTSEC-2026-0097"));
        }
        if name == "webbrowser" && v < parse("1.2.2") {
            problems.push(format!("webbrowser {version} < 1.2.2"));
        }
        if name == "openssl" || name == "openssl-sys" || name == "native-tls" {
            problems.push(format!("{name} is in the tree: authcli uses rustls only"));
        }
        seen_jsonwebtoken |= name == "jsonwebtoken";
    }
    assert!(seen_jsonwebtoken, "jsonwebtoken should be locked");
    assert!(
        problems.is_empty(),
        "dependency floors violated: {problems:#?}"
    );
}

#[test]
fn jsonwebtoken_has_a_crypto_backend() {
    // jsonwebtoken ≥ 10 panics at first use without a backend feature: use it once.
    let key = jsonwebtoken::EncodingKey::from_secret(b"k");
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::json!({"sub": "x", "exp": 4_000_000_000u64}),
        &key,
    )
    .expect("encode");
    let mut validation = jsonwebtoken::Validation::default();
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(b"k"),
        &validation,
    )
    .expect("decode");
    assert_eq!(data.claims["sub"], "x");
}
