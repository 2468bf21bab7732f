//! The top-level error that every layer's error converts into.
//!
//! Each layer owns a `thiserror` enum whose variants know their exit code (`crate::exit`);
//! this module only gathers them, so `main` turns any failure into one message and one code in
//! one place. Nothing below the commands imports it.

pub use crate::exit::ExitCode;

// It lives with the commands because it gathers their errors too (decode, verify, doctor):
// every layer below returns its own error and never sees this one.

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
    /// Boxed: the flows' errors carry the provider's answer and would make every `Result` large.
    #[error(transparent)]
    Flow(Box<crate::flow::FlowError>),
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
    #[error("there is no id_token to print: the provider issued none (OpenID providers issue one only when the `openid` scope is asked for)\n  hint: log in again with `--scope openid` among the scopes, or pick another -o format")]
    NoIdToken,
    /// The output format cannot be produced (e.g. kubectl asked for an unknown apiVersion).
    #[error("cannot print the tokens in that format: {0}")]
    Format(String),
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
            Error::Exec { .. } | Error::Output { .. } | Error::NoIdToken | Error::Format(_) => {
                ExitCode::Other
            }
        }
    }
}

impl From<crate::flow::FlowError> for Error {
    fn from(e: crate::flow::FlowError) -> Self {
        Error::Flow(Box::new(e))
    }
}
