//! The OAuth 2.0 / OIDC endpoints of the mock tenant, shaped like Auth0's.
//!
//! Strict where a lenient server would hide client bugs: unknown clients and mismatched
//! callbacks get an error page and never a redirect; PKCE S256 is required for public
//! clients; codes are single-use and expire; `redirect_uri` must be repeated exactly;
//! refresh tokens rotate and a reused one revokes its family; M2M audiences need a client
//! grant. State changes happen under the state lock; RSA signing happens after it is released.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use super::faults::{FaultKind, FaultSpec};
use super::http::{self as h, OAuthError, Params, Req, Resp};
use super::keys::KeySet;
use super::pages;
use super::state::{lock, Shared};
use super::state::{
    AuthCode, DeviceAuth, DeviceDecision, Family, Grant, IssuedAccess, State, Transaction,
};
use super::tenant::{
    AppType, AuthMethod, ClientConfig, UserConfig, DEFAULT_CONNECTION, GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS, GRANT_DEVICE_CODE, GRANT_PASSWORD, GRANT_PASSWORD_REALM,
    GRANT_REFRESH_TOKEN,
};
use super::Flavor;
use crate::secret::{constant_time_eq, s256};

/// OIDC scopes every client may ask for; API scopes come from the API's definition.
const OIDC_SCOPES: [&str; 5] = ["openid", "profile", "email", "address", "phone"];
const WRONG_ISSUER: &str = "https://wrong-issuer.example.test/";

mod account;
mod authorize;
mod client_auth;
mod device;
mod discovery;
mod mint;
mod token;

pub use account::*;
pub use authorize::*;
pub use client_auth::decode_basic;
use client_auth::*;
pub use device::*;
pub use discovery::*;
use mint::*;
pub use token::*;

#[cfg(test)]
mod tests {
    use super::*;

    fn native(callbacks: &[&str]) -> ClientConfig {
        let mut c = super::super::tenant::TenantConfig::default().clients[0].clone();
        c.callbacks = callbacks.iter().map(|s| s.to_string()).collect();
        c
    }

    #[test]
    fn loopback_callbacks_match_on_any_port_for_native_clients() {
        let c = native(&["http://127.0.0.1/callback"]);
        assert!(callback_allowed(
            &c,
            "http://127.0.0.1:53124/callback",
            &c.callbacks
        ));
        assert!(!callback_allowed(
            &c,
            "http://127.0.0.1:53124/other",
            &c.callbacks
        ));
        assert!(!callback_allowed(
            &c,
            "http://localhost:53124/callback",
            &c.callbacks
        ));
        assert!(!callback_allowed(
            &c,
            "https://127.0.0.1:53124/callback",
            &c.callbacks
        ));
        assert!(!callback_allowed(
            &c,
            "http://127.0.0.1.evil.test/callback",
            &c.callbacks
        ));
    }

    #[test]
    fn exact_port_matching_when_any_port_is_off() {
        let mut c = native(&["http://127.0.0.1:8400/callback"]);
        c.loopback_any_port = false;
        assert!(callback_allowed(
            &c,
            "http://127.0.0.1:8400/callback",
            &c.callbacks
        ));
        assert!(!callback_allowed(
            &c,
            "http://127.0.0.1:8401/callback",
            &c.callbacks
        ));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let cred = STANDARD.encode("my%3Aclient:s%2Bcret");
        assert_eq!(
            decode_basic(&cred),
            Some(("my:client".to_string(), "s+cret".to_string()))
        );
        // Not encoded by the client: `&` and `=` stay in the value.
        let cred = STANDARD.encode("client:a&b=c");
        assert_eq!(
            decode_basic(&cred),
            Some(("client".to_string(), "a&b=c".to_string()))
        );
    }

    fn assertion(over: Value) -> serde_json::Map<String, Value> {
        let mut c = json!({
            "iss": "c1", "sub": "c1", "aud": "http://127.0.0.1:9/oauth/token",
            "exp": 1_000_060, "jti": "j1"
        });
        if let (Some(base), Value::Object(extra)) = (c.as_object_mut(), over) {
            for (k, v) in extra {
                if v.is_null() {
                    base.remove(&k);
                } else {
                    base.insert(k, v);
                }
            }
        }
        match c {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }

    fn check(over: Value) -> Result<(String, i64), String> {
        let auds = [
            "http://127.0.0.1:9/oauth/token".to_string(),
            "http://127.0.0.1:9/".to_string(),
        ];
        check_assertion_claims(&assertion(over), "c1", &auds, 1_000_000)
    }

    #[test]
    fn assertion_claims_follow_rfc_7523() {
        assert_eq!(check(json!({})), Ok(("j1".to_string(), 1_000_060)));
        assert!(check(json!({"aud": ["x", "http://127.0.0.1:9/"]})).is_ok());
        // The limit: 300 s of validity plus 30 s of clock skew.
        assert!(check(json!({"exp": 1_000_330})).is_ok());
        let refused = |over: Value, needle: &str| {
            let err = check(over).err().unwrap_or_default();
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        };
        refused(json!({"exp": 1_000_331}), "at most 300 s");
        refused(json!({"exp": 1_000_000}), "expired 0 s ago");
        refused(json!({"exp": null}), "exp is missing");
        refused(json!({"exp": "1000060"}), "exp is missing");
        refused(json!({"jti": ""}), "jti is missing");
        refused(json!({"iss": "c2"}), "iss must be");
        refused(json!({"sub": null}), "sub must be");
        refused(json!({"aud": null}), "aud is missing");
        refused(
            json!({"aud": "http://127.0.0.1:9/oauth/revoke"}),
            "aud 'http",
        );
        refused(json!({"nbf": 1_000_031}), "nbf");
    }

    #[test]
    fn peek_rejects_what_is_not_a_compact_jws() {
        assert!(peek_jwt("a.b").is_none());
        assert!(peek_jwt("a.b.c.d").is_none());
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let c = URL_SAFE_NO_PAD.encode(r#"{"iss":"x"}"#);
        assert!(peek_jwt(&format!("{h}.{c}.")).is_some());
        assert!(peek_jwt(&format!("{h}.{}.", URL_SAFE_NO_PAD.encode("[1]"))).is_none());
    }

    #[test]
    fn user_codes_are_normalised() {
        assert_eq!(normalize_user_code("qtzl mcbw"), "QTZL-MCBW");
        assert_eq!(normalize_user_code("QTZL-MCBW"), "QTZL-MCBW");
    }
}
