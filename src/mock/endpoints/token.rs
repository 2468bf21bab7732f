//! `/oauth/token`: every grant (code + PKCE, refresh with rotation and reuse detection, client credentials with client grants, device polling, password and Auth0's password-realm).

#[allow(unused_imports)]
use super::*;

/// What the grant decided, before any signing.
pub(super) enum Plan {
    User {
        grant: Grant,
        nonce: Option<String>,
        refresh_token: Option<String>,
        gty: Option<&'static str>,
    },
    Client {
        client_id: String,
        audience: String,
        scope: Vec<String>,
    },
}

pub async fn token(shared: &Shared, req: &Req, fault: Option<&FaultSpec>) -> Resp {
    match token_inner(shared, req, fault).await {
        Ok(v) => h::json(200, &v),
        Err(e) => e.into_response(shared.flavor),
    }
}

pub(super) async fn token_inner(
    shared: &Shared,
    req: &Req,
    fault: Option<&FaultSpec>,
) -> Result<Value, OAuthError> {
    let p = req.body_params()?;
    let grant_type = p.require("grant_type")?;
    if ![
        GRANT_AUTHORIZATION_CODE,
        GRANT_REFRESH_TOKEN,
        GRANT_CLIENT_CREDENTIALS,
        GRANT_DEVICE_CODE,
        GRANT_PASSWORD,
        GRANT_PASSWORD_REALM,
    ]
    .contains(&grant_type)
    {
        return Err(OAuthError::new(
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        )
        .with_status(400));
    }
    let client = authenticate(shared, req, &p)?;
    require_grant(client, grant_type)?;
    // Await the keys before taking the lock: the first request may come before they exist.
    let keys = shared
        .keys
        .ready()
        .await
        .map_err(|e| OAuthError::new("server_error", e))?;
    let plan = {
        let mut st = lock(&shared.state);
        match grant_type {
            GRANT_AUTHORIZATION_CODE => exchange_code(shared, &mut st, client, &p)?,
            GRANT_REFRESH_TOKEN => refresh(shared, &mut st, client, &p)?,
            GRANT_DEVICE_CODE => poll_device(shared, &mut st, client, &p)?,
            GRANT_PASSWORD | GRANT_PASSWORD_REALM => {
                password(shared, &mut st, client, &p, grant_type)?
            }
            _ => client_credentials(shared, client, &p)?,
        }
    };
    let token_fault = fault.map(|f| f.fault);
    let keys = if token_fault == Some(FaultKind::RotateBeforeSigning) {
        let handle = std::sync::Arc::clone(&shared.keys);
        tokio::task::spawn_blocking(move || handle.rotate_unannounced_blocking())
            .await
            .map_err(|_| OAuthError::new("server_error", "key rotation failed"))?
            .map_err(|e| OAuthError::new("server_error", e.to_string()))?
    } else {
        keys
    };
    match plan {
        Plan::User {
            grant,
            nonce,
            refresh_token,
            gty,
        } => mint_user(shared, &keys, grant, nonce, refresh_token, gty, token_fault),
        Plan::Client {
            client_id,
            audience,
            scope,
        } => mint_client(shared, &keys, &client_id, &audience, &scope, token_fault),
    }
}

/// The scopes a user actually gets: OIDC scopes, `offline_access` where refresh is possible,
/// and API scopes the API defines (and, with RBAC, the user holds).
pub(super) fn effective_scope(
    shared: &Shared,
    client: &ClientConfig,
    audience: Option<&str>,
    requested: &[String],
    user: &UserConfig,
) -> Vec<String> {
    let api = audience.and_then(|a| shared.tenant.api(a));
    requested
        .iter()
        .filter(|s| {
            if OIDC_SCOPES.contains(&s.as_str()) {
                return true;
            }
            if *s == "offline_access" {
                return client.allows_grant(GRANT_REFRESH_TOKEN)
                    && api.is_none_or(|a| a.allow_offline_access);
            }
            match api {
                Some(api) if api.scopes.contains(s) => {
                    !api.rbac
                        || user
                            .permissions
                            .get(&api.identifier)
                            .is_some_and(|p| p.contains(s))
                }
                _ => false,
            }
        })
        .cloned()
        .collect()
}

/// Starts a refresh-token family if the grant includes `offline_access`.
pub(super) fn start_family(
    shared: &Shared,
    st: &mut State,
    client: &ClientConfig,
    grant: &Grant,
) -> Option<String> {
    if !grant.scope.iter().any(|s| s == "offline_access") {
        return None;
    }
    let token = format!("v1.{}", shared.rng.token(48));
    st.next_family += 1;
    let id = st.next_family;
    st.families.insert(
        id,
        Family {
            grant: grant.clone(),
            rotation: client.refresh_token_rotation,
            revoked: false,
            expires_at: shared
                .clock
                .now()
                .saturating_add(secs(shared.tenant.lifetimes.refresh_token_secs)),
            current: token.clone(),
        },
    );
    st.refresh_tokens.insert(token.clone(), id);
    Some(token)
}

pub(super) fn secs(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

pub(super) fn exchange_code(
    shared: &Shared,
    st: &mut State,
    client: &ClientConfig,
    p: &Params,
) -> Result<Plan, OAuthError> {
    let code = p.require("code")?;
    let invalid = || OAuthError::new("invalid_grant", "Invalid authorization code");
    let Some(ac) = st.codes.remove(code) else {
        // A replayed code revokes what its first exchange produced (RFC 6749 §4.1.2).
        if let Some(Some(family)) = st.spent_codes.get(code).copied() {
            st.revoke_family(family);
        }
        return Err(invalid());
    };
    // Single use: whatever happens next, this code is gone.
    st.spent_codes.insert(code.to_string(), None);
    let now = shared.clock.now();
    if ac.client_id != client.client_id
        || now
            > ac.issued_at
                .saturating_add(secs(shared.tenant.lifetimes.authorization_code_secs))
    {
        return Err(invalid());
    }
    if ac.redirect_uri.as_deref() != p.get("redirect_uri") {
        return Err(OAuthError::new(
            "invalid_grant",
            "Unable to verify redirect_uri",
        ));
    }
    let verifier_ok = match (&ac.code_challenge, p.get("code_verifier")) {
        (Some(challenge), Some(v)) => valid_verifier(v) && constant_time_eq(&s256(v), challenge),
        // A verifier without a challenge is a downgrade attempt (RFC 9700 §2.1.1).
        (None, Some(_)) | (Some(_), None) => false,
        (None, None) => true,
    };
    if !verifier_ok {
        return Err(OAuthError::new(
            "invalid_grant",
            "Failed to verify code verifier",
        ));
    }
    let user = shared.tenant.user_by_id(&ac.user_id).ok_or_else(invalid)?;
    let grant = Grant {
        client_id: client.client_id.clone(),
        user_id: ac.user_id.clone(),
        scope: effective_scope(shared, client, ac.audience.as_deref(), &ac.scope, user),
        audience: ac.audience.clone(),
        sid: ac.sid.clone(),
    };
    let refresh_token = start_family(shared, st, client, &grant);
    if refresh_token.is_some() {
        st.spent_codes
            .insert(code.to_string(), Some(st.next_family));
    }
    Ok(Plan::User {
        grant,
        nonce: ac.nonce,
        refresh_token,
        gty: None,
    })
}

/// RFC 7636 §4.1: 43–128 characters from the unreserved set.
pub(super) fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

pub(super) fn refresh(
    shared: &Shared,
    st: &mut State,
    client: &ClientConfig,
    p: &Params,
) -> Result<Plan, OAuthError> {
    let presented = p.require("refresh_token")?;
    let invalid = || OAuthError::new("invalid_grant", "Unknown or invalid refresh token.");
    let family_id = *st.refresh_tokens.get(presented).ok_or_else(invalid)?;
    let now = shared.clock.now();
    let family = st.families.get(&family_id).cloned().ok_or_else(invalid)?;
    if family.grant.client_id != client.client_id || family.revoked || now >= family.expires_at {
        return Err(invalid());
    }
    if family.rotation && family.current != presented {
        // Reuse of a rotated-out token: assume it leaked and end the whole family.
        st.revoke_family(family_id);
        return Err(invalid());
    }
    if shared.tenant.user_by_id(&family.grant.user_id).is_none() {
        return Err(OAuthError::new(
            "invalid_grant",
            "The refresh_token was generated for a user who doesn't exist anymore.",
        ));
    }
    let requested = p.scopes("scope");
    let scope = if requested.is_empty() {
        family.grant.scope.clone()
    } else if let Some(extra) = requested.iter().find(|s| !family.grant.scope.contains(s)) {
        return Err(OAuthError::new(
            "invalid_scope",
            format!("Scope '{extra}' was not granted to this refresh token"),
        ));
    } else {
        requested
    };
    let refresh_token = if family.rotation {
        let token = format!("v1.{}", shared.rng.token(48));
        st.refresh_tokens.insert(token.clone(), family_id);
        if let Some(f) = st.families.get_mut(&family_id) {
            f.current = token.clone();
        }
        Some(token)
    } else {
        None
    };
    Ok(Plan::User {
        grant: Grant {
            scope,
            ..family.grant
        },
        nonce: None,
        refresh_token,
        gty: (shared.flavor == Flavor::Auth0).then_some("refresh_token"),
    })
}

/// The resource owner password grant and Auth0's `password-realm` variant: the user's
/// credentials checked in the default directory or the `realm` connection.
pub(super) fn password(
    shared: &Shared,
    st: &mut State,
    client: &ClientConfig,
    p: &Params,
    grant_type: &str,
) -> Result<Plan, OAuthError> {
    let tenant = &shared.tenant;
    let connection = if grant_type == GRANT_PASSWORD_REALM {
        let realm = p.require("realm")?;
        if !tenant.has_connection(realm) {
            return Err(OAuthError::new(
                "invalid_request",
                format!("Unknown realm: {realm} (the tenant has no such connection)"),
            ));
        }
        realm
    } else {
        DEFAULT_CONNECTION
    };
    let username = p.require("username")?;
    let password = p.require("password")?;
    let wrong = || OAuthError::new("invalid_grant", "Wrong email or password.");
    let user = tenant
        .user_for_login(connection, username)
        .ok_or_else(wrong)?;
    if !constant_time_eq(password, &user.password()) {
        return Err(wrong());
    }
    if user.mfa_required {
        return Err(
            OAuthError::new("mfa_required", "Multifactor authentication required")
                .with_status(403)
                .with_field("mfa_token", shared.rng.token(32)),
        );
    }
    let audience = p
        .get("audience")
        .or_else(|| p.get("resource"))
        .filter(|a| !a.is_empty());
    let api = match audience {
        Some(aud) => Some(tenant.api(aud).ok_or_else(|| {
            OAuthError::new("access_denied", format!("Service not found: {aud}"))
        })?),
        None => None,
    };
    // Without a scope Auth0 grants the API's scopes: the application is trusted with them.
    let requested = match (p.scopes("scope"), api) {
        (s, Some(api)) if s.is_empty() => api.scopes.clone(),
        (s, _) => s,
    };
    let grant = Grant {
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        scope: effective_scope(shared, client, audience, &requested, user),
        audience: audience.map(str::to_string),
        sid: shared.rng.token(16),
    };
    let refresh_token = start_family(shared, st, client, &grant);
    Ok(Plan::User {
        grant,
        nonce: None,
        refresh_token,
        gty: (shared.flavor == Flavor::Auth0).then_some("password"),
    })
}

pub(super) fn client_credentials(
    shared: &Shared,
    client: &ClientConfig,
    p: &Params,
) -> Result<Plan, OAuthError> {
    let Some(audience) = p
        .get("audience")
        .or_else(|| p.get("resource"))
        .filter(|a| !a.is_empty())
    else {
        return Err(OAuthError::new(
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        ));
    };
    if shared.tenant.api(audience).is_none() {
        return Err(OAuthError::new(
            "access_denied",
            format!("Service not found: {audience}"),
        ));
    }
    let Some(grant) = shared.tenant.client_grant(&client.client_id, audience) else {
        return Err(OAuthError::new(
            "access_denied",
            format!(
                "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
            ),
        ));
    };
    let requested = p.scopes("scope");
    let scope = if requested.is_empty() {
        grant.scopes.clone()
    } else {
        let missing: Vec<&str> = requested
            .iter()
            .filter(|s| !grant.scopes.contains(s))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(OAuthError::new(
                "access_denied",
                format!("Client has not been granted scopes: {}", missing.join(", ")),
            ));
        }
        requested
    };
    Ok(Plan::Client {
        client_id: client.client_id.clone(),
        audience: audience.to_string(),
        scope,
    })
}

pub(super) fn poll_device(
    shared: &Shared,
    st: &mut State,
    client: &ClientConfig,
    p: &Params,
) -> Result<Plan, OAuthError> {
    let device_code = p.require("device_code")?;
    let now_ms = shared.clock.now_ms();
    let settings = &shared.tenant.device;
    let Some(dev) = st.devices.get_mut(device_code) else {
        return Err(OAuthError::new(
            "invalid_grant",
            "Invalid or expired device code.",
        ));
    };
    if dev.client_id != client.client_id {
        return Err(OAuthError::new(
            "invalid_grant",
            "Invalid or expired device code.",
        ));
    }
    if now_ms >= dev.expires_at.saturating_mul(1000) {
        if dev.expiry_reported {
            return Err(OAuthError::new(
                "invalid_grant",
                "Invalid or expired device code.",
            ));
        }
        dev.expiry_reported = true;
        return Err(OAuthError::new("expired_token", "Token has expired."));
    }
    match &dev.decision {
        DeviceDecision::Used => {
            return Err(OAuthError::new(
                "invalid_grant",
                "Invalid or expired device code.",
            ))
        }
        DeviceDecision::Denied => return Err(OAuthError::new(
            "access_denied",
            "User cancelled the confirmation prompt or consent page; the code is no longer valid.",
        )),
        _ => {}
    }
    let interval_ms = i64::try_from(dev.interval_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    // 100 ms of slack: a client that sleeps exactly `interval` must not be punished for timer jitter.
    if let Some(last) = dev.last_poll_ms {
        if now_ms - last < interval_ms - 100 {
            let old = dev.interval_secs;
            dev.interval_secs += 5;
            dev.last_poll_ms = Some(now_ms);
            return Err(OAuthError::new(
                "slow_down",
                format!("You are polling faster than the specified interval of {old} seconds."),
            ));
        }
    }
    dev.last_poll_ms = Some(now_ms);
    dev.polls = dev.polls.saturating_add(1);
    if dev.decision == DeviceDecision::Pending && !shared.interactive {
        if let Some(n) = settings.auto_approve_after_polls {
            if dev.polls > n {
                if let Some(u) = shared.tenant.default_user() {
                    dev.decision = DeviceDecision::Approved {
                        user_id: u.user_id.clone(),
                    };
                }
            }
        }
    }
    let DeviceDecision::Approved { user_id } = dev.decision.clone() else {
        return Err(OAuthError::new(
            "authorization_pending",
            "User has yet to authorize device code.",
        ));
    };
    dev.decision = DeviceDecision::Used;
    let (scope, audience) = (dev.scope.clone(), dev.audience.clone());
    let user = shared
        .tenant
        .user_by_id(&user_id)
        .ok_or_else(|| OAuthError::new("access_denied", "The approving user no longer exists"))?;
    let grant = Grant {
        client_id: client.client_id.clone(),
        user_id,
        scope: effective_scope(shared, client, audience.as_deref(), &scope, user),
        audience,
        sid: shared.rng.token(16),
    };
    let refresh_token = start_family(shared, st, client, &grant);
    Ok(Plan::User {
        grant,
        nonce: None,
        refresh_token,
        gty: None,
    })
}
