//! The command line: clap derive types only. Doc comments are the `--help` text.

use clap::{Parser, Subcommand};

/// A command-line OAuth 2.0 / OpenID Connect client.
#[derive(Debug, Parser)]
#[command(name = "authcli", version, about, propagate_version = true)]
pub struct Cli {
    /// More diagnostics on stderr: -v the steps, -vv every HTTP exchange (secrets redacted).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Nothing on stderr but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands that work today.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the built-in mock authorization server (Auth0-shaped) for tests, CI and demos.
    MockTenant(crate::mock::MockTenantArgs),
}
