//! `/authorize`: the browser leg, strict about clients and callbacks; issues single-use codes.

#[allow(unused_imports)]
use super::*;

/// RFC 8252 §7.3 loopback hosts.
pub(super) fn is_loopback(url: &url::Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
}

/// Exact match, or for native clients a loopback callback on any port (RFC 8252 §7.3).
pub fn callback_allowed(client: &ClientConfig, requested: &str, registered: &[String]) -> bool {
    if registered.iter().any(|c| c == requested) {
        return true;
    }
    if client.app_type != AppType::Native || !client.loopback_any_port {
        return false;
    }
    let Ok(req) = url::Url::parse(requested) else {
        return false;
    };
    if req.scheme() != "http" || !is_loopback(&req) || req.fragment().is_some() {
        return false;
    }
    registered
        .iter()
        .filter_map(|c| url::Url::parse(c).ok())
        .any(|reg| {
            reg.scheme() == "http"
                && reg.host_str() == req.host_str()
                && reg.path() == req.path()
                && reg.query() == req.query()
                && req.username().is_empty()
                && req.password().is_none()
        })
}

pub(super) fn error_page(status: u16, error: &str, description: &str) -> Resp {
    h::html(status, pages::error_page(error, description))
}

/// A checked `/authorize` request: everything needed to issue a code.
pub(super) struct AuthzRequest {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    scope: Vec<String>,
    audience: Option<String>,
    code_challenge: Option<String>,
    login_hint: Option<String>,
}

/// Where `/authorize` ends when the request cannot continue.
pub(super) enum AuthzStop {
    /// No trustworthy redirect URI: an HTML page.
    Page(Box<Resp>),
    /// Redirect back with `error`.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

// The error is built at most once per request; boxing it would only add noise.
#[allow(clippy::result_large_err)]
pub(super) fn check_authorize(shared: &Shared, q: &Params) -> Result<AuthzRequest, AuthzStop> {
    let tenant = &shared.tenant;
    let Some(client_id) = q.get("client_id").filter(|c| !c.is_empty()) else {
        return Err(AuthzStop::Page(Box::new(error_page(
            400,
            "invalid_request",
            "Missing required parameter: client_id",
        ))));
    };
    let Some(client) = tenant.client(client_id) else {
        return Err(AuthzStop::Page(Box::new(error_page(
            400,
            "invalid_request",
            &format!("Unknown client: {client_id}"),
        ))));
    };
    let Some(redirect_uri) = q.get("redirect_uri").filter(|r| !r.is_empty()) else {
        return Err(AuthzStop::Page(Box::new(error_page(
            400,
            "invalid_request",
            "Missing required parameter: redirect_uri",
        ))));
    };
    if !callback_allowed(client, redirect_uri, &client.callbacks) {
        return Err(AuthzStop::Page(Box::new(error_page(
            400,
            "unauthorized_client",
            &format!(
                "Callback URL mismatch. {redirect_uri} is not in the list of allowed callback URLs"
            ),
        ))));
    }
    let state = q.get("state").map(str::to_string);
    let stop = |error: OAuthError| AuthzStop::Redirect {
        redirect_uri: redirect_uri.to_string(),
        state: state.clone(),
        error,
    };
    match q.get("response_type") {
        None | Some("") => {
            return Err(stop(OAuthError::new(
                "invalid_request",
                "Missing required parameter: response_type",
            )))
        }
        Some("code") => {}
        Some(other) => {
            return Err(stop(OAuthError::new(
                "unsupported_response_type",
                format!("Unsupported response type: {other}"),
            )))
        }
    }
    require_grant(client, GRANT_AUTHORIZATION_CODE).map_err(stop)?;
    if let Some(mode) = q.get("response_mode").filter(|m| *m != "query") {
        return Err(stop(OAuthError::new(
            "invalid_request",
            format!("response_mode '{mode}' is not supported by the mock tenant; use query"),
        )));
    }
    let challenge = q.get("code_challenge").filter(|c| !c.is_empty());
    match (challenge, q.get("code_challenge_method")) {
        (None, _) if !client.is_confidential() => {
            return Err(stop(OAuthError::new(
                "invalid_request",
                "Parameter 'code_challenge' is required for public clients (PKCE with S256)",
            )))
        }
        (None, Some(_)) => {
            return Err(stop(OAuthError::new(
                "invalid_request",
                "Parameter 'code_challenge_method' was sent without 'code_challenge'",
            )))
        }
        (Some(_), None) => {
            return Err(stop(OAuthError::new(
                "invalid_request",
                "Parameter 'code_challenge_method' is required: only S256 is accepted",
            )))
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Err(stop(OAuthError::new(
                "invalid_request",
                format!("code_challenge_method '{m}' is not accepted: use S256"),
            )))
        }
        (Some(c), Some(_)) => {
            // An S256 challenge is always 32 bytes → 43 base64url characters.
            let ok = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(stop(OAuthError::new(
                    "invalid_request",
                    "Parameter 'code_challenge' is not a base64url SHA-256 value",
                )));
            }
        }
        (None, None) => {}
    }
    let audience = q
        .get("audience")
        .or_else(|| q.get("resource"))
        .filter(|a| !a.is_empty());
    if let Some(aud) = audience {
        if tenant.api(aud).is_none() {
            return Err(stop(OAuthError::new(
                "access_denied",
                format!("Service not found: {aud}"),
            )));
        }
    }
    let login_hint = q.get("login_hint").filter(|l| !l.is_empty());
    if let Some(hint) = login_hint {
        if tenant.user_by_hint(hint).is_none() {
            return Err(stop(OAuthError::new(
                "access_denied",
                format!("Unknown user: {hint}"),
            )));
        }
    }
    if tenant.default_user().is_none() {
        return Err(stop(OAuthError::new(
            "access_denied",
            "The tenant has no users",
        )));
    }
    Ok(AuthzRequest {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        state,
        nonce: q.get("nonce").map(str::to_string),
        scope: q.scopes("scope"),
        audience: audience.map(str::to_string),
        code_challenge: challenge.map(str::to_string),
        login_hint: login_hint.map(str::to_string),
    })
}

/// The error redirect: `error`, `error_description`, `state` and RFC 9207 `iss`.
pub(super) fn error_redirect(
    shared: &Shared,
    redirect_uri: &str,
    state: Option<&str>,
    e: &OAuthError,
) -> Resp {
    let mut pairs = vec![
        ("error", e.error.as_str()),
        ("error_description", e.description.as_str()),
    ];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", shared.issuer.as_str()));
    h::redirect(&h::with_query(redirect_uri, &pairs))
}

pub fn authorize(shared: &Shared, req: &Req, fault: Option<&FaultSpec>) -> Resp {
    let q = match req.query_params() {
        Ok(q) => q,
        Err(e) => return error_page(400, &e.error, &e.description),
    };
    let authz = match check_authorize(shared, &q) {
        Ok(a) => a,
        Err(AuthzStop::Page(resp)) => return *resp,
        Err(AuthzStop::Redirect {
            redirect_uri,
            state,
            error,
        }) => return error_redirect(shared, &redirect_uri, state.as_deref(), &error),
    };
    if let Some(f) = fault {
        let forced = match f.fault {
            FaultKind::Deny => Some(OAuthError::new(
                "access_denied",
                f.error_description
                    .clone()
                    .unwrap_or_else(|| "User did not authorize the request".into()),
            )),
            FaultKind::OauthError => Some(OAuthError::new(
                f.error.as_deref().unwrap_or("server_error"),
                f.error_description.clone().unwrap_or_default(),
            )),
            _ => None,
        };
        if let Some(e) = forced {
            return error_redirect(shared, &authz.redirect_uri, authz.state.as_deref(), &e);
        }
    }
    if shared.interactive {
        return super::super::interactive::sign_in(shared, authz_transaction(shared, authz));
    }
    let user_id = match authz
        .login_hint
        .as_deref()
        .and_then(|hint| shared.tenant.user_by_hint(hint))
        .or_else(|| shared.tenant.default_user())
    {
        Some(u) => u.user_id.clone(),
        None => return error_page(500, "server_error", "The tenant has no users"),
    };
    let code = issue_code(shared, &authz, user_id);
    success_redirect(
        shared,
        &authz.redirect_uri,
        &code,
        authz.state.as_deref(),
        fault,
    )
}

pub(super) fn authz_transaction(shared: &Shared, a: AuthzRequest) -> Transaction {
    let hinted = a
        .login_hint
        .as_deref()
        .and_then(|hint| shared.tenant.user_by_hint(hint))
        .map(|u| u.user_id.clone());
    Transaction {
        csrf: shared.rng.token(24),
        client_id: a.client_id,
        redirect_uri: a.redirect_uri,
        state: a.state,
        nonce: a.nonce,
        scope: a.scope,
        audience: a.audience,
        code_challenge: a.code_challenge,
        user_id: hinted,
        created_at: shared.clock.now(),
    }
}

/// Issues a code for a completed interactive transaction.
pub fn finish_transaction(shared: &Shared, t: Transaction, user_id: String) -> Resp {
    let authz = AuthzRequest {
        client_id: t.client_id,
        redirect_uri: t.redirect_uri,
        state: t.state,
        nonce: t.nonce,
        scope: t.scope,
        audience: t.audience,
        code_challenge: t.code_challenge,
        login_hint: None,
    };
    let code = issue_code(shared, &authz, user_id);
    success_redirect(
        shared,
        &authz.redirect_uri,
        &code,
        authz.state.as_deref(),
        None,
    )
}

/// The user said no in interactive mode.
pub fn deny_transaction(shared: &Shared, t: &Transaction) -> Resp {
    let e = OAuthError::new("access_denied", "User did not authorize the request");
    error_redirect(shared, &t.redirect_uri, t.state.as_deref(), &e)
}

pub(super) fn issue_code(shared: &Shared, a: &AuthzRequest, user_id: String) -> String {
    let code = shared.rng.token(32);
    let entry = AuthCode {
        client_id: a.client_id.clone(),
        redirect_uri: Some(a.redirect_uri.clone()),
        code_challenge: a.code_challenge.clone(),
        scope: a.scope.clone(),
        audience: a.audience.clone(),
        nonce: a.nonce.clone(),
        user_id,
        sid: shared.rng.token(16),
        issued_at: shared.clock.now(),
    };
    lock(&shared.state).codes.insert(code.clone(), entry);
    code
}

pub(super) fn success_redirect(
    shared: &Shared,
    redirect_uri: &str,
    code: &str,
    state: Option<&str>,
    fault: Option<&FaultSpec>,
) -> Resp {
    let kind = fault.map(|f| f.fault);
    let wrong_state;
    let mut pairs = vec![("code", code)];
    if kind == Some(FaultKind::WrongState) {
        wrong_state = format!("wrong-{}", shared.rng.token(16));
        pairs.push(("state", wrong_state.as_str()));
    } else if let Some(s) = state.filter(|_| kind != Some(FaultKind::MissingState)) {
        pairs.push(("state", s));
    }
    let iss = if kind == Some(FaultKind::WrongIss) {
        WRONG_ISSUER
    } else {
        shared.issuer.as_str()
    };
    if kind != Some(FaultKind::MissingIss) {
        pairs.push(("iss", iss));
    }
    h::redirect(&h::with_query(redirect_uri, &pairs))
}
