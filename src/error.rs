//! Exit codes (SPEC §7) and the top-level error that every layer's error converts into.
//!
//! Each layer owns a `thiserror` enum whose variants know their exit code; this module only
//! gathers them, so `main` turns any failure into one message and one code in one place.

use std::fmt;

/// The process exit codes of SPEC §7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything worked.
    Success = 0,
    /// Bad config, I/O, busy ports, anything not listed below.
    Other = 1,
    /// The command line itself is wrong.
    Usage = 2,
    /// The provider refused, or its answer failed validation.
    Refused = 3,
    /// No usable session and no terminal to log in from.
    LoginRequired = 4,
    /// No callback in time, device code expired.
    Timeout = 5,
    /// Network/TLS failure, non-OAuth HTTP error, malformed body.
    Unreachable = 6,
    /// `verify`: the token is invalid.
    InvalidToken = 7,
    /// Ctrl-C.
    Interrupted = 130,
}

impl ExitCode {
    /// The numeric code for `std::process::exit`.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// Any failure of a command, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(transparent)]
    Discovery(#[from] crate::discovery::DiscoveryError),
    #[error(transparent)]
    Loopback(#[from] crate::loopback::LoopbackError),
    #[error(transparent)]
    Jwt(#[from] crate::jwt::JwtError),
    #[error(transparent)]
    Flow(#[from] crate::flow::FlowError),
    #[error(transparent)]
    Mock(#[from] crate::mock::MockError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    #[error(transparent)]
    Decode(#[from] crate::commands::decode::DecodeError),
    #[error(transparent)]
    Verify(#[from] crate::commands::verify::VerifyError),
    #[error(transparent)]
    Doctor(#[from] crate::commands::doctor::DoctorError),
    #[error("could not run `{program}`: {source}")]
    Exec {
        program: String,
        source: std::io::Error,
    },
    #[error("could not write to {what}: {source}")]
    Output {
        what: &'static str,
        source: std::io::Error,
    },
}

impl Error {
    /// The exit code this failure ends the process with.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(e) => e.exit_code(),
            Error::Http(e) => e.exit_code(),
            Error::Discovery(e) => e.exit_code(),
            Error::Loopback(e) => e.exit_code(),
            Error::Jwt(e) => e.exit_code(),
            Error::Flow(e) => e.exit_code(),
            Error::Mock(e) => e.exit_code(),
            Error::Store(e) => e.exit_code(),
            Error::Session(e) => e.exit_code(),
            Error::Decode(e) => e.exit_code(),
            Error::Verify(e) => e.exit_code(),
            Error::Doctor(e) => e.exit_code(),
            Error::Exec { .. } | Error::Output { .. } => ExitCode::Other,
        }
    }
}
