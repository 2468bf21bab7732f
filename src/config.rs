//! (stub) config

use crate::error::ExitCode;

/// Errors of the config layer.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: not implemented yet")]
    NotImplemented,
}

impl ConfigError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Other
    }
}
