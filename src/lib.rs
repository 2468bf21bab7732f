//! authcli: an OAuth 2.0 / OpenID Connect client for terminals and scripts.
//!
//! A login travels through the modules in this order:
//!
//! `cli` (flags) → `config` (flags + env + profile → validated config) → `discovery`
//! (endpoints) → `flow` (a grant: `auth_code`, …) → `http` (token endpoint) / `loopback`
//! (redirect listener) / `browser` → `jwt` (id_token verification) → `session` + `store`
//! (sessions on disk or in the keychain) → `output` (stdout data, stderr messages).
//! `commands` wires one subcommand each; `mock` is the mock tenant that tests, CI and
//! `authcli demo` start. `secret` holds the redacting newtypes every credential lives in;
//! `error` maps every failure to one exit code of SPEC §7.
//!
//! The cache hit of `authcli token` (`commands::token` → `session::find`) is synchronous
//! file reading: no async runtime, no HTTP client.

pub mod browser;
pub mod cli;
pub mod commands;
pub mod config;
pub mod discovery;
pub mod exit;
pub mod flow;
mod hex;
pub mod html;
pub mod http;
pub mod jwks;
pub mod jwt;
pub mod loopback;
pub mod manpage;
pub mod mock;
pub mod output;
pub mod render;
pub mod secret;
pub mod session;
pub mod store;

pub use commands::error::Error;
pub use exit::ExitCode;

use cli::{Cli, Command};
use config::ProviderConfig;
use flow::auth_code::BrowserOptions;
use flow::TokenSet;

/// aws-lc's CPU feature detection, once per process (later calls only check a flag). The
/// build leaves out aws-lc's load-time constructor (.cargo/config.toml), so that a cache-hit
/// `authcli token`, which uses no crypto, does not pay for it. Everything that uses crypto
/// calls this first: aws-lc-rs does it on some of its entry points only, and where nobody did,
/// aws-lc would take its portable code (correct, but several times slower for RSA).
pub(crate) fn crypto_init() {
    aws_lc_rs::init();
}

/// Runs one parsed command line; `Ok` carries the exit code (0, or a child's for `exec`).
pub fn run(cli: Cli) -> Result<u8, Error> {
    output::set_verbosity(cli.quiet, cli.verbose);
    match cli.command {
        Command::Login(args) => commands::login(&args),
        Command::Token(args) => commands::token(&args),
        Command::Refresh(args) => commands::refresh(&args),
        Command::Logout(args) => commands::logout(&args),
        Command::Status(args) => commands::status(&args),
        Command::Userinfo(args) => commands::userinfo(&args),
        Command::Exec(args) => commands::exec(&args),
        Command::Decode(args) => commands::decode::run(&args),
        Command::Verify(args) => commands::verify::run(&args),
        Command::Doctor(args) => commands::doctor::run(&args),
        Command::MockTenant(args) => mock::run(args, cli.verbose)
            .map(|()| 0)
            .map_err(Error::from),
        Command::Demo(args) => commands::demo(&args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "authcli", &mut script);
            output::write_stdout(&String::from_utf8_lossy(&script))
                .map(|()| 0)
                .map_err(|source| Error::Output {
                    what: "stdout",
                    source,
                })
        }
        Command::Man => manpage::render()
            .and_then(|page| output::write_stdout(&page))
            .map(|()| 0)
            .map_err(|source| Error::Output {
                what: "stdout",
                source,
            }),
    }
}

/// Discovery, then the browser login: the library entry point for a login.
pub async fn browser_login(
    provider: &ProviderConfig,
    opts: &BrowserOptions,
) -> Result<TokenSet, Error> {
    let http = http::HttpClient::for_provider(provider)?;
    let endpoints = discovery::resolve(&http, provider).await?;
    let te = flow::exchange::TokenEndpoint {
        http: &http,
        provider,
        endpoints: &endpoints,
        credential: &flow::client_auth::Credential::None,
    };
    Ok(flow::auth_code::login(te, opts).await?)
}
