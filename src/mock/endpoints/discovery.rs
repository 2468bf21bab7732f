//! Discovery and the JWKS: what a client reads before anything else.

#[allow(unused_imports)]
use super::*;

pub fn discovery(shared: &Shared, fault: Option<&FaultSpec>) -> Resp {
    let b = &shared.base;
    let issuer = match fault.map(|f| f.fault) {
        Some(FaultKind::WrongIssuer) => WRONG_ISSUER,
        _ => shared.issuer.as_str(),
    };
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/oauth/token"),
        "device_authorization_endpoint": format!("{b}/oauth/device/code"),
        "userinfo_endpoint": format!("{b}/userinfo"),
        "jwks_uri": format!("{b}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{b}/oauth/revoke"),
        "end_session_endpoint": format!("{b}/oidc/logout"),
        "scopes_supported": [
            "openid", "profile", "offline_access", "name", "given_name", "family_name",
            "nickname", "email", "email_verified", "picture", "created_at", "identities",
            "phone", "address"
        ],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post", "private_key_jwt"
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "claims_supported": [
            "aud", "auth_time", "created_at", "email", "email_verified", "exp", "family_name",
            "given_name", "iat", "identities", "iss", "name", "nickname", "phone_number",
            "picture", "sub"
        ],
        "request_uri_parameter_supported": false,
        "request_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    });
    if shared.flavor == Flavor::Rfc {
        doc["grant_types_supported"] = json!([
            GRANT_AUTHORIZATION_CODE,
            GRANT_REFRESH_TOKEN,
            GRANT_CLIENT_CREDENTIALS,
            GRANT_DEVICE_CODE,
            GRANT_PASSWORD
        ]);
    }
    h::json_public(&doc)
}

pub async fn jwks(shared: &Shared) -> Resp {
    match shared.keys.ready().await {
        Ok(keys) => {
            let mut resp = h::json_public(&keys.jwks());
            // Keys change rarely and rotations are announced a key ahead, so clients may keep
            // the set for ten minutes (the JWKS cache of `authcli verify` honours this).
            resp.headers_mut().insert(
                hyper::header::CACHE_CONTROL,
                hyper::header::HeaderValue::from_static("public, max-age=600"),
            );
            resp
        }
        Err(e) => OAuthError::new("server_error", e).into_response(shared.flavor),
    }
}
