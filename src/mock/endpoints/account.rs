//! `/userinfo`, `/oauth/revoke` and `/v2/logout`.

#[allow(unused_imports)]
use super::*;

pub fn userinfo(shared: &Shared, req: &Req) -> Resp {
    let invalid = |desc: &str| {
        OAuthError::new("invalid_token", desc)
            .with_status(401)
            .with_header(
                "www-authenticate",
                format!("Bearer error=\"invalid_token\", error_description=\"{desc}\""),
            )
            .into_response(shared.flavor)
    };
    let Some(token) = req.bearer() else {
        let e = OAuthError::new("invalid_request", "Missing access token")
            .with_status(401)
            .with_header("www-authenticate", "Bearer realm=\"mock-tenant\"");
        return e.into_response(shared.flavor);
    };
    let now = shared.clock.now();
    let issued = lock(&shared.state).access_tokens.get(token).cloned();
    let Some(issued) = issued else {
        return invalid("The access token is not valid here (it needs the openid scope)");
    };
    if now >= issued.expires_at {
        return invalid("The access token expired");
    }
    let Some(user) = shared.tenant.user_by_id(&issued.user_id) else {
        return invalid("The user no longer exists");
    };
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), json!(user.user_id));
    profile_claims(user, &issued.scope, &mut claims);
    h::json(200, &Value::Object(claims))
}

pub fn revoke(shared: &Shared, req: &Req) -> Resp {
    let inner = || -> Result<Resp, OAuthError> {
        let p = req.body_params()?;
        let client = authenticate(shared, req, &p)?;
        let token = p.require("token")?;
        let mut st = lock(&shared.state);
        if let Some(&family) = st.refresh_tokens.get(token) {
            // RFC 7009 §2.1: a token of another client is left alone, silently.
            let owned = st
                .families
                .get(&family)
                .is_some_and(|f| f.grant.client_id == client.client_id);
            if owned {
                st.revoke_family(family);
            }
        }
        // 200 with an empty body even if unknown or already revoked, as Auth0 answers.
        Ok(h::empty(200))
    };
    inner().unwrap_or_else(|e| e.into_response(shared.flavor))
}

/// `/v2/logout` (Auth0) and `/oidc/logout` (RP-initiated): the return URL must be allowed.
pub fn logout(shared: &Shared, req: &Req) -> Resp {
    let params = if req.method == hyper::Method::POST {
        req.body_params()
    } else {
        req.query_params()
    };
    let p = match params {
        Ok(p) => p,
        Err(e) => return error_page(400, &e.error, &e.description),
    };
    let oidc = req.path == "/oidc/logout";
    let (return_key, return_to) = if oidc {
        (
            "post_logout_redirect_uri",
            p.get("post_logout_redirect_uri"),
        )
    } else {
        ("returnTo", p.get("returnTo"))
    };
    let client_id = p
        .get("client_id")
        .map(str::to_string)
        .or_else(|| p.get("id_token_hint").and_then(audience_of));
    let client = match client_id.as_deref() {
        Some(id) => match shared.tenant.client(id) {
            Some(c) => Some(c),
            None => return error_page(400, "invalid_request", &format!("Unknown client: {id}")),
        },
        None => None,
    };
    let Some(return_to) = return_to.filter(|r| !r.is_empty()) else {
        return h::html(
            200,
            pages::message_page("Logged out", "You have been logged out of the mock tenant."),
        );
    };
    let allowed = match client {
        Some(c) => callback_allowed(c, return_to, &c.allowed_logout_urls),
        None => shared
            .tenant
            .allowed_logout_urls
            .iter()
            .any(|u| u == return_to),
    };
    if !allowed {
        return error_page(
            400,
            "invalid_request",
            &format!(
                "The \"{return_key}\" querystring parameter \"{return_to}\" is not defined as a valid URL in \"Allowed Logout URLs\"."
            ),
        );
    }
    match p.get("state").filter(|_| oidc) {
        Some(state) => h::redirect(&h::with_query(return_to, &[("state", state)])),
        None => h::redirect(return_to),
    }
}

/// The `aud` of an unverified JWT: only used to pick the client for a logout redirect check.
pub(super) fn audience_of(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    match &claims["aud"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_string),
        _ => None,
    }
}
