//! (stub) jwt

use crate::error::ExitCode;

/// Errors of the jwt layer.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("jwt: not implemented yet")]
    NotImplemented,
}

impl JwtError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Other
    }
}
