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
    /// Log in (browser + PKCE; or --device, --client-credentials, --grant password), store the session, print the tokens.
    #[command(after_help = LOGIN_EXAMPLES)]
    Login(Box<LoginArgs>),
    /// Print a valid access token: cached, else refreshed, else (on a terminal) a new login.
    #[command(after_help = TOKEN_EXAMPLES)]
    Token(Box<TokenArgs>),
    /// Renew the session now (refresh token, or the client-credentials grant again); store and print it.
    Refresh(Box<RefreshArgs>),
    /// Delete the session; --revoke also revokes the refresh token at the provider.
    Logout(Box<LogoutArgs>),
    /// List stored sessions (never token values).
    Status(StatusArgs),
    /// Call the provider's userinfo endpoint with the session's access token.
    Userinfo(Box<UserinfoArgs>),
    /// Run a command with a valid access token in AUTHCLI_ACCESS_TOKEN (never on its argv).
    Exec(Box<ExecArgs>),
    /// Print a JWT's header and claims (times also as RFC 3339). No verification.
    Decode(DecodeArgs),
    /// Validate a JWT access token as an API must: signature against the issuer's JWKS,
    /// exp/nbf/iat, iss, aud, scopes. Prints the claims when valid (exit 0), else exit 7.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(Box<VerifyArgs>),
    /// Diagnose a provider set-up before a login fails: discovery, issuer, PKCE, grants,
    /// client and redirect URI, Auth0 pitfalls, ports, browser, proxy, CA, clock, storage.
    Doctor(Box<DoctorArgs>),
    /// Run the built-in mock authorization server (Auth0-shaped) for tests, CI and demos.
    #[command(after_help = MOCK_TENANT_EXAMPLES)]
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
    /// The authorization server: a URL or a bare host (tenant.us.auth0.com).
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
    /// API identifier sent as `audience` (without it Auth0 issues an opaque token).
    #[arg(long, env = "AUTHCLI_AUDIENCE", value_name = "AUD")]
    pub audience: Option<String>,
    /// Scopes, space-separated; repeatable. [default: openid profile email offline_access]
    #[arg(long = "scope", env = "AUTHCLI_SCOPE", value_name = "SCOPES")]
    pub scopes: Vec<String>,
    /// Extra request parameter: authorize, device and client-credentials requests (prompt, resource…).
    #[arg(long = "param", env = "AUTHCLI_PARAM", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Override the authorization endpoint.
    #[arg(
        long,
        env = "AUTHCLI_AUTHORIZE_URL",
        value_name = "URL",
        hide_short_help = true
    )]
    pub authorize_url: Option<String>,
    /// Override the token endpoint.
    #[arg(
        long,
        env = "AUTHCLI_TOKEN_URL",
        value_name = "URL",
        hide_short_help = true
    )]
    pub token_url: Option<String>,
    /// Override the device authorization endpoint.
    #[arg(
        long,
        env = "AUTHCLI_DEVICE_AUTHORIZATION_URL",
        value_name = "URL",
        hide_short_help = true
    )]
    pub device_authorization_url: Option<String>,
    /// Override the revocation endpoint.
    #[arg(
        long,
        env = "AUTHCLI_REVOCATION_URL",
        value_name = "URL",
        hide_short_help = true
    )]
    pub revocation_url: Option<String>,
    /// Override the userinfo endpoint.
    #[arg(
        long,
        env = "AUTHCLI_USERINFO_URL",
        value_name = "URL",
        hide_short_help = true
    )]
    pub userinfo_url: Option<String>,
    /// Override the JWKS URL.
    #[arg(
        long,
        env = "AUTHCLI_JWKS_URL",
        value_name = "URL",
        hide_short_help = true
    )]
    pub jwks_url: Option<String>,
    /// Extra trusted root certificates (PEM). The system trust store is always used too.
    #[arg(
        long,
        env = "AUTHCLI_CACERT",
        value_name = "PEM",
        hide_short_help = true
    )]
    pub cacert: Option<PathBuf>,
    /// Per-HTTP-request timeout in seconds. [default: 30]
    #[arg(
        long,
        env = "AUTHCLI_TIMEOUT",
        value_name = "SECS",
        hide_short_help = true
    )]
    pub timeout: Option<u64>,
}

/// `authcli login`.
#[derive(Debug, Clone, Default, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub provider: ProviderArgs,
    #[command(flatten)]
    pub grant: GrantArgs,
    #[command(flatten)]
    pub browser: BrowserArgs,
    /// Do not store the session.
    #[arg(long)]
    pub no_store: bool,
    /// Where sessions are kept. [default: file]
    #[arg(long, value_enum, env = "AUTHCLI_STORAGE")]
    pub storage: Option<StorageKind>,
    /// What to print on stdout. [default: json]
    #[arg(short, long, value_enum, env = "AUTHCLI_OUTPUT")]
    pub output: Option<OutputFormat>,
}

/// The grants `login` can use (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GrantName {
    /// Browser + PKCE over a loopback redirect (the default).
    AuthorizationCode,
    /// The device authorization grant (RFC 8628): sign in on another device.
    Device,
    /// Machine to machine with the client's own credentials.
    ClientCredentials,
    /// The legacy resource owner password grant (discouraged).
    Password,
}

/// Which grant a login uses, and the credentials the non-browser grants need.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Grant options")]
pub struct GrantArgs {
    /// The grant to use. [default: authorization-code]
    #[arg(long, value_enum, env = "AUTHCLI_GRANT", conflicts_with_all = ["device", "client_credentials"])]
    pub grant: Option<GrantName>,
    /// Shorthand for --grant device.
    #[arg(long, conflicts_with = "client_credentials")]
    pub device: bool,
    /// Shorthand for --grant client-credentials.
    #[arg(long)]
    pub client_credentials: bool,
    /// Read the client secret from this file (or AUTHCLI_CLIENT_SECRET).
    #[arg(long, env = "AUTHCLI_CLIENT_SECRET_FILE", value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,
    /// Read the client secret from the first line of stdin.
    #[arg(long, conflicts_with_all = ["client_secret_file", "password_stdin"])]
    pub client_secret_stdin: bool,
    /// The client secret itself (visible in the process list: prefer the variable or a file).
    #[arg(long, value_name = "SECRET", conflicts_with_all = ["client_secret_file", "client_secret_stdin"], hide_short_help = true)]
    pub client_secret: Option<String>,
    /// How the client authenticates at the token endpoint. [default: from discovery]
    #[arg(long, value_enum, env = "AUTHCLI_AUTH_METHOD", hide_short_help = true)]
    pub auth_method: Option<AuthMethodName>,
    /// Private key (PEM, RSA or EC P-256) that signs a private_key_jwt client assertion.
    #[arg(
        long,
        env = "AUTHCLI_CLIENT_KEY",
        value_name = "PEM",
        hide_short_help = true
    )]
    pub client_key: Option<PathBuf>,
    /// `kid` for the client assertion's header.
    #[arg(
        long,
        env = "AUTHCLI_CLIENT_KEY_ID",
        value_name = "KID",
        hide_short_help = true
    )]
    pub client_key_id: Option<String>,
    /// The user name for --grant password.
    #[arg(
        long,
        env = "AUTHCLI_USERNAME",
        value_name = "NAME",
        hide_short_help = true
    )]
    pub username: Option<String>,
    /// Read the password for --grant password from the first line of stdin.
    #[arg(long, hide_short_help = true)]
    pub password_stdin: bool,
    /// Refused: a password on the command line is visible to every local user.
    #[arg(long, value_name = "VALUE", hide = true)]
    pub password: Option<String>,
}

/// Client authentication methods at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum AuthMethodName {
    /// `client_secret` in the request body.
    ClientSecretPost,
    /// HTTP Basic with the form-encoded id and secret.
    ClientSecretBasic,
    /// A signed RFC 7523 client assertion (--client-key).
    PrivateKeyJwt,
}

/// How the browser part of a login runs (`login`, and `token` when it has to log in).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Browser options")]
pub struct BrowserArgs {
    /// Loopback port(s) to try in turn, e.g. 8400,8401 (as registered).
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
        conflicts_with = "ports",
        hide_short_help = true
    )]
    pub redirect_uri: Option<String>,
    /// Command that opens the URL, given as its last argument [default: $BROWSER].
    #[arg(long, env = "AUTHCLI_BROWSER_COMMAND", value_name = "CMD")]
    pub browser_command: Option<String>,
    /// Open nothing; print the URL to stderr only.
    #[arg(long, env = "AUTHCLI_NO_BROWSER")]
    pub no_browser: bool,
    /// Seconds to wait for the sign-in. [default: 300]
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
    /// What to print on stdout. [default: json]
    #[arg(short, long, value_enum, env = "AUTHCLI_OUTPUT")]
    pub output: Option<OutputFormat>,
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

/// `authcli decode`.
#[derive(Debug, Clone, Args)]
pub struct DecodeArgs {
    /// The JWT; `-` or nothing reads it from stdin.
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
    /// Output format. [default: table on a terminal, json otherwise]
    #[arg(short, long, value_enum)]
    pub output: Option<ReportFormat>,
}

const LOGIN_EXAMPLES: &str = "Examples:
  authcli login --issuer tenant.eu.auth0.com --client-id Ab12Cd34 --audience https://api.example.com
  authcli login --profile work --port 8400 --no-browser
  authcli login --device --issuer tenant.eu.auth0.com --client-id Ab12Cd34
  authcli login --client-credentials --client-secret-file secret.txt -o token --no-store
  authcli login -o env > tokens.env   (shell `export` lines)

On a terminal without -o: who signed in and until when on stderr, the tokens but the refresh
token on stdout. Endpoint overrides, --cacert, --timeout and more: authcli login --help";

const TOKEN_EXAMPLES: &str = "Examples:
  curl -H \"Authorization: Bearer $(authcli token)\" https://api.example.com/v1/me
  authcli token -o header | curl -H @- https://api.example.com/v1/me
  authcli token --profile work --min-ttl 600
  authcli token -o exec-credential   (a kubectl exec credential plugin)

Exit code 4 when no usable session exists and there is no terminal to log in from.";

const MOCK_TENANT_EXAMPLES: &str = "Examples:
  authcli mock-tenant --port 8080
  authcli mock-tenant --port 0 --ready-file ready.json > issuer.txt &   (stdout: the issuer URL)
  authcli login --issuer http://127.0.0.1:8080/ --client-id authcli-test \\
      --audience https://api.example.test --browser-command 'curl -fsS -o /dev/null -L'";

const VERIFY_EXAMPLES: &str = "Examples:
  authcli verify \"$TOKEN\" --issuer tenant.eu.auth0.com --audience https://api.example.com --scope read:events
  authcli token | authcli verify - --issuer https://tenant.eu.auth0.com/ --audience https://api.example.com
  authcli verify \"$TOKEN\" --jwks-file jwks.json --issuer https://idp.example/ --audience api://x
  AUTHCLI_VERIFY_SECRET=… authcli verify \"$TOKEN\" --issuer https://idp.example/ --audience api://x   (HS256)
  authcli verify   (on a terminal: the current session's access token)

Exit codes: 0 valid (claims on stdout), 7 invalid (the failed check on stderr),
6 the JWKS could not be had.";

/// `authcli verify`.
#[derive(Debug, Clone, Default, Args)]
pub struct VerifyArgs {
    /// The JWT; `-` or nothing reads stdin (on a terminal, nothing means the current
    /// session's access token).
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
    /// --issuer: `iss` must equal it; --audience: `aud` must contain it; each --scope must be
    /// in `scope` or `permissions`; --jwks-url: where the keys are (else from discovery).
    #[command(flatten)]
    pub session: SessionArgs,
    /// A JWKS (or one JWK) in a file, for offline checks; no network.
    #[arg(long, value_name = "PATH", conflicts_with = "jwks_url")]
    pub jwks_file: Option<PathBuf>,
    /// File holding the shared secret for HS256/384/512 tokens (or AUTHCLI_VERIFY_SECRET).
    /// Without one, HMAC tokens are refused.
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// Refused: a secret on the command line is visible to every process (use --secret-file).
    #[arg(long, value_name = "SECRET", hide = true)]
    pub secret: Option<String>,
    /// Clock skew tolerated on exp, nbf and iat, in seconds.
    #[arg(
        long,
        env = "AUTHCLI_LEEWAY",
        value_name = "SECS",
        default_value_t = 60
    )]
    pub leeway: u64,
    /// Require this `typ` header, e.g. at+jwt (RFC 9068 access tokens).
    #[arg(long, value_name = "TYP")]
    pub require_typ: Option<String>,
    /// Output format. [default: table on a terminal, json otherwise]
    #[arg(short, long, value_enum)]
    pub output: Option<ReportFormat>,
}

/// `authcli doctor`.
#[derive(Debug, Clone, Default, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub provider: ProviderArgs,
    #[command(flatten)]
    pub browser: BrowserArgs,
    /// Where sessions are kept. [default: file]
    #[arg(long, value_enum, env = "AUTHCLI_STORAGE")]
    pub storage: Option<StorageKind>,
    /// Output format. [default: table on a terminal, json otherwise]
    #[arg(short, long, value_enum)]
    pub output: Option<ReportFormat>,
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
