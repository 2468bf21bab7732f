//! `authcli demo`: the zero-setup tour against the in-process mock tenant.

use std::time::Duration;

use serde_json::Value;

use super::error::Error;
use crate::cli::{DemoArgs, ProviderArgs};
use crate::config::{Opener, Profile, ProviderConfig, RedirectSpec};
use crate::flow::auth_code::BrowserOptions;
use crate::{browser, mock, output};

use super::login::discover_and_login;
use super::{print_tokens, runtime};

/// `authcli demo`.
pub fn demo(args: &DemoArgs) -> Result<u8, Error> {
    output::info("authcli demo: starting the built-in mock tenant on 127.0.0.1 (no network, no account needed)");
    let tenant = mock::MockTenant::start(mock::MockOptions::default())?;
    let issuer = tenant.issuer();
    output::info(&format!(
        "  1. mock tenant ready at {issuer} (an Auth0-shaped authorization server)"
    ));
    let provider = ProviderConfig::resolve(
        &ProviderArgs {
            issuer: Some(issuer.clone()),
            client_id: Some("authcli-test".into()),
            audience: Some("https://api.example.test".into()),
            ..Default::default()
        },
        &Profile::default(),
    )?;
    let opener = if args.no_browser || !browser::display_available() {
        output::info("  2. no browser: authcli follows the sign-in redirects itself");
        Opener::InProcess
    } else {
        output::info("  2. opening your browser; the mock tenant signs you in as alice at once");
        Opener::System
    };
    output::info("  3. PKCE verifier + S256 challenge, state and nonce come from the OS RNG; the loopback listener is bound on a random port before the URL is built");
    let opts = BrowserOptions {
        redirect: RedirectSpec::default(),
        opener,
        timeout: Duration::from_secs(120),
        allow_paste: false,
    };
    let (tokens, endpoints) = runtime()?.block_on(discover_and_login(&provider, &opts))?;
    let who = tokens
        .id_claims
        .as_ref()
        .and_then(|c| c.get("email"))
        .and_then(Value::as_str)
        .unwrap_or("the mock user");
    output::info(&format!("  4. code exchanged at /oauth/token with the verifier; id_token signature, iss, aud, exp and nonce verified against the JWKS: signed in as {who}"));
    for line in super::verify::demo_lines(&tokens, &endpoints, &provider)? {
        output::info(&line);
    }
    output::info("  7. the tokens follow on stdout (the demo stores no session). Next: `authcli mock-tenant` for CI, `authcli login --issuer … --client-id …` for a real provider");
    print_tokens(args.output, &tokens)?;
    Ok(0)
}
