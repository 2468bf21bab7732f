//! Grants: each file obtains tokens one way and returns a [`TokenSet`].
//!
//! `auth_code` is the browser login (PKCE over a loopback redirect), `device` the device
//! authorization grant, `client_credentials` machine to machine, `password` the legacy
//! resource owner grant, `refresh` the refresh-token grant. Every one of them reaches the token
//! endpoint through `exchange` (client authentication from `client_auth`, `audience`, id_token
//! checks). The flows never print tokens and never store them: the caller decides (output,
//! session store).

pub mod auth_code;
pub mod client_auth;
pub mod client_credentials;
pub mod device;
pub mod exchange;
pub mod id_token;
pub mod password;
pub mod refresh;

use serde_json::Value;

use crate::exit::ExitCode;
use crate::http::TokenResponse;
use crate::secret::{AccessToken, IdToken, RefreshToken};

/// Why a grant did not complete: the flows' own reasons, and the layers below them.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("no sign-in arrived within {secs} s\n  hint: {}", timeout_hint(*browser_opened))]
    Timeout {
        secs: u64,
        /// Whether authcli opened a browser (else the user had to open the URL).
        browser_opened: bool,
    },
    #[error("interrupted: the login was cancelled and the listener closed")]
    Interrupted,
    #[error("the provider returned an id_token but publishes no JWKS to verify it\n  hint: pass --jwks-url")]
    NoJwks,
    #[error("the pasted text is not usable: {0}")]
    Paste(String),
    #[error(transparent)]
    ClientAuth(#[from] client_auth::ClientAuthError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(transparent)]
    Jwt(#[from] crate::jwt::JwtError),
    #[error(transparent)]
    Discovery(#[from] crate::discovery::DiscoveryError),
    #[error(transparent)]
    Loopback(#[from] crate::loopback::LoopbackError),
    #[error("the device code expired before the sign-in was approved ({0})\n  hint: run the login again and finish it at the verification URL sooner")]
    DeviceExpired(&'static str),
    #[error("the provider requires multi-factor authentication for this user (mfa_required){detail}\n  hint: authcli does not answer MFA challenges in the password grant: sign in with the browser (`--grant authorization-code`) or `--device`")]
    MfaRequired { detail: String },
    #[error("the {what} names another {claim} than the session: expected `{expected}`, found `{found}`\n  hint: the provider answered for somebody else; nothing was stored. Log in again with `authcli login` if this is expected")]
    IdentityChanged {
        what: &'static str,
        claim: &'static str,
        expected: String,
        found: String,
    },
    #[error("could not read the password: {0}\n  hint: run on a terminal to be prompted, or pipe it in with --password-stdin")]
    Password(String),
    #[error("{why}, and with no terminal to open the URL from, the login was stopped\n  hint: fix --browser-command (or BROWSER), or pass --no-browser and open the printed URL yourself")]
    BrowserFailed { why: String },
    #[error("the browser command `{program}` failed ({status}) before the sign-in finished, and with no terminal to wait at, the login was stopped\n  hint: {}", browser_failed_hint(program))]
    BrowserCommandFailed { program: String, status: String },
}

fn timeout_hint(browser_opened: bool) -> &'static str {
    if browser_opened {
        "finish the sign-in in the browser sooner, raise --login-timeout, or use --no-browser and open the printed URL yourself"
    } else {
        "open the printed URL in a browser and finish the sign-in before the time runs out (raise --login-timeout for more); if the page shows an error, check --client-id, --audience and the allowed callback URLs"
    }
}

fn browser_failed_hint(program: &str) -> &'static str {
    let name = std::path::Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    if matches!(name, "curl" | "wget") {
        "the provider most likely answered with an error page (a wrong --client-id or --audience, or a callback URL the application does not allow): open the printed URL in a browser to read it"
    } else {
        "the command must open the URL given as its last argument: fix --browser-command (or BROWSER), or pass --no-browser and open the printed URL yourself"
    }
}

impl FlowError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            FlowError::Timeout { .. } => ExitCode::Timeout,
            FlowError::Interrupted => ExitCode::Interrupted,
            FlowError::NoJwks
            | FlowError::BrowserFailed { .. }
            | FlowError::BrowserCommandFailed { .. } => ExitCode::Other,
            FlowError::Paste(_) => ExitCode::Refused,
            FlowError::ClientAuth(e) => e.exit_code(),
            FlowError::Http(e) => e.exit_code(),
            FlowError::Jwt(e) => e.exit_code(),
            FlowError::Discovery(e) => e.exit_code(),
            FlowError::Loopback(e) => e.exit_code(),
            FlowError::DeviceExpired(_) => ExitCode::Timeout,
            FlowError::MfaRequired { .. } => ExitCode::Refused,
            FlowError::Password(_) => ExitCode::Usage,
            FlowError::IdentityChanged { .. } => ExitCode::Refused,
        }
    }
}

/// The first line of stdin without its line ending (`--client-secret-stdin`, `--password-stdin`).
fn stdin_line() -> std::io::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let len = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(len);
    Ok(line)
}

/// Tokens obtained by a grant, with absolute expiry.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_in: Option<u64>,
    /// Unix seconds; `None` when the provider gave no lifetime.
    pub expires_at: Option<u64>,
    pub scope: Option<String>,
    pub id_token: Option<IdToken>,
    pub refresh_token: Option<RefreshToken>,
    /// Verified id_token claims, when there was one.
    pub id_claims: Option<Value>,
}

impl TokenSet {
    /// Builds a token set from a token response received at `now` (unix seconds).
    pub fn from_response(resp: TokenResponse, now: u64, id_claims: Option<Value>) -> Self {
        TokenSet {
            expires_at: resp.expires_in.map(|s| now.saturating_add(s)),
            access_token: resp.access_token,
            token_type: resp.token_type,
            expires_in: resp.expires_in,
            scope: resp.scope,
            id_token: resp.id_token,
            refresh_token: resp.refresh_token,
            id_claims,
        }
    }
}
