//! Secrets and the random values a login needs.
//!
//! Every credential authcli handles (tokens, codes, the PKCE verifier, client secrets) lives in
//! a newtype whose `Debug` prints a placeholder and which has no `Display`: the only way to the
//! value is an explicit `expose()`, so a secret cannot slip into a log line or an error message
//! by accident. This module also draws PKCE verifiers, `state` and `nonce` from the OS CSPRNG.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::TryRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Defines a redacting secret newtype. `Clone` is opt-in so single-use values stay single.
macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident $(, $derive:ident)*) => {
        $(#[$meta])*
        #[derive(Serialize, Deserialize, PartialEq, Eq $(, $derive)*)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value that must not be shown.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            /// The one place the value leaves its wrapper: for a request body or stdout.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type!(
    /// An OAuth access token.
    AccessToken, Clone
);
secret_type!(
    /// An OpenID Connect ID token.
    IdToken, Clone
);
secret_type!(
    /// A refresh token.
    RefreshToken, Clone
);
secret_type!(
    /// An authorization code from the redirect: single use.
    AuthorizationCode
);
secret_type!(
    /// A confidential client's secret.
    ClientSecret, Clone
);
secret_type!(
    /// A user's password (the legacy password grant): never cloned, never on argv.
    Password
);
secret_type!(
    /// The RFC 7636 code verifier: single use, never cloned.
    PkceVerifier
);
secret_type!(
    /// The `state` parameter binding a redirect to this login.
    State, Clone
);
secret_type!(
    /// The OIDC `nonce` binding an id_token to this login.
    Nonce, Clone
);
secret_type!(
    /// The shared secret `verify` checks HMAC (HS256/384/512) signatures with.
    VerifySecret
);

/// `n` bytes from the operating system's CSPRNG, base64url without padding.
///
/// Failing to read the OS RNG is not recoverable and never happens on a working system;
/// a guessable fallback would be worse than stopping.
pub fn random_urlsafe(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    #[allow(clippy::expect_used)]
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

impl PkceVerifier {
    /// A fresh verifier: 32 random bytes → 43 unreserved characters (256 bits).
    pub fn generate() -> Self {
        Self(random_urlsafe(32))
    }

    /// The S256 challenge: `BASE64URL(SHA256(ASCII(verifier)))`.
    pub fn challenge_s256(&self) -> String {
        s256(&self.0)
    }
}

/// `BASE64URL(SHA256(input))`, the PKCE S256 transform (the mock tenant checks with it too).
///
/// ```
/// // RFC 7636 Appendix B.
/// assert_eq!(
///     authcli::secret::s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/// );
/// ```
pub fn s256(input: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes()))
}

impl State {
    /// 128 bits of state, more than RFC 6749 §10.10 asks.
    pub fn generate() -> Self {
        Self(random_urlsafe(16))
    }
}

impl Nonce {
    /// 128 bits of nonce.
    pub fn generate() -> Self {
        Self(random_urlsafe(16))
    }
}

/// Where a client secret comes from. A session records the source, never the value, so that
/// renewing a client-credentials session reads the secret again the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum SecretSource {
    /// An environment variable (`AUTHCLI_CLIENT_SECRET`).
    Env { var: String },
    /// The first line of a file (`--client-secret-file`, `client_secret_file`).
    File { path: std::path::PathBuf },
    /// The first line of stdin (`--client-secret-stdin`): cannot be read a second time.
    Stdin,
    /// The command line (`--client-secret`): cannot be read a second time.
    Argv,
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3, RFC 7523).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretPost,
    ClientSecretBasic,
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The name discovery uses in `token_endpoint_auth_methods_supported`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// What a client proves itself with: nothing (a public client), a secret, or a private key.
/// Paths and variable names only; the values are read when a request is about to be made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClientAuthSpec {
    /// A public client (native app): `client_id` only, PKCE protects the code.
    #[default]
    None,
    /// A client secret; `method` `None` lets discovery choose between post and basic.
    Secret {
        method: Option<AuthMethod>,
        source: SecretSource,
    },
    /// `private_key_jwt`: an assertion signed with this PEM key.
    PrivateKey {
        key: std::path::PathBuf,
        key_id: Option<String>,
    },
}

/// Compares two strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_test_vector() {
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            verifier.challenge_s256(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifier_has_rfc_length_and_alphabet() {
        let v = PkceVerifier::generate();
        let s = v.expose();
        assert!((43..=128).contains(&s.len()), "{}", s.len());
        assert!(s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)));
        assert_ne!(s, PkceVerifier::generate().expose());
    }

    #[test]
    fn debug_redacts_every_secret() {
        let shown = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?}",
            AccessToken::new("at-SECRET"),
            RefreshToken::new("rt-SECRET"),
            AuthorizationCode::new("code-SECRET"),
            ClientSecret::new("cs-SECRET"),
            PkceVerifier::new("v-SECRET"),
            State::new("st-SECRET"),
        );
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("AccessToken([redacted])"));
    }

    #[test]
    fn state_and_nonce_carry_128_bits() {
        // 16 random bytes, base64url without padding, and never the same twice: a constant or
        // a short/biased generator fails here, not only a wrong length.
        let mut seen = std::collections::HashSet::new();
        let mut ones = 0u32;
        for _ in 0..500 {
            for value in [
                State::generate().expose().to_string(),
                Nonce::generate().expose().to_string(),
            ] {
                assert_eq!(value.len(), 22, "{value}");
                let bytes = URL_SAFE_NO_PAD.decode(&value).expect("base64url");
                assert_eq!(bytes.len(), 16, "{value}");
                ones += bytes.iter().map(|b| b.count_ones()).sum::<u32>();
                assert!(seen.insert(value.clone()), "{value} repeated");
            }
        }
        // 128 000 random bits: about half set (a fixed-fill generator fails; chance of a
        // false alarm is below 1e-100).
        assert!(
            (60_000..68_000).contains(&ones),
            "{ones} of 128000 bits set"
        );
        // The verifier: 43 base64url characters from 32 bytes (RFC 7636 §4.1).
        let verifier = PkceVerifier::generate();
        assert_eq!(verifier.expose().len(), 43);
        assert_ne!(verifier.expose(), PkceVerifier::generate().expose());
    }

    #[test]
    fn constant_time_eq_matches_eq() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }

    #[test]
    fn constant_time_eq_differences_do_not_cancel_out() {
        // Two differing bytes with the same XOR: OR-ing the differences keeps them, a sum or an
        // XOR of them would not (a forged state would then match).
        assert!(!constant_time_eq("ab", "ba"));
        assert!(!constant_time_eq("state-xy", "state-yx"));
        assert!(constant_time_eq("", ""));
    }

    #[test]
    fn auth_method_names_are_the_discovery_names() {
        for method in [
            AuthMethod::ClientSecretPost,
            AuthMethod::ClientSecretBasic,
            AuthMethod::PrivateKeyJwt,
        ] {
            let serde_name = serde_json::to_value(method).unwrap();
            assert_eq!(serde_name, method.as_str(), "{method:?}");
        }
        assert_eq!(AuthMethod::PrivateKeyJwt.as_str(), "private_key_jwt");
    }
}
