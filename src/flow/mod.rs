//! (stub) grants

use crate::error::ExitCode;

/// Errors of a grant.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("flow: not implemented yet")]
    NotImplemented,
}

impl FlowError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Other
    }
}
