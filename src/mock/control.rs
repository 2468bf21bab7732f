//! The control API under `/__mock/`: what tests use to inspect and steer the tenant.
//!
//! Every call needs `Authorization: Bearer <control token>` (from the ready file or
//! `MockTenant::control_token`), compared in constant time. These requests are not logged and
//! no fault applies to them, so a test can always see and undo what it set up.

use serde::Deserialize;
use serde_json::{json, Value};

use super::endpoints::decide_device;
use super::faults::FaultSpec;
use super::http::{self as h, OAuthError, Req, Resp};
use super::state::{lock, Shared};
use crate::secret::constant_time_eq;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    advance_secs: i64,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    #[serde(default)]
    user: Option<String>,
}

fn bad(desc: impl Into<String>) -> Resp {
    h::json(
        400,
        &json!({"error": "invalid_request", "error_description": desc.into()}),
    )
}

pub async fn handle(shared: &Shared, req: &Req) -> Resp {
    let authorized = req
        .bearer()
        .is_some_and(|t| constant_time_eq(t, &shared.control_token));
    if !authorized {
        return OAuthError::new(
            "invalid_token",
            "The control API needs Authorization: Bearer <control_token> (see the ready file)",
        )
        .with_status(401)
        .with_header("www-authenticate", "Bearer realm=\"mock-tenant-control\"")
        .into_response(shared.flavor);
    }
    let method = req.method.as_str();
    let path = req.path.trim_end_matches('/');
    match (method, path) {
        ("GET", "/__mock/requests") => {
            let all = lock(&shared.log).all();
            h::json(200, &serde_json::to_value(all).unwrap_or(Value::Null))
        }
        ("DELETE", "/__mock/requests") => {
            lock(&shared.log).clear();
            h::empty(204)
        }
        ("GET", "/__mock/faults") => {
            let all = lock(&shared.faults).list();
            h::json(200, &serde_json::to_value(all).unwrap_or(Value::Null))
        }
        ("POST", "/__mock/faults") => add_faults(shared, req),
        ("DELETE", "/__mock/faults") => {
            lock(&shared.faults).clear();
            h::empty(204)
        }
        ("GET", "/__mock/clock") => clock(shared),
        ("POST", "/__mock/clock") => match serde_json::from_slice::<ClockBody>(&req.body) {
            Ok(b) => {
                shared.clock.advance_secs(b.advance_secs);
                clock(shared)
            }
            Err(e) => bad(format!("expected {{\"advance_secs\": N}}: {e}")),
        },
        ("POST", "/__mock/reset") => {
            *lock(&shared.state) = Default::default();
            lock(&shared.faults).clear();
            lock(&shared.log).clear();
            shared.clock.reset();
            h::empty(204)
        }
        ("POST", "/__mock/keys/rotate") => {
            let keys = std::sync::Arc::clone(&shared.keys);
            match tokio::task::spawn_blocking(move || keys.rotate_blocking()).await {
                Ok(Ok(set)) => h::json(200, &set.jwks()),
                Ok(Err(e)) => h::json(
                    500,
                    &json!({"error": "server_error", "error_description": e.to_string()}),
                ),
                Err(_) => h::json(
                    500,
                    &json!({"error": "server_error", "error_description": "key rotation failed"}),
                ),
            }
        }
        ("GET", "/__mock/info") => h::json(200, &super::info_json(shared)),
        ("POST", p) if p.starts_with("/__mock/device/") => device(shared, req, p),
        _ => h::json(
            404,
            &json!({"error": "not_found", "error_description": format!("No control endpoint {method} {path}")}),
        ),
    }
}

fn clock(shared: &Shared) -> Resp {
    h::json(
        200,
        &json!({"now": shared.clock.now(), "offset_secs": shared.clock.offset_secs()}),
    )
}

/// One fault object or an array of them.
fn add_faults(shared: &Shared, req: &Req) -> Resp {
    let value: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return bad(format!("the body is not JSON: {e}")),
    };
    let items = match value {
        Value::Array(items) => items,
        one => vec![one],
    };
    let mut specs = Vec::with_capacity(items.len());
    for item in items {
        let spec = serde_json::from_value::<FaultSpec>(item)
            .map_err(|e| e.to_string())
            .and_then(|s| s.validate().map(|()| s));
        match spec {
            Ok(s) => specs.push(s),
            Err(e) => return bad(format!("bad fault: {e}")),
        }
    }
    let mut book = lock(&shared.faults);
    for s in specs {
        book.add(s);
    }
    h::json(
        201,
        &serde_json::to_value(book.list()).unwrap_or(Value::Null),
    )
}

/// `POST /__mock/device/{user_code}/approve|deny`, optional body `{"user": "bob"}`.
fn device(shared: &Shared, req: &Req, path: &str) -> Resp {
    let rest = path.trim_start_matches("/__mock/device/");
    let Some((code, action)) = rest.rsplit_once('/') else {
        return bad("use /__mock/device/{user_code}/approve or /deny");
    };
    let body: ApproveBody = if req.body.is_empty() {
        ApproveBody::default()
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(b) => b,
            Err(e) => return bad(format!("expected {{\"user\": \"name\"}}: {e}")),
        }
    };
    let result = match action {
        "approve" => {
            let user = match body.user.as_deref() {
                Some(hint) => shared.tenant.user_by_hint(hint),
                None => shared.tenant.default_user(),
            };
            let Some(user) = user else {
                return bad("no such user");
            };
            decide_device(shared, code, Some(&user.user_id))
        }
        "deny" => decide_device(shared, code, None),
        _ => return bad("use /approve or /deny"),
    };
    match result {
        Ok(()) => h::empty(204),
        Err(why) => h::json(
            404,
            &json!({"error": "not_found", "error_description": why}),
        ),
    }
}
