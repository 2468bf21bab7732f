//! authcli: an OAuth 2.0 / OpenID Connect client for terminals and scripts.

pub mod cli;
pub mod config;
pub mod discovery;
pub mod error;
pub mod flow;
pub mod http;
pub mod jwt;
pub mod loopback;
pub mod mock;
pub mod secret;
pub mod store;

pub use error::{Error, ExitCode};

/// Runs one parsed command line.
pub fn run(cli: cli::Cli) -> Result<(), Error> {
    match cli.command {
        cli::Command::MockTenant(args) => mock::run(args).map_err(Error::from),
    }
}
