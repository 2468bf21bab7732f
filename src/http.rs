//! (stub) http

use crate::error::ExitCode;

/// Errors of the http layer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("http: not implemented yet")]
    NotImplemented,
}

impl HttpError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Other
    }
}
