//! The refresh-token grant, and the identity binding every refresh must keep.
//!
//! OIDC Core §12.2: an id_token from a refresh must name the same `iss`, `sub` and `aud` as
//! the one the session was made with; a provider (or a man in the middle of a mix-up) that
//! answers for somebody else is refused, and nothing is stored. Which session to refresh, the
//! lock, and adopting another process's result are `session`'s business, not this file's.

use serde_json::Value;

use crate::flow::exchange::{Expect, TokenEndpoint};
use crate::flow::{FlowError, TokenSet};
use crate::secret::RefreshToken;

/// Who a session belongs to: what a refreshed id_token or a userinfo answer must repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<Value>,
}

impl Identity {
    /// From verified (or, for a stored token, once verified) id_token claims.
    pub fn from_claims(claims: &Value) -> Self {
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(String::from);
        Identity {
            iss: text("iss"),
            sub: text("sub"),
            aud: claims.get("aud").cloned(),
        }
    }

    /// Checks that `claims` name the same party; the first difference is the error.
    pub fn check(&self, claims: &Value, what: &'static str) -> Result<(), FlowError> {
        let other = Identity::from_claims(claims);
        let differs =
            |name: &'static str, ours: Option<String>, theirs: Option<String>| match (ours, theirs)
            {
                (Some(a), b) if Some(&a) != b.as_ref() => Err(FlowError::IdentityChanged {
                    what,
                    claim: name,
                    expected: crate::output::sanitize(&a),
                    found: crate::output::sanitize(b.as_deref().unwrap_or("(none)")),
                }),
                _ => Ok(()),
            };
        differs("sub", self.sub.clone(), other.sub)?;
        differs("iss", self.iss.clone(), other.iss)?;
        let aud = |v: &Option<Value>| v.as_ref().map(Value::to_string);
        differs("aud", aud(&self.aud), aud(&other.aud))
    }
}

/// Renews the tokens with `refresh_token`; a new id_token must match `identity`.
pub async fn refresh(
    te: TokenEndpoint<'_>,
    refresh_token: &RefreshToken,
    identity: &Identity,
) -> Result<TokenSet, FlowError> {
    let params = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose()),
    ];
    let tokens = te.exchange(&params, Expect::default()).await?;
    if let Some(claims) = &tokens.id_claims {
        identity.check(claims, "refreshed id_token")?;
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn another_subject_is_refused() {
        let ours = Identity::from_claims(&json!({"iss": "https://i/", "sub": "alice", "aud": "c"}));
        assert!(ours
            .check(
                &json!({"iss": "https://i/", "sub": "alice", "aud": "c"}),
                "t"
            )
            .is_ok());
        for other in [
            json!({"iss": "https://i/", "sub": "mallory", "aud": "c"}),
            json!({"iss": "https://evil/", "sub": "alice", "aud": "c"}),
            json!({"iss": "https://i/", "sub": "alice", "aud": "other"}),
            json!({"iss": "https://i/", "aud": "c"}),
        ] {
            let err = ours.check(&other, "t").unwrap_err();
            assert_eq!(err.exit_code(), crate::exit::ExitCode::Refused);
        }
    }
}
