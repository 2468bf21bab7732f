//! `authcli login`: obtain tokens with a grant, store the session, print the tokens.

use super::error::Error;
use crate::cli::LoginArgs;
use crate::config::{GrantConfig, LoginConfig, ProviderConfig};
use crate::discovery::{self, Endpoints};
use crate::flow::auth_code::BrowserOptions;
use crate::flow::client_auth::{read_stdin_line, Credential};
use crate::flow::exchange::TokenEndpoint;
use crate::flow::{self, FlowError, TokenSet};
use crate::http::HttpClient;
use crate::output;
use crate::secret::{ClientAuthSpec, ClientSecret, SecretSource};
use crate::session;
use crate::store::{GrantKind, Storage};

use super::{place_of, print_obtained, runtime};

/// Discovery, then the browser login as a public client (the demo, library users).
pub(crate) async fn discover_and_login(
    provider: &ProviderConfig,
    opts: &BrowserOptions,
) -> Result<(TokenSet, Endpoints), Error> {
    let http = HttpClient::for_provider(provider)?;
    let endpoints = discovery::resolve(&http, provider).await?;
    let te = TokenEndpoint {
        http: &http,
        provider,
        endpoints: &endpoints,
        credential: &Credential::None,
    };
    let tokens = flow::auth_code::login(te, opts).await?;
    Ok((tokens, endpoints))
}

/// Runs the configured grant; returns the tokens, the endpoints, and the credential spec
/// with the authentication method that was actually used (stored for renewal).
async fn run_grant(
    cfg: &LoginConfig,
    given_secret: Option<&ClientSecret>,
) -> Result<(TokenSet, Endpoints, ClientAuthSpec), Error> {
    let provider = &cfg.provider;
    let http = HttpClient::for_provider(provider)?;
    let endpoints = discovery::resolve(&http, provider).await?;
    let credential =
        Credential::load(&cfg.client_auth, given_secret, &endpoints).map_err(FlowError::from)?;
    let te = TokenEndpoint {
        http: &http,
        provider,
        endpoints: &endpoints,
        credential: &credential,
    };
    let tokens = match &cfg.grant {
        GrantConfig::AuthorizationCode => {
            let opts = BrowserOptions {
                redirect: cfg.redirect.clone(),
                opener: cfg.opener.clone(),
                timeout: cfg.login_timeout,
                allow_paste: true,
            };
            flow::auth_code::login(te, &opts).await?
        }
        GrantConfig::Device => {
            flow::device::login(te, &cfg.opener, &flow::device::SystemClock::default()).await?
        }
        GrantConfig::ClientCredentials => flow::client_credentials::obtain(te).await?,
        GrantConfig::Password {
            username,
            password,
            realm,
        } => {
            let password = flow::password::read_password(*password, username)?;
            flow::password::obtain(te, username, &password, realm.as_deref()).await?
        }
    };
    // Record the method discovery chose, so a renewal authenticates the same way.
    let spec = match (&cfg.client_auth, &credential) {
        (ClientAuthSpec::Secret { source, .. }, Credential::Secret { method, .. }) => {
            ClientAuthSpec::Secret {
                method: Some(*method),
                source: source.clone(),
            }
        }
        (spec, _) => spec.clone(),
    };
    Ok((tokens, endpoints, spec))
}

/// Reads a secret that can be read only once (stdin, argv) before anything is sent.
fn one_shot_secret(args: &LoginArgs, cfg: &LoginConfig) -> Result<Option<ClientSecret>, Error> {
    match &cfg.client_auth {
        ClientAuthSpec::Secret {
            source: SecretSource::Stdin,
            ..
        } => Ok(Some(
            read_stdin_line("--client-secret-stdin").map_err(FlowError::from)?,
        )),
        ClientAuthSpec::Secret {
            source: SecretSource::Argv,
            ..
        } => {
            output::warn("--client-secret puts the secret in the process list and shell history: prefer AUTHCLI_CLIENT_SECRET, --client-secret-file or --client-secret-stdin");
            Ok(args.grant.client_secret.as_deref().map(ClientSecret::new))
        }
        _ => Ok(None),
    }
}

fn grant_kind(grant: &GrantConfig) -> GrantKind {
    match grant {
        GrantConfig::AuthorizationCode => GrantKind::AuthorizationCode,
        GrantConfig::Device => GrantKind::Device,
        GrantConfig::ClientCredentials => GrantKind::ClientCredentials,
        GrantConfig::Password { .. } => GrantKind::Password,
    }
}

/// Logs in with `cfg`, stores the session unless told not to, and returns the tokens with
/// where the session is kept (in words).
pub(crate) fn login_and_store(
    cfg: &LoginConfig,
    storage_kind: Option<crate::store::StorageKind>,
    given_secret: Option<&ClientSecret>,
) -> Result<(TokenSet, String), Error> {
    let obtained_at = output::now_unix();
    let (tokens, endpoints, client_auth) = runtime()?.block_on(run_grant(cfg, given_secret))?;
    let mut kept = "not stored (--no-store)".to_string();
    if cfg.store {
        let storage = session::open_storage(storage_kind)?;
        let mut stored = session::from_tokens(
            session::key_for(&cfg.provider),
            grant_kind(&cfg.grant),
            client_auth,
            &tokens,
            &endpoints,
            obtained_at,
        );
        stored.params = cfg.provider.extra_params.clone();
        session::save(&storage, &stored)?;
        if !matches!(storage, Storage::None) {
            output::step("session stored");
        }
        kept = place_of(&storage, &stored.key);
    }
    Ok((tokens, kept))
}

/// `authcli login`.
pub fn login(args: &LoginArgs) -> Result<u8, Error> {
    let cfg = LoginConfig::resolve(args)?;
    let given = one_shot_secret(args, &cfg)?;
    let (tokens, kept) = login_and_store(&cfg, args.storage, given.as_ref())?;
    print_obtained(
        args.output,
        &tokens,
        cfg.provider.issuer.as_str(),
        &cfg.provider.client_id,
        &kept,
    )?;
    Ok(0)
}
