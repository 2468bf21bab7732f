//! Token minting: access and ID tokens for users and clients, signed after the state lock is released; the faults that tamper with them.

#[allow(unused_imports)]
use super::*;

/// Signs claims with the current key, bending them as a `token_*` fault asks.
pub(super) fn sign(
    shared: &Shared,
    keys: &KeySet,
    mut claims: Value,
    id_token: bool,
    fault: Option<FaultKind>,
) -> Result<String, OAuthError> {
    let key = &keys.current;
    let mut header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid});
    let now = shared.clock.now();
    match fault {
        Some(FaultKind::TokenExpired) => {
            claims["iat"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
        }
        Some(FaultKind::TokenWrongAud) => {
            claims["aud"] = json!(if id_token {
                "wrong-client-id"
            } else {
                "https://wrong-audience.example.test"
            });
        }
        Some(FaultKind::TokenWrongIss) => claims["iss"] = json!(WRONG_ISSUER),
        Some(FaultKind::TokenWrongNonce) if id_token => {
            claims["nonce"] = json!(format!("wrong-{}", shared.rng.token(16)));
        }
        Some(FaultKind::TokenUnknownKid) => {
            header["kid"] = json!(format!("unknown-{}", shared.rng.token(16)));
        }
        Some(FaultKind::TokenAzpMismatch) if id_token => {
            let client = claims["aud"].clone();
            claims["aud"] = json!([client, "https://another-audience.example.test"]);
            claims["azp"] = json!("another-client");
        }
        Some(FaultKind::TokenNbfFuture) => claims["nbf"] = json!(now + 3600),
        Some(FaultKind::TokenMissingNonce) if id_token => {
            if let Some(map) = claims.as_object_mut() {
                map.remove("nonce");
            }
        }
        Some(FaultKind::TokenHs256PublicKey) => {
            // The "key confusion" attack: HMAC keyed with the RSA public key everyone can read.
            header["alg"] = json!("HS256");
            let secret = key
                .public_pem()
                .map_err(|e| OAuthError::new("server_error", e))?;
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let mac = aws_lc_rs::hmac::sign(
                &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes()),
                input.as_bytes(),
            );
            return Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref())));
        }
        Some(FaultKind::TokenAlgNone) => {
            return Ok(format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            ));
        }
        _ => {}
    }
    let jwt = key
        .sign(&header, &claims)
        .map_err(|e| OAuthError::new("server_error", e.to_string()))?;
    if fault == Some(FaultKind::TokenBadSignature) {
        return Ok(tamper(&jwt));
    }
    Ok(jwt)
}

/// Flips one bit of the signature, keeping the token well-formed.
pub(super) fn tamper(jwt: &str) -> String {
    let Some((input, sig)) = jwt.rsplit_once('.') else {
        return jwt.to_string();
    };
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap_or_default();
    if let Some(b) = bytes.first_mut() {
        *b ^= 0x01;
    }
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Profile claims for an ID token or `/userinfo`, driven by scope.
pub(super) fn profile_claims(
    user: &UserConfig,
    scope: &[String],
    out: &mut serde_json::Map<String, Value>,
) {
    let has = |s: &str| scope.iter().any(|x| x == s);
    if has("profile") {
        out.insert("name".into(), json!(user.name));
        out.insert(
            "nickname".into(),
            json!(user
                .nickname
                .clone()
                .unwrap_or_else(|| user.username.clone())),
        );
        out.insert(
            "picture".into(),
            json!(user
                .picture
                .clone()
                .unwrap_or_else(|| format!("https://avatars.example.test/{}.png", user.username))),
        );
        out.insert("updated_at".into(), json!("2024-01-01T00:00:00.000Z"));
    }
    if has("email") {
        out.insert("email".into(), json!(user.email));
        out.insert("email_verified".into(), json!(user.email_verified));
    }
    for (k, v) in &user.claims {
        out.insert(k.clone(), v.clone());
    }
}

pub(super) fn mint_user(
    shared: &Shared,
    keys: &KeySet,
    grant: Grant,
    nonce: Option<String>,
    refresh_token: Option<String>,
    gty: Option<&'static str>,
    fault: Option<FaultKind>,
) -> Result<Value, OAuthError> {
    let tenant = &shared.tenant;
    let user = tenant
        .user_by_id(&grant.user_id)
        .ok_or_else(|| OAuthError::new("invalid_grant", "Unknown user"))?;
    let now = shared.clock.now();
    let openid = grant.scope.iter().any(|s| s == "openid");
    let scope = grant.scope.join(" ");
    let api = grant.audience.as_deref().and_then(|a| tenant.api(a));
    let (access_token, expires_in) = match api {
        Some(api) => {
            let aud = if openid && shared.flavor == Flavor::Auth0 {
                json!([api.identifier, format!("{}userinfo", slash(&shared.issuer))])
            } else {
                json!(api.identifier)
            };
            let mut claims = json!({
                "iss": shared.issuer, "sub": user.user_id, "aud": aud,
                "iat": now, "exp": now + secs(api.token_lifetime_secs),
                "scope": scope, "azp": grant.client_id,
            });
            if api.rbac {
                claims["permissions"] = json!(user
                    .permissions
                    .get(&api.identifier)
                    .cloned()
                    .unwrap_or_default());
            }
            if let Some(g) = gty {
                claims["gty"] = json!(g);
            }
            (
                sign(shared, keys, claims, false, fault)?,
                api.token_lifetime_secs,
            )
        }
        // Without an audience Auth0 issues an opaque token that only `/userinfo` accepts.
        None => (shared.rng.token(32), tenant.lifetimes.access_token_secs),
    };
    if openid {
        lock(&shared.state).access_tokens.insert(
            access_token.clone(),
            IssuedAccess {
                user_id: user.user_id.clone(),
                scope: grant.scope.clone(),
                expires_at: now + secs(expires_in),
            },
        );
    }
    let mut resp = json!({
        "access_token": access_token,
        "scope": scope,
        "expires_in": expires_in,
        "token_type": "Bearer",
    });
    if openid {
        let mut claims = serde_json::Map::new();
        profile_claims(user, &grant.scope, &mut claims);
        claims.insert("iss".into(), json!(shared.issuer));
        claims.insert("sub".into(), json!(user.user_id));
        claims.insert("aud".into(), json!(grant.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert(
            "exp".into(),
            json!(now + secs(tenant.lifetimes.id_token_secs)),
        );
        claims.insert("sid".into(), json!(grant.sid));
        if let Some(n) = nonce {
            claims.insert("nonce".into(), json!(n));
        }
        if fault == Some(FaultKind::TokenWrongNonce) && !claims.contains_key("nonce") {
            claims.insert("nonce".into(), json!("unexpected-nonce"));
        }
        resp["id_token"] = json!(sign(shared, keys, Value::Object(claims), true, fault)?);
    }
    if let Some(rt) = refresh_token {
        resp["refresh_token"] = json!(rt);
    }
    Ok(resp)
}

pub(super) fn slash(issuer: &str) -> String {
    if issuer.ends_with('/') {
        issuer.to_string()
    } else {
        format!("{issuer}/")
    }
}

pub(super) fn mint_client(
    shared: &Shared,
    keys: &KeySet,
    client_id: &str,
    audience: &str,
    scope: &[String],
    fault: Option<FaultKind>,
) -> Result<Value, OAuthError> {
    let lifetime = shared
        .tenant
        .api(audience)
        .map_or(86_400, |a| a.token_lifetime_secs);
    let now = shared.clock.now();
    let scope = scope.join(" ");
    let mut claims = json!({
        "iss": shared.issuer,
        "sub": match shared.flavor {
            Flavor::Auth0 => format!("{client_id}@clients"),
            Flavor::Rfc => client_id.to_string(),
        },
        "aud": audience, "iat": now, "exp": now + secs(lifetime),
        "scope": scope, "azp": client_id,
    });
    if shared.flavor == Flavor::Auth0 {
        claims["gty"] = json!("client-credentials");
    } else {
        claims["client_id"] = json!(client_id);
    }
    let access_token = sign(shared, keys, claims, false, fault)?;
    Ok(json!({
        "access_token": access_token,
        "scope": scope,
        "expires_in": lifetime,
        "token_type": "Bearer",
    }))
}
