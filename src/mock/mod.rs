//! The mock tenant: an Auth0-shaped authorization server for tests, CI and demos (SPEC §8).

use crate::error::ExitCode;

/// Why the mock tenant could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("mock tenant: could not bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

impl MockError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Other
    }
}

/// `authcli mock-tenant` options.
#[derive(Debug, clap::Args)]
pub struct MockTenantArgs {
    /// Port to listen on (0 = a random free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to listen on. Anything but loopback exposes the public built-in credentials.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
}

/// Runs `authcli mock-tenant` until SIGTERM or Ctrl-C.
pub fn run(_args: MockTenantArgs) -> Result<(), MockError> {
    Ok(())
}

/// (stub until the mock module lands) Options of an in-process mock tenant.
#[derive(Debug, Default)]
pub struct MockOptions {
    _private: (),
}

/// (stub until the mock module lands) A running mock tenant.
#[derive(Debug)]
pub struct MockTenant;

impl MockTenant {
    /// Starts the mock tenant.
    pub fn start(_opts: MockOptions) -> Result<MockTenant, MockError> {
        Ok(MockTenant)
    }
    /// The issuer URL.
    pub fn issuer(&self) -> String {
        "http://127.0.0.1:1/".into()
    }
}
