//! `authcli login`: obtain tokens with a grant, store the session, print the tokens.

use crate::cli::LoginArgs;
use crate::config::{LoginConfig, ProviderConfig};
use crate::error::Error;
use crate::flow::auth_code::BrowserOptions;
use crate::flow::TokenSet;
use crate::http::HttpClient;
use crate::session::{self};
use crate::store::{GrantKind, Storage};
use crate::{discovery, output};

use super::{print_tokens, runtime};

/// Discovery, then the browser login; returns the tokens and where they came from.
pub(crate) async fn discover_and_login(
    provider: &ProviderConfig,
    opts: &BrowserOptions,
) -> Result<(TokenSet, discovery::Endpoints), Error> {
    let http = HttpClient::for_provider(provider)?;
    let endpoints = discovery::resolve(&http, provider).await?;
    let tokens = crate::flow::auth_code::login(&http, provider, &endpoints, opts).await?;
    Ok((tokens, endpoints))
}

/// Logs in with `cfg`, stores the session unless told not to, and returns the tokens.
pub(crate) fn login_and_store(
    cfg: &LoginConfig,
    storage_kind: Option<crate::store::StorageKind>,
) -> Result<TokenSet, Error> {
    let opts = BrowserOptions {
        redirect: cfg.redirect.clone(),
        opener: cfg.opener.clone(),
        timeout: cfg.login_timeout,
        allow_paste: true,
    };
    let obtained_at = output::now_unix();
    let (tokens, endpoints) = runtime()?.block_on(discover_and_login(&cfg.provider, &opts))?;
    if cfg.store {
        let storage = session::open_storage(storage_kind)?;
        let stored = session::from_tokens(
            session::key_for(&cfg.provider),
            GrantKind::AuthorizationCode,
            &tokens,
            &endpoints,
            obtained_at,
        );
        session::save(&storage, &stored)?;
        if !matches!(storage, Storage::None) {
            output::step("session stored");
        }
    }
    Ok(tokens)
}

/// `authcli login`.
pub fn login(args: &LoginArgs) -> Result<u8, Error> {
    let cfg = LoginConfig::resolve(args)?;
    let tokens = login_and_store(&cfg, args.storage)?;
    print_tokens(cfg.output, &tokens)?;
    Ok(0)
}
