//! Library use: a complete PKCE login against the in-process mock tenant, no browser needed.
//!
//! `cargo run --example login_mock`

use std::time::Duration;

use authcli::cli::ProviderArgs;
use authcli::config::{Opener, Profile, ProviderConfig, RedirectSpec};
use authcli::flow::auth_code::BrowserOptions;
use authcli::mock::{MockOptions, MockTenant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The mock tenant runs on its own thread and stops when `tenant` is dropped.
    let tenant = MockTenant::start(MockOptions::default())?;
    let provider = ProviderConfig::resolve(
        &ProviderArgs {
            issuer: Some(tenant.issuer()),
            client_id: Some("authcli-test".into()),
            audience: Some("https://api.example.test".into()),
            ..Default::default()
        },
        &Profile::default(),
    )?;
    let options = BrowserOptions {
        redirect: RedirectSpec::default(),
        // authcli follows the sign-in redirects itself; a CLI would use `Opener::System`.
        opener: Opener::InProcess,
        timeout: Duration::from_secs(30),
        allow_paste: false,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let tokens = runtime.block_on(authcli::browser_login(&provider, &options))?;

    let claims = tokens.id_claims.unwrap_or_default();
    println!("signed in as {} ({})", claims["sub"], claims["email"]);
    println!("access token expires at {:?} (unix)", tokens.expires_at);
    Ok(())
}
