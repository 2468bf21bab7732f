//! `--interactive`: real sign-in, consent and device-activation pages instead of auto-approval.
//!
//! An `/authorize` request becomes a transaction (unguessable id + CSRF token) shown as a
//! user picker; the picked user then sees a consent page with Allow and Deny. Both forms post
//! back to `/authorize`. `/activate` asks for the user code, then for the user and a decision.
//! Nothing here trusts the form: the transaction, the CSRF token and the user are re-checked.

use super::endpoints::{decide_device, deny_transaction, finish_transaction, normalize_user_code};
use super::http::{self as h, escape, Req, Resp};
use super::pages::{error_page, message_page, page};
use super::state::Transaction;
use super::state::{lock, Shared};
use super::tenant::UserConfig;
use crate::secret::{constant_time_eq, s256};

/// How long a sign-in page stays usable.
const TRANSACTION_SECS: i64 = 600;

fn user_radios(users: &[UserConfig], selected: Option<&str>) -> String {
    let mut out = String::new();
    for (i, u) in users.iter().enumerate() {
        let checked = match selected {
            Some(s) => s == u.user_id,
            None => i == 0,
        };
        out.push_str(&format!(
            "<label><input type=\"radio\" name=\"user\" value=\"{}\"{}> {} &lt;{}&gt;</label>\n",
            escape(&u.user_id),
            if checked { " checked" } else { "" },
            escape(&u.name),
            escape(&u.email),
        ));
    }
    out
}

/// Stores the transaction and shows the account picker.
pub fn sign_in(shared: &Shared, t: Transaction) -> Resp {
    let tx = shared.rng.token(24);
    let body = format!(
        "<h1>Sign in</h1>\n<p>to continue to <strong>{client}</strong></p>\n\
<form method=\"post\" action=\"/authorize\">\n\
<input type=\"hidden\" name=\"tx\" value=\"{tx}\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
<input type=\"hidden\" name=\"action\" value=\"login\">\n\
<fieldset>\n<legend>Choose an account</legend>\n{radios}</fieldset>\n\
<button type=\"submit\">Continue</button>\n</form>",
        client = escape(&t.client_id),
        tx = escape(&tx),
        csrf = escape(&t.csrf),
        radios = user_radios(&shared.tenant.users, t.user_id.as_deref()),
    );
    let mut st = lock(&shared.state);
    let now = shared.clock.now();
    st.transactions
        .retain(|_, old| now - old.created_at < TRANSACTION_SECS);
    st.transactions.insert(tx, t);
    h::html(200, page("Sign in", &body))
}

fn consent_page(shared: &Shared, tx: &str, t: &Transaction, user: &UserConfig) -> Resp {
    let mut scopes = String::new();
    for s in &t.scope {
        scopes.push_str(&format!("<li><code>{}</code></li>\n", escape(s)));
    }
    if scopes.is_empty() {
        scopes.push_str("<li>Basic sign-in only</li>\n");
    }
    let api = t
        .audience
        .as_deref()
        .map(|a| format!("<p>API: <code>{}</code></p>\n", escape(a)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Authorize {client}</h1>\n<p>Signed in as {name} &lt;{email}&gt;.</p>\n{api}\
<p id=\"scopes-label\"><strong>{client}</strong> is requesting access to:</p>\n\
<ul aria-labelledby=\"scopes-label\">\n{scopes}</ul>\n\
<form method=\"post\" action=\"/authorize\">\n\
<input type=\"hidden\" name=\"tx\" value=\"{tx}\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
<input type=\"hidden\" name=\"action\" value=\"consent\">\n\
<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>",
        client = escape(&t.client_id),
        name = escape(&user.name),
        email = escape(&user.email),
        tx = escape(tx),
        csrf = escape(&t.csrf),
    );
    let _ = shared;
    h::html(200, page("Authorize", &body))
}

/// `POST /authorize`: the sign-in and consent forms.
pub fn authorize_decision(shared: &Shared, req: &Req) -> Resp {
    let bad = |why: &str| h::html(400, error_page("invalid_request", why));
    let p = match req.body_params() {
        Ok(p) => p,
        Err(e) => return bad(&e.description),
    };
    let (Some(tx), Some(csrf)) = (p.get("tx"), p.get("csrf")) else {
        return bad("The form is incomplete; start the login again.");
    };
    let now = shared.clock.now();
    let mut st = lock(&shared.state);
    let valid = st
        .transactions
        .get(tx)
        .is_some_and(|t| constant_time_eq(&t.csrf, csrf) && now - t.created_at < TRANSACTION_SECS);
    if !valid {
        return bad("This sign-in page has expired or was not issued by this tenant; start the login again.");
    }
    match p.get("action") {
        Some("login") => {
            let user = p.get("user").and_then(|u| shared.tenant.user_by_id(u));
            let Some(user) = user else {
                return bad("Choose one of the listed accounts.");
            };
            let Some(t) = st.transactions.get_mut(tx) else {
                return bad("This sign-in page has expired; start the login again.");
            };
            t.user_id = Some(user.user_id.clone());
            let t = t.clone();
            drop(st);
            consent_page(shared, tx, &t, user)
        }
        Some("consent") => {
            let Some(t) = st.transactions.remove(tx) else {
                return bad("This sign-in page has expired; start the login again.");
            };
            drop(st);
            match (p.get("decision"), t.user_id.clone()) {
                (Some("allow"), Some(user_id)) => finish_transaction(shared, t, user_id),
                (Some("deny"), _) => deny_transaction(shared, &t),
                _ => bad("Choose Allow or Deny."),
            }
        }
        _ => bad("Unknown form action."),
    }
}

/// The page that asks for a device's user code.
pub fn code_entry_page(error: Option<&str>) -> String {
    let alert = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    page(
        "Activate a device",
        &format!(
            "<h1>Activate a device</h1>\n{alert}<form method=\"get\" action=\"/activate\">\n\
<label for=\"user_code\">Enter the code shown on your device</label>\n\
<input id=\"user_code\" name=\"user_code\" autocomplete=\"off\" autocapitalize=\"characters\" \
required spellcheck=\"false\" aria-describedby=\"code-hint\">\n\
<p id=\"code-hint\">It looks like <code>ABCD-EFGH</code>.</p>\n\
<button type=\"submit\">Continue</button>\n</form>"
        ),
    )
}

/// The CSRF token of a device confirmation form: bound to the code and to this tenant run.
fn device_csrf(shared: &Shared, user_code: &str) -> String {
    s256(&format!("{}|{user_code}", shared.control_token))
}

/// Interactive `/activate`: code entry, then account and Allow/Deny, then the result.
pub fn activate(shared: &Shared, req: &Req) -> Resp {
    let post = req.method == hyper::Method::POST;
    let p = match if post {
        req.body_params()
    } else {
        req.query_params()
    } {
        Ok(p) => p,
        Err(e) => return h::html(400, error_page(&e.error, &e.description)),
    };
    let Some(raw) = p.get("user_code").filter(|c| !c.trim().is_empty()) else {
        return h::html(200, code_entry_page(None));
    };
    let code = normalize_user_code(raw);
    let known = lock(&shared.state).user_codes.contains_key(&code);
    if !known {
        return h::html(
            404,
            code_entry_page(Some(
                "That code is not valid. Check your device and try again.",
            )),
        );
    }
    if !post {
        let body = format!(
            "<h1>Confirm the device</h1>\n<p>Make sure this code matches the one on your device:</p>\n\
<p><strong><code>{code}</code></strong></p>\n<form method=\"post\" action=\"/activate\">\n\
<input type=\"hidden\" name=\"user_code\" value=\"{code}\">\n\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
<fieldset>\n<legend>Sign in as</legend>\n{radios}</fieldset>\n\
<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>",
            code = escape(&code),
            csrf = escape(&device_csrf(shared, &code)),
            radios = user_radios(&shared.tenant.users, None),
        );
        return h::html(200, page("Confirm the device", &body));
    }
    let csrf_ok = p
        .get("csrf")
        .is_some_and(|c| constant_time_eq(c, &device_csrf(shared, &code)));
    if !csrf_ok {
        return h::html(
            400,
            error_page(
                "invalid_request",
                "The form has expired; enter the code again.",
            ),
        );
    }
    let decision = match p.get("decision") {
        Some("allow") => {
            let Some(user) = p.get("user").and_then(|u| shared.tenant.user_by_id(u)) else {
                return h::html(
                    400,
                    error_page("invalid_request", "Choose one of the listed accounts."),
                );
            };
            decide_device(shared, &code, Some(&user.user_id)).map(|()| true)
        }
        Some("deny") => decide_device(shared, &code, None).map(|()| false),
        _ => return h::html(400, error_page("invalid_request", "Choose Allow or Deny.")),
    };
    match decision {
        Ok(true) => h::html(
            200,
            message_page(
                "Device approved",
                "You can close this window and return to your device.",
            ),
        ),
        Ok(false) => h::html(
            200,
            message_page(
                "Device denied",
                "The device was not given access. You can close this window.",
            ),
        ),
        Err(why) => h::html(400, error_page("invalid_request", &why)),
    }
}
