//! (stub) discovery

use crate::error::ExitCode;

/// Errors of the discovery layer.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("discovery: not implemented yet")]
    NotImplemented,
}

impl DiscoveryError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Other
    }
}
