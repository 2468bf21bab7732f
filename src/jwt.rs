//! JWTs: decoding for display and verification against the issuer's JWKS.
//!
//! Verification follows what OIDC Core §3.1.3.7 asks of an id_token: a signature by a key of
//! the issuer's JWKS with the algorithm the key is for (never `none`, never HMAC without a
//! shared secret), `iss` exact, `aud` containing the client id (and `azp` when there are
//! several audiences), `exp` in the future within a leeway, and the login's `nonce`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{errors::ErrorKind, Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde_json::Value;
use url::Url;

use crate::exit::ExitCode;
use crate::http::{HttpClient, HttpError};
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

/// Fetches a JWKS, keeping the keys authcli can use and skipping the rest.
pub async fn fetch_jwks(client: &HttpClient, url: &Url) -> Result<JwkSet, JwtError> {
    let jwks_error = |detail: &str| JwtError::Jwks {
        url: url.to_string(),
        detail: detail.to_string(),
    };
    let doc = client
        .get_json("JWKS", url)
        .await?
        .ok_or_else(|| jwks_error("not found (HTTP 404)"))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| jwks_error("no `keys` array"))?;
    let keys: Vec<Jwk> = keys
        .iter()
        .filter_map(|k| serde_json::from_value(k.clone()).ok())
        .collect();
    Ok(JwkSet { keys })
}

/// What an id_token must match.
#[derive(Debug)]
pub struct IdTokenExpectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: Option<&'a Nonce>,
    pub leeway: u64,
}

/// Picks the key for a token's header: by `kid`, or the only key when there is no `kid`.
fn select_key<'a>(
    what: &'static str,
    jwks: &'a JwkSet,
    kid: Option<&str>,
) -> Result<&'a Jwk, JwtError> {
    match kid {
        Some(kid) => jwks.find(kid).ok_or_else(|| JwtError::UnknownKey {
            what,
            kid: sanitize(kid),
        }),
        None if jwks.keys.len() == 1 => Ok(&jwks.keys[0]),
        None => Err(JwtError::Malformed {
            what,
            detail: "no `kid` in the header and the JWKS has several keys".into(),
        }),
    }
}

/// Whether the token's key id is missing from `jwks` (the caller may refetch once).
pub fn needs_key_refresh(token: &str, jwks: &JwkSet) -> bool {
    match jsonwebtoken::decode_header(token) {
        Ok(header) => header.kid.is_some_and(|kid| jwks.find(&kid).is_none()),
        Err(_) => false,
    }
}

/// Verifies an id_token and returns its claims.
pub fn verify_id_token(
    token: &str,
    jwks: &JwkSet,
    expect: &IdTokenExpectations<'_>,
) -> Result<Value, JwtError> {
    let what = "id_token";
    // Checks the raw header first: jsonwebtoken cannot even parse `alg: none`.
    let (raw_header, _) = decode_unverified(what, token)?;
    let alg_name = raw_header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("(none)");
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Algorithm {
        what,
        alg: sanitize(alg_name),
    })?;
    if header.alg.family() == AlgorithmFamily::Hmac {
        return Err(JwtError::Algorithm {
            what,
            alg: format!("{:?} (a shared-secret signature)", header.alg),
        });
    }
    let jwk = select_key(what, jwks, header.kid.as_deref())?;
    if let Some(key_alg) = jwk.common.key_algorithm {
        if key_alg.to_string() != format!("{:?}", header.alg) {
            return Err(JwtError::Invalid {
                what,
                check: format!(
                    "the header says {:?} but the key is for {key_alg}",
                    header.alg
                ),
            });
        }
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| JwtError::Jwks {
        url: "(JWKS)".into(),
        detail: format!("key {}: {e}", jwk.common.key_id.as_deref().unwrap_or("?")),
    })?;
    if key.family() != header.alg.family() {
        return Err(JwtError::Invalid {
            what,
            check: format!("the key type does not match algorithm {:?}", header.alg),
        });
    }

    let mut validation = Validation::new(header.alg);
    validation.leeway = expect.leeway;
    validation.set_issuer(&[expect.issuer]);
    validation.set_audience(&[expect.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| {
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

    #[test]
    fn alg_none_is_refused() {
        let jwks = JwkSet { keys: vec![] };
        let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
        let err = verify_id_token(
            token,
            &jwks,
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
}
