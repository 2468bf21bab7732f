//! The command line: clap derive types only. Doc comments are the `--help` text.
//!
//! Nothing here decides anything: `config.rs` turns these raw values (plus environment and
//! profile) into one validated configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::store::StorageKind;

/// A command-line OAuth 2.0 / OpenID Connect client.
///
/// Logs you in from a terminal with the authorization code flow + PKCE over a loopback
/// redirect, prints tokens for scripts, and ships a mock tenant for CI.
#[derive(Debug, Parser)]
#[command(
    name = "authcli",
    version,
    about,
    propagate_version = true,
    args_override_self = true
)]
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
    /// Log in with the browser (authorization code + PKCE), store the session, print the tokens.
    Login(Box<LoginArgs>),
    /// Print a valid access token: cached, else refreshed, else (on a terminal) a new login.
    Token(Box<TokenArgs>),
    /// Force a refresh-token grant now, store and print the result.
    Refresh(Box<RefreshArgs>),
    /// Delete the session; --revoke also revokes the refresh token at the provider.
    Logout(Box<LogoutArgs>),
    /// List stored sessions (never token values).
    Status(StatusArgs),
    /// Call the provider's userinfo endpoint with the session's access token.
    Userinfo(Box<UserinfoArgs>),
    /// Run a command with a valid access token in AUTHCLI_ACCESS_TOKEN (never on its argv).
    Exec(Box<ExecArgs>),
    /// Run the built-in mock authorization server (Auth0-shaped) for tests, CI and demos.
    MockTenant(crate::mock::MockTenantArgs),
    /// Zero-setup tour: start the mock tenant in-process and log in against it.
    Demo(DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page, authcli(1), as roff (`authcli man > authcli.1`).
    #[command(hide = true)]
    Man,
}

/// How to reach the authorization server. Every flag has an `AUTHCLI_*` variable.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Provider options")]
pub struct ProviderArgs {
    /// Named profile from the config file.
    #[arg(long, env = "AUTHCLI_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// The authorization server: a URL, or a bare host such as tenant.us.auth0.com.
    #[arg(
        long,
        visible_alias = "domain",
        env = "AUTHCLI_ISSUER",
        value_name = "URL"
    )]
    pub issuer: Option<String>,
    /// The application's client id.
    #[arg(long, env = "AUTHCLI_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,
    /// API identifier sent as `audience` (Auth0). Without it Auth0 issues an opaque token.
    #[arg(long, env = "AUTHCLI_AUDIENCE", value_name = "AUD")]
    pub audience: Option<String>,
    /// Scopes, space-separated; repeatable. [default: openid profile email offline_access]
    #[arg(long = "scope", env = "AUTHCLI_SCOPE", value_name = "SCOPES")]
    pub scopes: Vec<String>,
    /// Extra authorization-request parameter (connection, organization, prompt, login_hint…).
    #[arg(long = "param", env = "AUTHCLI_PARAM", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Override the authorization endpoint.
    #[arg(long, env = "AUTHCLI_AUTHORIZE_URL", value_name = "URL")]
    pub authorize_url: Option<String>,
    /// Override the token endpoint.
    #[arg(long, env = "AUTHCLI_TOKEN_URL", value_name = "URL")]
    pub token_url: Option<String>,
    /// Override the device authorization endpoint.
    #[arg(long, env = "AUTHCLI_DEVICE_AUTHORIZATION_URL", value_name = "URL")]
    pub device_authorization_url: Option<String>,
    /// Override the revocation endpoint.
    #[arg(long, env = "AUTHCLI_REVOCATION_URL", value_name = "URL")]
    pub revocation_url: Option<String>,
    /// Override the userinfo endpoint.
    #[arg(long, env = "AUTHCLI_USERINFO_URL", value_name = "URL")]
    pub userinfo_url: Option<String>,
    /// Override the JWKS URL.
    #[arg(long, env = "AUTHCLI_JWKS_URL", value_name = "URL")]
    pub jwks_url: Option<String>,
    /// Extra trusted root certificates (PEM). The system trust store is always used too.
    #[arg(long, env = "AUTHCLI_CACERT", value_name = "PEM")]
    pub cacert: Option<PathBuf>,
    /// Per-HTTP-request timeout in seconds. [default: 30]
    #[arg(long, env = "AUTHCLI_TIMEOUT", value_name = "SECS")]
    pub timeout: Option<u64>,
}

/// `authcli login`.
#[derive(Debug, Clone, Default, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub provider: ProviderArgs,
    #[command(flatten)]
    pub browser: BrowserArgs,
    /// Do not store the session.
    #[arg(long)]
    pub no_store: bool,
    /// Where sessions are kept. [default: file]
    #[arg(long, value_enum, env = "AUTHCLI_STORAGE")]
    pub storage: Option<StorageKind>,
    /// What to print on stdout.
    #[arg(short, long, value_enum, env = "AUTHCLI_OUTPUT", default_value_t = OutputFormat::Json)]
    pub output: OutputFormat,
}

/// How the browser part of a login runs (`login`, and `token` when it has to log in).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Browser options")]
pub struct BrowserArgs {
    /// Fixed loopback port(s) to try in turn, e.g. 8400,8401 (Auth0 matches ports exactly).
    #[arg(
        long = "port",
        env = "AUTHCLI_PORT",
        value_name = "PORTS",
        value_delimiter = ','
    )]
    pub ports: Vec<u16>,
    /// The whole redirect URI (host 127.0.0.1, [::1] or localhost; port 0 = random).
    #[arg(
        long,
        env = "AUTHCLI_REDIRECT_URI",
        value_name = "URI",
        conflicts_with = "ports"
    )]
    pub redirect_uri: Option<String>,
    /// Command that opens the URL (the URL is its last argument). Falls back to $BROWSER.
    #[arg(long, env = "AUTHCLI_BROWSER_COMMAND", value_name = "CMD")]
    pub browser_command: Option<String>,
    /// Open nothing; print the URL to stderr only.
    #[arg(long, env = "AUTHCLI_NO_BROWSER")]
    pub no_browser: bool,
    /// Seconds to wait for the browser to come back. [default: 300]
    #[arg(long, env = "AUTHCLI_LOGIN_TIMEOUT", value_name = "SECS")]
    pub login_timeout: Option<u64>,
}

/// Options of every command that works on a stored session.
#[derive(Debug, Clone, Default, Args)]
pub struct SessionArgs {
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// Where sessions are kept. [default: file]
    #[arg(long, value_enum, env = "AUTHCLI_STORAGE")]
    pub storage: Option<StorageKind>,
}

/// `authcli refresh`.
#[derive(Debug, Clone, Default, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub session: SessionArgs,
    /// What to print on stdout.
    #[arg(short, long, value_enum, env = "AUTHCLI_OUTPUT", default_value_t = OutputFormat::Json)]
    pub output: OutputFormat,
}

/// `authcli token`.
#[derive(Debug, Clone, Default, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub session: SessionArgs,
    /// What to print on stdout.
    #[arg(short, long, value_enum, env = "AUTHCLI_OUTPUT", default_value_t = OutputFormat::Token)]
    pub output: OutputFormat,
    /// Refresh unless the cached token stays valid this many more seconds.
    #[arg(
        long,
        env = "AUTHCLI_MIN_TTL",
        value_name = "SECS",
        default_value_t = 60
    )]
    pub min_ttl: u64,
    /// Skip the cache and refresh now.
    #[arg(long)]
    pub force_refresh: bool,
    #[command(flatten)]
    pub browser: BrowserArgs,
}

/// `authcli logout`.
#[derive(Debug, Clone, Default, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub session: SessionArgs,
    /// Also revoke the refresh token at the provider (the session is deleted either way).
    #[arg(long)]
    pub revoke: bool,
    /// Every stored session, not just the selected one.
    #[arg(long)]
    pub all: bool,
}

/// `authcli status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Where sessions are kept. [default: file]
    #[arg(long, value_enum, env = "AUTHCLI_STORAGE")]
    pub storage: Option<StorageKind>,
    /// Output format. [default: table on a terminal, json otherwise]
    #[arg(short, long, value_enum)]
    pub output: Option<ReportFormat>,
}

/// `authcli userinfo`.
#[derive(Debug, Clone, Default, Args)]
pub struct UserinfoArgs {
    #[command(flatten)]
    pub session: SessionArgs,
    /// Output format. [default: table on a terminal, json otherwise]
    #[arg(short, long, value_enum)]
    pub output: Option<ReportFormat>,
}

/// `authcli exec`.
#[derive(Debug, Clone, Default, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub session: SessionArgs,
    /// Refresh first unless the token stays valid this many more seconds.
    #[arg(
        long,
        env = "AUTHCLI_MIN_TTL",
        value_name = "SECS",
        default_value_t = 60
    )]
    pub min_ttl: u64,
    /// The command to run, after `--`.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

/// Formats for reports (`status`, `userinfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Machine-readable JSON.
    Json,
    /// A table for people.
    Table,
}

/// `authcli demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Complete the sign-in in-process instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// What to print on stdout.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Json)]
    pub output: OutputFormat,
}

/// Formats for tokens on stdout (SPEC §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One JSON object with the tokens and their expiry.
    #[default]
    Json,
    /// The access token alone.
    Token,
    /// The ID token alone.
    IdToken,
    /// `Authorization: Bearer …`.
    Header,
    /// Shell `export` lines.
    Env,
    /// A kubectl ExecCredential: the apiVersion kubectl asks for in KUBERNETES_EXEC_INFO (v1 or
    /// v1beta1 of client.authentication.k8s.io), v1 when run outside kubectl.
    ExecCredential,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_single_flags_override_and_lists_append() {
        let cli = Cli::try_parse_from([
            "authcli",
            "login",
            "--login-timeout",
            "30",
            "--login-timeout",
            "1",
            "--scope",
            "openid",
            "--scope",
            "read:x",
            "--port",
            "8400,8401",
            "--port",
            "8402",
        ])
        .unwrap();
        let Command::Login(args) = cli.command else {
            panic!("not login")
        };
        assert_eq!(args.browser.login_timeout, Some(1));
        assert_eq!(args.provider.scopes, vec!["openid", "read:x"]);
        assert_eq!(args.browser.ports, vec![8400, 8401, 8402]);
    }

    #[test]
    fn cli_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}

/// `authcli token …` on its own: the hot path of every script.
#[derive(Debug, Parser)]
#[command(name = "authcli token", args_override_self = true)]
struct TokenOnly {
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    #[command(flatten)]
    args: TokenArgs,
}

/// Parses the process's command line.
///
/// `authcli token …` is parsed with the token command's arguments alone: building the full
/// command tree costs more than the cache hit itself (SPEC §10). Anything the short parser
/// does not accept (help, errors, other commands) goes through the full parser, so messages
/// stay the same. The parsed `Command` trees are leaked on purpose: the process is short-lived
/// and freeing them is pure start-up cost.
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "token") {
        let mut cmd = TokenOnly::command();
        let parsed = cmd
            .try_get_matches_from_mut(&argv[1..])
            .ok()
            .and_then(|m| TokenOnly::from_arg_matches(&m).ok());
        std::mem::forget(cmd);
        if let Some(t) = parsed {
            return Cli {
                verbose: t.verbose,
                quiet: t.quiet,
                command: Command::Token(Box::new(t.args)),
            };
        }
    }
    let mut cmd = Cli::command();
    let matches = cmd
        .try_get_matches_from_mut(argv)
        .unwrap_or_else(|e| e.exit());
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    std::mem::forget(cmd);
    cli
}
