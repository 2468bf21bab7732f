//! Injected faults: what a test asks the mock to get wrong, and on which call.
//!
//! A fault names an endpoint, a kind and when it fires (`nth` call counted from when it was
//! added; once, or `every` call from then on). Only calls where a kind can apply are counted,
//! so `{"endpoint": "any", "fault": "deny"}` counts `/authorize` calls only. The JSON schema
//! here is a contract with the client's tests: change it only together with them.

use serde::{Deserialize, Serialize};

/// Which endpoint a fault watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Discovery,
    Jwks,
    Authorize,
    Token,
    DeviceCode,
    Userinfo,
    Revoke,
    Logout,
    Activate,
    Any,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Discovery => "discovery",
            Endpoint::Jwks => "jwks",
            Endpoint::Authorize => "authorize",
            Endpoint::Token => "token",
            Endpoint::DeviceCode => "device_code",
            Endpoint::Userinfo => "userinfo",
            Endpoint::Revoke => "revoke",
            Endpoint::Logout => "logout",
            Endpoint::Activate => "activate",
            Endpoint::Any => "any",
        }
    }
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    OauthError,
    Status,
    Delay,
    Hang,
    Drop,
    Truncate,
    Html,
    Deny,
    WrongState,
    WrongIss,
    WrongIssuer,
    TokenExpired,
    TokenWrongAud,
    TokenWrongIss,
    TokenWrongNonce,
    TokenUnknownKid,
    TokenBadSignature,
    TokenAlgNone,
    /// A new key, never published before, signs this response (OIDF RP test
    /// "signing-key-rotation-just-before-signing"); the JWKS lists it from then on.
    RotateBeforeSigning,
    TokenHs256PublicKey,
    TokenAzpMismatch,
    TokenNbfFuture,
    TokenMissingNonce,
    MissingState,
    MissingIss,
}

impl FaultKind {
    /// The one endpoint this kind is about, if it is about one.
    pub fn only_endpoint(self) -> Option<Endpoint> {
        use FaultKind::*;
        match self {
            Deny | WrongState | WrongIss | MissingState | MissingIss => Some(Endpoint::Authorize),
            WrongIssuer => Some(Endpoint::Discovery),
            TokenExpired | TokenWrongAud | TokenWrongIss | TokenWrongNonce | TokenUnknownKid
            | TokenBadSignature | TokenAlgNone | RotateBeforeSigning | TokenHs256PublicKey
            | TokenAzpMismatch | TokenNbfFuture | TokenMissingNonce => Some(Endpoint::Token),
            OauthError | Status | Delay | Hang | Drop | Truncate | Html => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        use FaultKind::*;
        match self {
            OauthError => "oauth_error",
            Status => "status",
            Delay => "delay",
            Hang => "hang",
            Drop => "drop",
            Truncate => "truncate",
            Html => "html",
            Deny => "deny",
            WrongState => "wrong_state",
            WrongIss => "wrong_iss",
            WrongIssuer => "wrong_issuer",
            TokenExpired => "token_expired",
            TokenWrongAud => "token_wrong_aud",
            TokenWrongIss => "token_wrong_iss",
            TokenWrongNonce => "token_wrong_nonce",
            TokenUnknownKid => "token_unknown_kid",
            TokenBadSignature => "token_bad_signature",
            TokenAlgNone => "token_alg_none",
            RotateBeforeSigning => "rotate_before_signing",
            TokenHs256PublicKey => "token_hs256_public_key",
            TokenAzpMismatch => "token_azp_mismatch",
            TokenNbfFuture => "token_nbf_future",
            TokenMissingNonce => "token_missing_nonce",
            MissingState => "missing_state",
            MissingIss => "missing_iss",
        }
    }
}

fn one() -> u32 {
    1
}

/// One fault as given to `--fault` or `POST /__mock/faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub endpoint: Endpoint,
    pub fault: FaultKind,
    /// 1-based call number, counted from when the fault is added.
    #[serde(default = "one")]
    pub nth: u32,
    /// `false`: only the nth call; `true`: the nth and every later call.
    #[serde(default)]
    pub every: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

impl FaultSpec {
    /// Parses and checks one fault object.
    pub fn from_json(text: &str) -> Result<FaultSpec, String> {
        let spec: FaultSpec = serde_json::from_str(text).map_err(|e| e.to_string())?;
        spec.validate()?;
        Ok(spec)
    }

    /// Checks the parameters each kind needs.
    pub fn validate(&self) -> Result<(), String> {
        if self.nth == 0 {
            return Err("`nth` counts from 1".into());
        }
        if let Some(only) = self.fault.only_endpoint() {
            if self.endpoint != only && self.endpoint != Endpoint::Any {
                return Err(format!(
                    "fault `{}` applies to endpoint `{}` only, not `{}`",
                    self.fault.as_str(),
                    only.as_str(),
                    self.endpoint.as_str()
                ));
            }
        }
        if let Some(s) = self.status {
            if !(200..=599).contains(&s) {
                return Err(format!(
                    "`status` {s} is not an HTTP status between 200 and 599"
                ));
            }
        }
        match self.fault {
            FaultKind::OauthError if self.error.is_none() => {
                Err("fault `oauth_error` needs `error` (e.g. \"invalid_grant\")".into())
            }
            FaultKind::Status if self.status.is_none() => {
                Err("fault `status` needs `status` (e.g. 503)".into())
            }
            FaultKind::Delay if self.delay_ms.is_none() => {
                Err("fault `delay` needs `delay_ms`".into())
            }
            _ => Ok(()),
        }
    }

    /// Whether this fault watches calls to `endpoint`.
    fn watches(&self, endpoint: Endpoint) -> bool {
        let on_endpoint = self.endpoint == Endpoint::Any || self.endpoint == endpoint;
        let kind_applies = self.fault.only_endpoint().is_none_or(|e| e == endpoint);
        on_endpoint && kind_applies
    }
}

/// A fault with its call counter.
#[derive(Debug, Clone)]
struct Armed {
    spec: FaultSpec,
    seen: u32,
}

/// The faults in force.
#[derive(Debug, Default)]
pub struct FaultBook {
    armed: Vec<Armed>,
}

impl FaultBook {
    pub fn add(&mut self, spec: FaultSpec) {
        self.armed.push(Armed { spec, seen: 0 });
    }

    pub fn clear(&mut self) {
        self.armed.clear();
    }

    pub fn list(&self) -> Vec<FaultSpec> {
        self.armed.iter().map(|a| a.spec.clone()).collect()
    }

    /// Counts a call to `endpoint` on every fault watching it and returns the first that
    /// fires. A one-shot fault is removed once it has fired.
    pub fn on_call(&mut self, endpoint: Endpoint) -> Option<FaultSpec> {
        let mut fired = None;
        let mut spent = None;
        for (i, armed) in self.armed.iter_mut().enumerate() {
            if !armed.spec.watches(endpoint) {
                continue;
            }
            armed.seen = armed.seen.saturating_add(1);
            let fires = if armed.spec.every {
                armed.seen >= armed.spec.nth
            } else {
                armed.seen == armed.spec.nth
            };
            if fires && fired.is_none() {
                fired = Some(armed.spec.clone());
                if !armed.spec.every {
                    spent = Some(i);
                }
            }
        }
        if let Some(i) = spent {
            self.armed.remove(i);
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        match FaultSpec::from_json(json) {
            Ok(s) => s,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    #[test]
    fn nth_fires_once_at_the_nth_call() {
        let mut book = FaultBook::default();
        book.add(spec(r#"{"endpoint":"token","fault":"hang","nth":2}"#));
        assert_eq!(book.on_call(Endpoint::Token), None);
        assert!(book.on_call(Endpoint::Token).is_some());
        assert_eq!(book.on_call(Endpoint::Token), None);
    }

    #[test]
    fn every_fires_from_nth_on_and_other_endpoints_do_not_count() {
        let mut book = FaultBook::default();
        book.add(spec(
            r#"{"endpoint":"jwks","fault":"drop","nth":2,"every":true}"#,
        ));
        assert_eq!(book.on_call(Endpoint::Token), None);
        assert_eq!(book.on_call(Endpoint::Jwks), None);
        assert!(book.on_call(Endpoint::Jwks).is_some());
        assert!(book.on_call(Endpoint::Jwks).is_some());
    }

    #[test]
    fn any_counts_only_where_the_kind_applies() {
        let mut book = FaultBook::default();
        book.add(spec(r#"{"endpoint":"any","fault":"deny"}"#));
        assert_eq!(book.on_call(Endpoint::Token), None);
        assert!(book.on_call(Endpoint::Authorize).is_some());
    }

    #[test]
    fn bad_specs_are_rejected_with_a_reason() {
        for bad in [
            r#"{"endpoint":"token","fault":"deny"}"#,
            r#"{"endpoint":"token","fault":"oauth_error"}"#,
            r#"{"endpoint":"token","fault":"status"}"#,
            r#"{"endpoint":"token","fault":"hang","nth":0}"#,
            r#"{"endpoint":"nowhere","fault":"hang"}"#,
            r#"{"endpoint":"token","fault":"hang","typo":1}"#,
        ] {
            assert!(FaultSpec::from_json(bad).is_err(), "{bad}");
        }
    }
}
