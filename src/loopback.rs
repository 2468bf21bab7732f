//! (stub) loopback

use crate::error::ExitCode;

/// Errors of the loopback layer.
#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    #[error("loopback: not implemented yet")]
    NotImplemented,
}

impl LoopbackError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Other
    }
}
