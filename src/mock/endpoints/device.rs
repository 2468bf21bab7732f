//! The device authorization grant: `/oauth/device/code`, the `/activate` page and approving or denying a code.

#[allow(unused_imports)]
use super::*;

/// Auth0's refusal when a grant is not enabled for the application.
pub(super) fn require_grant(client: &ClientConfig, grant: &str) -> Result<(), OAuthError> {
    if client.allows_grant(grant) {
        Ok(())
    } else {
        Err(OAuthError::new(
            "unauthorized_client",
            format!("Grant type '{grant}' not allowed for the client."),
        ))
    }
}

pub fn device_code(shared: &Shared, req: &Req) -> Resp {
    device_code_inner(shared, req).unwrap_or_else(|e| e.into_response(shared.flavor))
}

pub(super) fn device_code_inner(shared: &Shared, req: &Req) -> Result<Resp, OAuthError> {
    let p = req.body_params()?;
    let client = authenticate(shared, req, &p)?;
    require_grant(client, GRANT_DEVICE_CODE)?;
    let audience = p
        .get("audience")
        .or_else(|| p.get("resource"))
        .filter(|a| !a.is_empty());
    if let Some(aud) = audience {
        if shared.tenant.api(aud).is_none() {
            return Err(OAuthError::new(
                "access_denied",
                format!("Service not found: {aud}"),
            ));
        }
    }
    let settings = &shared.tenant.device;
    let device_code = shared.rng.token(24);
    let mut st = lock(&shared.state);
    let user_code = loop {
        let c = shared.rng.user_code();
        if !st.user_codes.contains_key(&c) {
            break c;
        }
    };
    st.user_codes.insert(user_code.clone(), device_code.clone());
    st.devices.insert(
        device_code.clone(),
        DeviceAuth {
            client_id: client.client_id.clone(),
            scope: p.scopes("scope"),
            audience: audience.map(str::to_string),
            expires_at: shared.clock.now() + secs(settings.expires_in_secs),
            interval_secs: settings.interval_secs,
            last_poll_ms: None,
            polls: 0,
            decision: DeviceDecision::Pending,
            expiry_reported: false,
        },
    );
    drop(st);
    let uri = format!("{}/activate", shared.base);
    Ok(h::json(
        200,
        &json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": uri,
            "expires_in": settings.expires_in_secs,
            "interval": settings.interval_secs,
            "verification_uri_complete": h::with_query(&uri, &[("user_code", &user_code)]),
        }),
    ))
}

/// `ABCD-EFGH`, `abcdefgh`, `abcd efgh` → `ABCD-EFGH`.
pub fn normalize_user_code(s: &str) -> String {
    let letters: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() == 8 {
        format!("{}-{}", &letters[..4], &letters[4..])
    } else {
        letters
    }
}

/// Approves or denies a pending device authorization; `Err` names why not.
pub fn decide_device(
    shared: &Shared,
    user_code: &str,
    approve_as: Option<&str>,
) -> Result<(), String> {
    let code = normalize_user_code(user_code);
    let now = shared.clock.now();
    let mut st = lock(&shared.state);
    let device_code = st
        .user_codes
        .get(&code)
        .cloned()
        .ok_or_else(|| format!("unknown user code {code}"))?;
    let dev = st
        .devices
        .get_mut(&device_code)
        .ok_or_else(|| format!("unknown user code {code}"))?;
    if now >= dev.expires_at {
        return Err(format!("user code {code} has expired"));
    }
    if dev.decision != DeviceDecision::Pending {
        return Err(format!("user code {code} was already used"));
    }
    dev.decision = match approve_as {
        Some(user_id) => DeviceDecision::Approved {
            user_id: user_id.to_string(),
        },
        None => DeviceDecision::Denied,
    };
    Ok(())
}

/// `/activate`: approves at once as the default user (or `login_hint`), unless interactive.
pub fn activate(shared: &Shared, req: &Req) -> Resp {
    if shared.interactive {
        return super::super::interactive::activate(shared, req);
    }
    let q = match req.query_params() {
        Ok(q) => q,
        Err(e) => return error_page(400, &e.error, &e.description),
    };
    let Some(user_code) = q.get("user_code").filter(|c| !c.is_empty()) else {
        return h::html(200, super::super::interactive::code_entry_page(None));
    };
    let user = q
        .get("login_hint")
        .and_then(|hint| shared.tenant.user_by_hint(hint))
        .or_else(|| shared.tenant.default_user());
    let Some(user) = user else {
        return error_page(500, "server_error", "The tenant has no users");
    };
    match decide_device(shared, user_code, Some(&user.user_id)) {
        Ok(()) => h::html(
            200,
            pages::message_page(
                "Device approved",
                &format!(
                    "Signed in as {}. You can close this window and return to your device.",
                    user.email
                ),
            ),
        ),
        Err(why) => error_page(400, "invalid_request", &why),
    }
}
