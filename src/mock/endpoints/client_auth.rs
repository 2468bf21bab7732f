//! Client authentication at the token, device and revocation endpoints: none, secret (post or basic), and RFC 7523 `private_key_jwt` assertions with replay and audience checks.

#[allow(unused_imports)]
use super::*;

/// Authenticates the client of a token-endpoint style request (RFC 6749 §2.3).
pub(super) fn authenticate<'a>(
    shared: &'a Shared,
    req: &Req,
    p: &Params,
) -> Result<&'a ClientConfig, OAuthError> {
    let flavor = shared.flavor;
    let unauthorized = |basic: bool| {
        let e = match flavor {
            Flavor::Auth0 => OAuthError::new("access_denied", "Unauthorized"),
            Flavor::Rfc => OAuthError::new("invalid_client", "Client authentication failed"),
        }
        .with_status(401);
        if basic {
            e.with_header("www-authenticate", "Basic realm=\"mock-tenant\"")
        } else {
            e
        }
    };
    let basic = match req.header(hyper::header::AUTHORIZATION) {
        Some(value) => match value.split_once(' ') {
            Some((scheme, cred)) if scheme.eq_ignore_ascii_case("basic") => {
                Some(decode_basic(cred.trim()).ok_or_else(|| unauthorized(true))?)
            }
            _ => None,
        },
        None => None,
    };
    let body_id = p.get("client_id").filter(|c| !c.is_empty());
    let body_secret = p.get("client_secret");
    if p.get("client_assertion").is_some() || p.get("client_assertion_type").is_some() {
        if basic.is_some() || body_secret.is_some() {
            return Err(OAuthError::new(
                "invalid_request",
                "Use one client authentication method: client_assertion, Basic or client_secret, not several",
            ));
        }
        return authenticate_assertion(shared, req, p);
    }
    let (client_id, secret, method) = match (&basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::new(
                "invalid_request",
                "Use one client authentication method: Basic or client_secret, not both",
            ))
        }
        (Some((id, _)), Some(other), None) if other != id => {
            return Err(OAuthError::new(
                "invalid_request",
                "client_id in the body differs from the one in the Authorization header",
            ))
        }
        (Some((id, secret)), _, None) => (
            id.as_str(),
            Some(secret.as_str()),
            AuthMethod::ClientSecretBasic,
        ),
        (None, Some(id), Some(secret)) => (id, Some(secret), AuthMethod::ClientSecretPost),
        (None, Some(id), None) => (id, None, AuthMethod::None),
        (None, None, _) => {
            return Err(OAuthError::new(
                "invalid_request",
                "Missing required parameter: client_id",
            ))
        }
    };
    let Some(client) = shared.tenant.client(client_id) else {
        return Err(unauthorized(basic.is_some()));
    };
    // Public clients cannot keep a secret; one sent anyway proves nothing and is ignored.
    if !client.is_confidential() {
        return Ok(client);
    }
    let accepted = client.accepted_auth_methods();
    match (secret, &client.secret) {
        (Some(s), Some(expected)) if accepted.contains(&method) && constant_time_eq(s, expected) => {
            Ok(client)
        }
        (None, _) if accepted == [AuthMethod::PrivateKeyJwt] => Err(OAuthError::new(
            "invalid_client",
            format!(
                "Client '{client_id}' authenticates with private_key_jwt: send client_assertion and client_assertion_type={ASSERTION_TYPE}"
            ),
        )
        .with_status(401)),
        _ => Err(unauthorized(basic.is_some())),
    }
}

/// RFC 7523 §2.2 `client_assertion_type` for `private_key_jwt`.
pub(super) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest an assertion may still be valid for when it arrives (its `exp` minus now).
pub(super) const ASSERTION_MAX_LIFETIME_SECS: i64 = 300;
/// Clock skew tolerated on top of that, and for `nbf`.
pub(super) const ASSERTION_SKEW_SECS: i64 = 30;

/// The real clock, in seconds: assertions are signed with the client's clock, which
/// `POST /__mock/clock` does not move, so their `exp` is checked against the real time.
pub(super) fn wall_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `private_key_jwt` (RFC 7523 §3, OIDC Core §9): the client proves itself with a JWT signed
/// by the key registered for it. Every failure is 401 `invalid_client` saying what was wrong.
pub(super) fn authenticate_assertion<'a>(
    shared: &'a Shared,
    req: &Req,
    p: &Params,
) -> Result<&'a ClientConfig, OAuthError> {
    let bad = |why: String| OAuthError::new("invalid_client", why).with_status(401);
    match p.get("client_assertion_type") {
        Some(ASSERTION_TYPE) => {}
        Some(other) => {
            return Err(bad(format!(
                "client_assertion_type '{other}' is not supported: use {ASSERTION_TYPE}"
            )))
        }
        None => {
            return Err(bad(format!(
                "client_assertion_type is missing: send {ASSERTION_TYPE} with client_assertion"
            )))
        }
    }
    let Some(jwt) = p.get("client_assertion").filter(|a| !a.is_empty()) else {
        return Err(bad("client_assertion is missing".into()));
    };
    let Some((header, claims)) = peek_jwt(jwt) else {
        return Err(bad(
            "client_assertion is not a signed JWT (header.payload.signature, base64url JSON)"
                .into(),
        ));
    };
    // Unverified so far: only used to find the client whose key must verify it.
    let iss = claims.get("iss").and_then(Value::as_str);
    let client_id = match (p.get("client_id").filter(|c| !c.is_empty()), iss) {
        (Some(id), Some(iss)) if id != iss => {
            return Err(bad(format!(
                "client_assertion: iss '{iss}' is not the client_id '{id}'"
            )))
        }
        (Some(id), _) => id,
        (None, Some(iss)) => iss,
        (None, None) => {
            return Err(bad(
                "client_assertion has no iss: it must be the client_id".into()
            ))
        }
    };
    let Some(client) = shared.tenant.client(client_id) else {
        return Err(bad(format!("Unknown client: {client_id}")));
    };
    let key = match client.assertion_key() {
        Ok(Some(key))
            if client
                .accepted_auth_methods()
                .contains(&AuthMethod::PrivateKeyJwt) =>
        {
            key
        }
        _ => {
            return Err(bad(format!(
            "Client '{client_id}' is not configured for private_key_jwt (no public key registered)"
        )))
        }
    };
    let expected = match key.alg {
        jsonwebtoken::Algorithm::ES256 => "ES256",
        _ => "RS256",
    };
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != expected {
        return Err(bad(format!(
            "client_assertion: alg '{alg}' is not accepted; the key registered for client '{client_id}' verifies {expected} only"
        )));
    }
    let mut validation = jsonwebtoken::Validation::new(key.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    jsonwebtoken::decode::<Value>(jwt, &key.key, &validation).map_err(|e| {
        bad(format!(
            "client_assertion: the signature does not verify with the key registered for client '{client_id}' ({e})"
        ))
    })?;
    let token_endpoint = format!("{}/oauth/token", shared.base);
    let mut audiences = vec![token_endpoint, shared.issuer.clone()];
    let here = format!("{}{}", shared.base, req.path);
    if !audiences.contains(&here) {
        audiences.push(here);
    }
    let now = wall_now();
    let (jti, exp) = check_assertion_claims(&claims, client_id, &audiences, now).map_err(bad)?;
    let mut st = lock(&shared.state);
    // Spent identifiers can be forgotten once their assertion has expired: `exp` refuses it.
    st.assertion_jtis.retain(|_, e| *e >= now);
    let key = (client.client_id.clone(), jti);
    if st.assertion_jtis.contains_key(&key) {
        return Err(bad(format!(
            "client_assertion: jti '{}' was already used: a replayed assertion is refused (make a new jti for each request)",
            key.1
        )));
    }
    st.assertion_jtis.insert(key, exp);
    Ok(client)
}

/// The header and claims of a compact JWS, not verified.
pub(super) fn peek_jwt(
    jwt: &str,
) -> Option<(
    serde_json::Map<String, Value>,
    serde_json::Map<String, Value>,
)> {
    let mut parts = jwt.split('.');
    let (h, c, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode = |s: &str| -> Option<serde_json::Map<String, Value>> {
        match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()? {
            Value::Object(m) => Some(m),
            _ => None,
        }
    };
    Some((decode(h)?, decode(c)?))
}

/// The claim checks of RFC 7523 §3 on a verified assertion; `Ok((jti, exp))`.
pub(super) fn check_assertion_claims(
    claims: &serde_json::Map<String, Value>,
    client_id: &str,
    audiences: &[String],
    now: i64,
) -> Result<(String, i64), String> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) {
        return Err(format!(
            "client_assertion: iss must be the client_id '{client_id}'"
        ));
    }
    if text("sub") != Some(client_id) {
        return Err(format!(
            "client_assertion: sub must be the client_id '{client_id}'"
        ));
    }
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !aud.iter().any(|a| audiences.iter().any(|x| x == a)) {
        let found = if aud.is_empty() {
            "aud is missing".to_string()
        } else {
            format!("aud '{}' is not this tenant", aud.join(" "))
        };
        return Err(format!(
            "client_assertion: {found}: use the token endpoint {} (or the issuer {})",
            audiences.first().map_or("", String::as_str),
            audiences.get(1).map_or("", String::as_str),
        ));
    }
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return Err(
            "client_assertion: exp is missing (a number of seconds since the epoch)".into(),
        );
    };
    if exp <= now {
        return Err(format!(
            "client_assertion: expired {} s ago (exp {exp}); sign a new one for each request",
            now - exp
        ));
    }
    if exp > now + ASSERTION_MAX_LIFETIME_SECS + ASSERTION_SKEW_SECS {
        return Err(format!(
            "client_assertion: exp is {} s ahead; the mock tenant accepts assertions valid for at most {ASSERTION_MAX_LIFETIME_SECS} s",
            exp - now
        ));
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64) {
        if nbf > now + ASSERTION_SKEW_SECS {
            return Err(format!("client_assertion: not valid before {nbf} (nbf)"));
        }
    }
    match text("jti").filter(|j| !j.is_empty()) {
        Some(jti) => Ok((jti.to_string(), exp)),
        None => Err("client_assertion: jti is missing; each assertion needs a unique jti".into()),
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` → `(id, secret)` (RFC 6749 §2.3.1).
pub fn decode_basic(cred: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(cred).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    // Only the escapes are decoded: a raw `&` (a client that skipped the encoding) is part of
    // the value, not the end of it.
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={}", s.replace('&', "%26")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}
