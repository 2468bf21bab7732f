//! JWTs: decoding for display and verification against the issuer's JWKS.
//!
//! Verification follows what OIDC Core §3.1.3.7 asks of an id_token: a signature by a key of
//! the issuer's JWKS with the algorithm the key is for (never `none`, never HMAC without a
//! shared secret), `iss` exact, `aud` containing the client id (and `azp` when there are
//! several audiences), `exp` in the future within a leeway, and the login's `nonce`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{
    errors::ErrorKind, Algorithm, AlgorithmFamily, DecodingKey, Header, Validation,
};
use serde_json::Value;

use crate::exit::ExitCode;
use crate::http::HttpError;
use crate::output::sanitize;
use crate::secret::Nonce;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Why a JWT was refused.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("the {what} is not a well-formed JWT: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("the {what} uses algorithm {alg}, which authcli does not accept here (it accepts RS256/384/512, PS256/384/512, ES256/384 and EdDSA)\n  hint: configure the application at the provider to sign with one of those")]
    Algorithm { what: &'static str, alg: String },
    #[error("the {what} was signed with key `{kid}`, which the issuer's JWKS does not list")]
    UnknownKey { what: &'static str, kid: String },
    #[error("the {what} failed validation: {check}")]
    Invalid { what: &'static str, check: String },
    /// One named check of SPEC §9 failed; `detail` says what was found.
    #[error("the {what} failed the `{check}` check: {detail}")]
    Check {
        what: &'static str,
        check: &'static str,
        detail: String,
    },
    #[error("the issuer's JWKS at {url} is not usable: {detail}")]
    Jwks { url: String, detail: String },
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl JwtError {
    /// Exit code of SPEC §7: an answer that failed validation is a refusal (3).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            JwtError::Http(e) => e.exit_code(),
            JwtError::Jwks { .. } => ExitCode::Unreachable,
            _ => ExitCode::Refused,
        }
    }
}

/// Header and claims of a JWT, without any verification.
pub fn decode_unverified(what: &'static str, token: &str) -> Result<(Value, Value), JwtError> {
    let malformed = |detail: &str| JwtError::Malformed {
        what,
        detail: detail.to_string(),
    };
    let mut parts = token.trim().split('.');
    let (Some(header), Some(claims), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected three dot-separated parts"));
    };
    let part = |name: &str, text: &str| -> Result<Value, JwtError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| malformed(&format!("the {name} is not base64url")))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| malformed(&format!("the {name} is not JSON")))?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(malformed(&format!("the {name} is not a JSON object")))
        }
    };
    Ok((part("header", header)?, part("claims", claims)?))
}

/// What an id_token must match.
#[derive(Debug)]
pub struct IdTokenExpectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: Option<&'a Nonce>,
    pub leeway: u64,
}

/// Reads a token's header and refuses algorithms authcli never accepts: `none`, anything
/// unknown, and HMAC unless the caller holds a shared secret (`allow_hmac`).
pub fn parse_header(what: &'static str, token: &str, allow_hmac: bool) -> Result<Header, JwtError> {
    // Checks the raw header first: jsonwebtoken cannot even parse `alg: none`.
    let (raw_header, _) = decode_unverified(what, token)?;
    let alg_name = raw_header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("(none)");
    let header = jsonwebtoken::decode_header(token.trim()).map_err(|_| JwtError::Algorithm {
        what,
        alg: sanitize(alg_name),
    })?;
    if header.alg.family() == AlgorithmFamily::Hmac && !allow_hmac {
        return Err(JwtError::Algorithm {
            what,
            alg: format!(
                "{:?} (a shared-secret signature: only with --secret-file or AUTHCLI_VERIFY_SECRET)",
                header.alg
            ),
        });
    }
    Ok(header)
}

/// Whether `jwk` may verify a signature made with `alg` (RFC 7517 §4, RFC 8725 §3.1): not an
/// encryption key, the key's own `alg` (when it names one) equal to the header's, the right
/// key type and curve, RSA keys of at least 2048 bits.
pub fn key_fits(jwk: &Jwk, alg: Algorithm) -> Result<(), String> {
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return Err("the key is for encryption (`use: enc`)".into());
    }
    if let Some(key_alg) = jwk.common.key_algorithm {
        if key_alg.to_string() != format!("{alg:?}") {
            return Err(format!(
                "the header says {alg:?} but the key is for {key_alg}"
            ));
        }
    }
    match (&jwk.algorithm, alg.family()) {
        (AlgorithmParameters::RSA(rsa), AlgorithmFamily::Rsa) => {
            let n = URL_SAFE_NO_PAD
                .decode(rsa.n.trim_end_matches('='))
                .map_err(|_| "the RSA modulus is not base64url".to_string())?;
            let bits = rsa_bits(&n);
            if bits < 2048 {
                return Err(format!("the RSA key has {bits} bits, fewer than 2048"));
            }
            Ok(())
        }
        (AlgorithmParameters::EllipticCurve(ec), AlgorithmFamily::Ec) => {
            let want = match alg {
                Algorithm::ES256 => EllipticCurve::P256,
                _ => EllipticCurve::P384,
            };
            if ec.curve == want {
                Ok(())
            } else {
                Err(format!(
                    "the key's curve {:?} does not fit {alg:?}",
                    ec.curve
                ))
            }
        }
        (AlgorithmParameters::OctetKeyPair(okp), AlgorithmFamily::Ed)
            if okp.curve == EllipticCurve::Ed25519 =>
        {
            Ok(())
        }
        _ => Err(format!("the key type does not fit algorithm {alg:?}")),
    }
}

fn rsa_bits(n: &[u8]) -> usize {
    let start = n.iter().position(|b| *b != 0).unwrap_or(n.len());
    let n = &n[start..];
    match n.first() {
        Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

/// Picks the key for a token's header: the key with its `kid`, or without a `kid` the only
/// key of the right type. `UnknownKey` means the caller may refetch the JWKS once.
pub fn select_key<'a>(
    what: &'static str,
    jwks: &'a JwkSet,
    header: &Header,
) -> Result<&'a Jwk, JwtError> {
    let unfit = |jwk: &Jwk, why: String| JwtError::Check {
        what,
        check: "key",
        detail: format!(
            "key `{}` of the JWKS cannot verify it: {why}",
            sanitize(jwk.common.key_id.as_deref().unwrap_or("(no kid)"))
        ),
    };
    match header.kid.as_deref() {
        Some(kid) => {
            let jwk = jwks.find(kid).ok_or_else(|| JwtError::UnknownKey {
                what,
                kid: sanitize(kid),
            })?;
            key_fits(jwk, header.alg).map_err(|why| unfit(jwk, why))?;
            Ok(jwk)
        }
        None => {
            let fitting: Vec<&Jwk> = jwks
                .keys
                .iter()
                .filter(|k| key_fits(k, header.alg).is_ok())
                .collect();
            match fitting.as_slice() {
                [one] => Ok(one),
                [] => Err(JwtError::UnknownKey {
                    what,
                    kid: format!("(none; no {:?} key)", header.alg),
                }),
                _ => Err(JwtError::Check {
                    what,
                    check: "kid",
                    detail: format!(
                        "no `kid` in the header and the JWKS has {} keys for {:?}",
                        fitting.len(),
                        header.alg
                    ),
                }),
            }
        }
    }
}

/// The verification key for `jwk`, after [`key_fits`].
pub fn decoding_key(
    what: &'static str,
    jwk: &Jwk,
    alg: Algorithm,
) -> Result<DecodingKey, JwtError> {
    key_fits(jwk, alg).map_err(|why| JwtError::Check {
        what,
        check: "key",
        detail: why,
    })?;
    DecodingKey::from_jwk(jwk).map_err(|e| JwtError::Check {
        what,
        check: "key",
        detail: format!(
            "key {} is not usable: {e}",
            sanitize(jwk.common.key_id.as_deref().unwrap_or("?"))
        ),
    })
}

/// Checks the signature only and returns the claims; the caller checks the claims.
pub fn verify_signature(
    what: &'static str,
    token: &str,
    key: &DecodingKey,
    alg: Algorithm,
) -> Result<Value, JwtError> {
    crate::crypto_init();
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    match jsonwebtoken::decode::<Value>(token.trim(), key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::InvalidSignature => JwtError::Check {
                what,
                check: "signature",
                detail: "the signature does not verify with the issuer's key".into(),
            },
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidKeyFormat => JwtError::Check {
                what,
                check: "alg",
                detail: format!("algorithm {alg:?} does not match the key"),
            },
            other => JwtError::Malformed {
                what,
                detail: format!("{other:?}"),
            },
        }),
    }
}

/// Verifies an id_token with the key [`select_key`] chose and returns its claims.
pub fn verify_id_token(
    token: &str,
    jwk: &Jwk,
    expect: &IdTokenExpectations<'_>,
) -> Result<Value, JwtError> {
    let what = "id_token";
    let header = parse_header(what, token, false)?;
    let key = decoding_key(what, jwk, header.alg)?;
    crate::crypto_init();

    let mut validation = Validation::new(header.alg);
    validation.leeway = expect.leeway;
    validation.set_issuer(&[expect.issuer]);
    validation.set_audience(&[expect.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    let data = jsonwebtoken::decode::<Value>(token.trim(), &key, &validation).map_err(|e| {
        // Name what the token said, so a near-miss (a trailing slash) is easy to spot.
        let found = decode_unverified(what, token)
            .ok()
            .and_then(|(_, c)| c.get("iss").map(|v| sanitize(&v.to_string())));
        describe(what, e.kind(), expect, found.as_deref())
    })?;
    let claims = data.claims;

    if let Some(aud) = claims.get("aud").and_then(Value::as_array) {
        if aud.len() > 1 {
            let azp = claims.get("azp").and_then(Value::as_str);
            if azp != Some(expect.client_id) {
                return Err(JwtError::Invalid {
                    what,
                    check: "several audiences but `azp` is not this client".into(),
                });
            }
        }
    }
    if let Some(nonce) = expect.nonce {
        let got = claims.get("nonce").and_then(Value::as_str);
        if !got.is_some_and(|g| crate::secret::constant_time_eq(g, nonce.expose())) {
            return Err(JwtError::Invalid {
                what,
                check: "the nonce does not match this login (possible replay)".into(),
            });
        }
    }
    Ok(claims)
}

fn describe(
    what: &'static str,
    kind: &ErrorKind,
    expect: &IdTokenExpectations<'_>,
    found_iss: Option<&str>,
) -> JwtError {
    let check = match kind {
        ErrorKind::InvalidSignature => "the signature does not verify".to_string(),
        ErrorKind::ExpiredSignature => "it has expired (exp)".to_string(),
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf)".to_string(),
        ErrorKind::InvalidIssuer => format!(
            "`iss` is {}, not {}",
            found_iss.unwrap_or("missing"),
            expect.issuer
        ),
        ErrorKind::InvalidAudience => format!("`aud` does not contain {}", expect.client_id),
        ErrorKind::MissingRequiredClaim(c) => format!("the `{c}` claim is missing"),
        ErrorKind::InvalidClaimFormat(c) => format!("the `{c}` claim has the wrong type"),
        ErrorKind::InvalidAlgorithm => "the algorithm does not match the key".to_string(),
        other => format!("{other:?}"),
    };
    match kind {
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => JwtError::Malformed {
            what,
            detail: check,
        },
        _ => JwtError::Invalid { what, check },
    }
}

/// The algorithms `verify` accepts by default (SPEC §9): asymmetric only.
pub fn asymmetric_algorithms() -> Vec<Algorithm> {
    [
        AlgorithmFamily::Rsa,
        AlgorithmFamily::Ec,
        AlgorithmFamily::Ed,
    ]
    .iter()
    .flat_map(|f| f.algorithms().iter().copied())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_unverified_rejects_garbage() {
        assert!(decode_unverified("t", "abc").is_err());
        assert!(decode_unverified("t", "a.b.c.d").is_err());
        assert!(decode_unverified("t", "!!.??.x").is_err());
        let (h, c) = decode_unverified("t", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.").unwrap();
        assert_eq!(h["alg"], "none");
        assert_eq!(c["sub"], "x");
    }

    fn rsa_jwk(bytes: usize, extra: Value) -> Jwk {
        let mut n = vec![0xc5u8; bytes];
        n[bytes - 1] = 0x01;
        let mut v = serde_json::json!({"kty": "RSA", "kid": "k", "e": "AQAB", "n": URL_SAFE_NO_PAD.encode(&n)});
        if let (Value::Object(map), Value::Object(more)) = (&mut v, extra) {
            map.extend(more);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn key_selection_follows_rfc_8725() {
        let ok = rsa_jwk(256, serde_json::json!({}));
        assert!(key_fits(&ok, Algorithm::RS256).is_ok());
        assert!(key_fits(&ok, Algorithm::PS384).is_ok());
        let short = rsa_jwk(128, serde_json::json!({}));
        assert!(key_fits(&short, Algorithm::RS256)
            .unwrap_err()
            .contains("1024 bits"));
        let enc = rsa_jwk(256, serde_json::json!({"use": "enc"}));
        assert!(key_fits(&enc, Algorithm::RS256)
            .unwrap_err()
            .contains("encryption"));
        let pinned = rsa_jwk(256, serde_json::json!({"alg": "RS512"}));
        assert!(key_fits(&pinned, Algorithm::RS256).is_err());
        assert!(key_fits(&ok, Algorithm::ES256).is_err());

        // Without a kid: the only key of the right type, else refuse to guess.
        let header = Header::new(Algorithm::RS256);
        let one = JwkSet {
            keys: vec![ok.clone(), enc.clone()],
        };
        assert!(select_key("t", &one, &header).is_ok());
        let two = JwkSet {
            keys: vec![ok.clone(), ok],
        };
        assert!(matches!(
            select_key("t", &two, &header),
            Err(JwtError::Check { check: "kid", .. })
        ));
        let mut with_kid = Header::new(Algorithm::RS256);
        with_kid.kid = Some("other".into());
        assert!(matches!(
            select_key("t", &one, &with_kid),
            Err(JwtError::UnknownKey { .. })
        ));
    }

    #[test]
    fn alg_none_is_refused() {
        let jwk: Jwk =
            serde_json::from_value(serde_json::json!({"kty":"RSA","n":"AQAB","e":"AQAB"})).unwrap();
        let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
        let err = verify_id_token(
            token,
            &jwk,
            &IdTokenExpectations {
                issuer: "https://i/",
                client_id: "c",
                nonce: None,
                leeway: 60,
            },
        )
        .unwrap_err();
        assert!(matches!(err, JwtError::Algorithm { .. }), "{err}");
    }

    /// An RS256 id_token for client `c` of issuer `https://i/`, with `claims` merged in, and
    /// the JWK that verifies it.
    fn signed_id_token(claims: Value) -> (String, Jwk) {
        let key = crate::mock::SigningKey::generate().unwrap();
        let mut all = serde_json::json!({
            "iss": "https://i/", "sub": "alice", "aud": "c",
            "exp": crate::output::now_unix() + 600, "nonce": "n-1",
        });
        if let (Value::Object(map), Value::Object(more)) = (&mut all, claims) {
            map.extend(more);
        }
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": key.kid});
        let token = key.sign(&header, &all).unwrap();
        (token, serde_json::from_value(key.jwk.clone()).unwrap())
    }

    fn check(claims: Value, nonce: Option<&str>) -> Result<Value, JwtError> {
        let (token, jwk) = signed_id_token(claims);
        let nonce = nonce.map(Nonce::new);
        verify_id_token(
            &token,
            &jwk,
            &IdTokenExpectations {
                issuer: "https://i/",
                client_id: "c",
                nonce: nonce.as_ref(),
                leeway: 60,
            },
        )
    }

    fn refused_for(result: Result<Value, JwtError>, needle: &str) {
        match result {
            Err(JwtError::Invalid { check, .. }) => assert!(check.contains(needle), "{check}"),
            other => panic!("expected a refusal naming {needle:?}, got {other:?}"),
        }
    }

    #[test]
    fn azp_is_required_only_with_several_audiences() {
        // One audience, even as an array, needs no `azp` (OIDC Core §3.1.3.7 step 4 and 5).
        let claims = check(serde_json::json!({"aud": ["c"]}), Some("n-1")).unwrap();
        assert_eq!(claims["sub"], "alice");
        assert!(check(serde_json::json!({"aud": "c"}), None).is_ok());
        // Several: `azp` must be this client.
        assert!(check(serde_json::json!({"aud": ["c", "api"], "azp": "c"}), None).is_ok());
        for azp in [serde_json::json!({"azp": "other"}), serde_json::json!({})] {
            let mut claims = serde_json::json!({"aud": ["c", "api"]});
            if let (Value::Object(map), Value::Object(more)) = (&mut claims, azp) {
                map.extend(more);
            }
            refused_for(check(claims, None), "azp");
        }
    }

    #[test]
    fn the_nonce_must_be_this_logins() {
        assert!(check(serde_json::json!({}), Some("n-1")).is_ok());
        refused_for(check(serde_json::json!({}), Some("n-2")), "nonce");
        refused_for(
            check(serde_json::json!({"nonce": Value::Null}), Some("n-1")),
            "nonce",
        );
        // A refresh expects no nonce: one in the token is not checked.
        assert!(check(serde_json::json!({}), None).is_ok());
    }

    fn jwk(value: Value) -> Jwk {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn ec_and_okp_keys_fit_only_their_own_curve() {
        let xy = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let ec = |crv: &str| jwk(serde_json::json!({"kty": "EC", "crv": crv, "x": xy, "y": xy}));
        assert!(key_fits(&ec("P-256"), Algorithm::ES256).is_ok());
        assert!(key_fits(&ec("P-384"), Algorithm::ES384).is_ok());
        assert!(key_fits(&ec("P-384"), Algorithm::ES256).is_err());
        assert!(key_fits(&ec("P-256"), Algorithm::ES384).is_err());
        assert!(key_fits(&ec("P-256"), Algorithm::EdDSA).is_err());

        let okp = |crv: &str| jwk(serde_json::json!({"kty": "OKP", "crv": crv, "x": xy}));
        assert!(key_fits(&okp("Ed25519"), Algorithm::EdDSA).is_ok());
        assert!(key_fits(&okp("P-256"), Algorithm::EdDSA).is_err());
        assert!(key_fits(&okp("Ed25519"), Algorithm::ES256).is_err());
    }

    #[test]
    fn rsa_size_counts_bits_not_bytes() {
        // 256 bytes whose top byte is 0x7f: 2047 bits, one short of the floor.
        let mut n = [0xc5u8; 256];
        n[0] = 0x7f;
        let short =
            jwk(serde_json::json!({"kty": "RSA", "e": "AQAB", "n": URL_SAFE_NO_PAD.encode(n)}));
        let err = key_fits(&short, Algorithm::RS256).unwrap_err();
        assert!(err.contains("2047 bits"), "{err}");
        // A leading zero byte (a signed big-endian encoding) does not count.
        let mut padded = vec![0u8];
        padded.extend([0xc5u8; 256]);
        let ok = jwk(
            serde_json::json!({"kty": "RSA", "e": "AQAB", "n": URL_SAFE_NO_PAD.encode(&padded)}),
        );
        assert!(key_fits(&ok, Algorithm::RS256).is_ok());
        assert_eq!(rsa_bits(&padded), 2048);
        assert_eq!(rsa_bits(&[0, 0]), 0);
    }

    #[test]
    fn without_a_kid_and_no_fitting_key_the_key_is_unknown() {
        // UnknownKey (not a `kid` check failure) is what lets the caller refetch the JWKS once.
        let enc = rsa_jwk(256, serde_json::json!({"use": "enc"}));
        let set = JwkSet { keys: vec![enc] };
        assert!(matches!(
            select_key("t", &set, &Header::new(Algorithm::RS256)),
            Err(JwtError::UnknownKey { .. })
        ));
        assert!(matches!(
            select_key(
                "t",
                &JwkSet { keys: vec![] },
                &Header::new(Algorithm::RS256)
            ),
            Err(JwtError::UnknownKey { .. })
        ));
    }
}
