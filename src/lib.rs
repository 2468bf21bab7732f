//! authcli: an OAuth 2.0 / OpenID Connect client for terminals and scripts.
//!
//! A login travels through the modules in this order:
//!
//! `cli` (flags) → `config` (flags + env + profile → validated config) → `discovery`
//! (endpoints) → `flow` (a grant: `auth_code`, …) → `http` (token endpoint) / `loopback`
//! (redirect listener) / `browser` → `jwt` (id_token verification) → `output` (stdout data,
//! stderr messages). `mock` is the mock tenant that tests, CI and `authcli demo` start.
//! `secret` holds the redacting newtypes every credential lives in; `error` maps every
//! failure to one exit code of SPEC §7.

pub mod browser;
pub mod cli;
pub mod config;
pub mod discovery;
pub mod error;
pub mod flow;
pub mod http;
pub mod jwt;
pub mod loopback;
pub mod mock;
pub mod output;
pub mod secret;
pub mod store;

pub use error::{Error, ExitCode};

use cli::{Cli, Command, DemoArgs, LoginArgs};
use config::{LoginConfig, Opener, ProviderConfig, RedirectSpec};
use flow::auth_code::BrowserOptions;
use flow::TokenSet;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    output::set_verbosity(cli.quiet, cli.verbose);
    match cli.command {
        Command::Login(args) => login_command(&args),
        Command::MockTenant(args) => mock::run(args, cli.verbose).map_err(Error::from),
        Command::Demo(args) => demo_command(&args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "authcli", &mut script);
            output::write_stdout(&String::from_utf8_lossy(&script)).map_err(|source| {
                Error::Output {
                    what: "stdout",
                    source,
                }
            })
        }
    }
}

/// A small single-threaded runtime: the client does one thing at a time.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Output {
            what: "the async runtime",
            source: e,
        })
}

fn login_command(args: &LoginArgs) -> Result<(), Error> {
    let cfg = LoginConfig::resolve(args)?;
    let opts = BrowserOptions {
        redirect: cfg.redirect.clone(),
        opener: cfg.opener.clone(),
        timeout: cfg.login_timeout,
        allow_paste: true,
    };
    let tokens = runtime()?.block_on(browser_login(&cfg.provider, &opts))?;
    print_tokens(cfg.output, &tokens)
}

/// Discovery, then the browser login: the library entry point for a login.
pub async fn browser_login(
    provider: &ProviderConfig,
    opts: &BrowserOptions,
) -> Result<TokenSet, Error> {
    let http = http::HttpClient::new(provider.cacert.as_deref(), provider.timeout)?;
    let endpoints = discovery::resolve(&http, provider).await?;
    flow::auth_code::login(&http, provider, &endpoints, opts).await
}

fn print_tokens(format: cli::OutputFormat, tokens: &TokenSet) -> Result<(), Error> {
    let text = output::render_tokens(format, tokens).map_err(|e| Error::Output {
        what: "stdout",
        source: std::io::Error::other(e),
    })?;
    output::write_stdout(&text).map_err(|source| Error::Output {
        what: "stdout",
        source,
    })
}

fn demo_command(args: &DemoArgs) -> Result<(), Error> {
    output::info("authcli demo: starting the built-in mock tenant on 127.0.0.1 (no network, no account needed)");
    let tenant = mock::MockTenant::start(mock::MockOptions::default())?;
    let issuer = tenant.issuer();
    output::info(&format!("  1. mock tenant ready at {issuer}"));
    let provider = ProviderConfig::resolve(
        &cli::ProviderArgs {
            issuer: Some(issuer.clone()),
            client_id: Some("authcli-test".into()),
            audience: Some("https://api.example.test".into()),
            ..Default::default()
        },
        &config::Profile::default(),
    )?;
    let opener = if args.no_browser || !browser::display_available() {
        output::info("  2. no browser: authcli will follow the sign-in redirects itself");
        Opener::InProcess
    } else {
        output::info("  2. opening your browser; the mock tenant signs you in as alice at once");
        Opener::System
    };
    output::info("  3. PKCE verifier + S256 challenge, state and nonce drawn from the OS RNG; loopback listener bound on a random port");
    let opts = BrowserOptions {
        redirect: RedirectSpec::default(),
        opener,
        timeout: std::time::Duration::from_secs(120),
        allow_paste: false,
    };
    let tokens = runtime()?.block_on(browser_login(&provider, &opts))?;
    output::info("  4. code exchanged at /oauth/token with the verifier; id_token signature, iss, aud, exp and nonce verified against the JWKS");
    output::info("  5. tokens below (stdout). Next: `authcli mock-tenant` for CI, `authcli login --issuer … --client-id …` for a real provider");
    print_tokens(args.output, &tokens)
}
