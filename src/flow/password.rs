//! The resource owner password grant, for legacy set-ups only.
//!
//! RFC 9700 §2.4 and Auth0 both advise against it: the tool sees the user's password, and no
//! MFA or federation can happen. It is here for old database connections; the password comes
//! from a no-echo prompt or stdin, never argv, and lives in a [`Password`] until the request
//! body. With a `realm`, Auth0's `password-realm` grant picks the connection.

use crate::flow::exchange::{self, Expect, TokenEndpoint};
use crate::flow::{FlowError, TokenSet};
use crate::http::HttpError;
use crate::output;
use crate::secret::Password;

/// Auth0's grant type for a password login against a named connection.
pub const PASSWORD_REALM_GRANT: &str = "http://auth0.com/oauth/grant-type/password-realm";

/// Logs `username` in with `password`.
pub async fn obtain(
    te: TokenEndpoint<'_>,
    username: &str,
    password: &Password,
    realm: Option<&str>,
) -> Result<TokenSet, FlowError> {
    output::warn("the password grant is deprecated (RFC 9700) and Auth0 advises against it: authcli sees your password and no MFA or single sign-on can happen; prefer the browser login or --device");
    let scope = te.provider.scope_string();
    let mut params = vec![
        (
            "grant_type",
            realm.map_or("password", |_| PASSWORD_REALM_GRANT),
        ),
        ("username", username),
        ("password", password.expose()),
    ];
    if let Some(realm) = realm {
        params.push(("realm", realm));
    }
    if !scope.is_empty() {
        params.push(("scope", scope.as_str()));
    }
    let expect = Expect {
        audience: true,
        refresh_token: true,
        ..Expect::default()
    };
    match te.exchange(&params, expect).await {
        Err(e) if exchange::oauth_error(&e) == Some("mfa_required") => {
            let detail = match exchange::http_error(&e) {
                Some(HttpError::OAuth { error, .. }) => error
                    .error_description
                    .as_deref()
                    .map(|d| format!(": {}", output::sanitize(d)))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            Err(FlowError::MfaRequired { detail })
        }
        other => other,
    }
}

/// Reads the password: a no-echo prompt on the terminal, or the first line of stdin.
pub fn read_password(
    input: crate::config::PasswordInput,
    username: &str,
) -> Result<Password, FlowError> {
    use std::io::IsTerminal;
    let text = match input {
        crate::config::PasswordInput::Stdin => {
            super::stdin_line().map_err(|e| FlowError::Password(e.to_string()))?
        }
        crate::config::PasswordInput::Prompt => {
            if !std::io::stdin().is_terminal() {
                return Err(FlowError::Password(
                    "stdin is not a terminal, so there is nobody to prompt".into(),
                ));
            }
            rpassword::prompt_password(format!("Password for {}: ", output::sanitize(username)))
                .map_err(|e| FlowError::Password(e.to_string()))?
        }
    };
    if text.is_empty() {
        return Err(FlowError::Password("the password is empty".into()));
    }
    Ok(Password::new(text))
}
