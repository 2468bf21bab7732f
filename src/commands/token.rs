//! `authcli token`: a valid access token for scripts (cache hit, else renewal, else login).

use std::io::IsTerminal;

use super::error::Error;
use crate::cli::{GrantArgs, GrantName, LoginArgs, TokenArgs};
use crate::config::LoginConfig;
use crate::output;
use crate::session::{self, SessionError};
use crate::store::GrantKind;

use super::login::login_and_store;
use super::{print_tokens, valid_session};

/// `authcli token`.
pub fn token(args: &TokenArgs) -> Result<u8, Error> {
    let (wanted, profile, storage) = session::select(&args.session)?;
    let result = valid_session(
        &storage,
        &wanted,
        &profile,
        &args.session.provider,
        args.min_ttl,
        args.force_refresh,
    );
    let session = match result {
        Ok(session) => session,
        Err(Error::Session(
            SessionError::NoSession { .. }
            | SessionError::NoRefreshToken { .. }
            | SessionError::RefreshRejected { .. },
        )) if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            // The same grant as the session it replaces, and the same issuer and client.
            let dead = session::find(&storage, &wanted).ok().flatten();
            let mut provider = args.session.provider.clone();
            if let Some(dead) = &dead {
                provider
                    .issuer
                    .get_or_insert_with(|| dead.key.issuer.clone());
                provider
                    .client_id
                    .get_or_insert_with(|| dead.key.client_id.clone());
                if provider.audience.is_none() {
                    provider.audience = dead.key.audience.clone();
                }
            }
            let login_args = LoginArgs {
                provider,
                grant: GrantArgs {
                    grant: dead.map(|d| grant_name(d.grant)),
                    ..GrantArgs::default()
                },
                browser: args.browser.clone(),
                storage: args.session.storage,
                ..LoginArgs::default()
            };
            let cfg = LoginConfig::resolve(&login_args)?;
            output::info("No usable session: starting a login.");
            let (tokens, _) = login_and_store(&cfg, args.session.storage, None)?;
            print_tokens(args.output, &tokens)?;
            return Ok(0);
        }
        Err(Error::Session(SessionError::RefreshRejected { error, login_hint })) => {
            return Err(SessionError::Ended { error, login_hint }.into())
        }
        Err(e) => return Err(e),
    };
    print_tokens(
        args.output,
        &session::tokens_of(&session, output::now_unix()),
    )?;
    Ok(0)
}

fn grant_name(kind: GrantKind) -> GrantName {
    match kind {
        GrantKind::AuthorizationCode => GrantName::AuthorizationCode,
        GrantKind::Device => GrantName::Device,
        GrantKind::ClientCredentials => GrantName::ClientCredentials,
        GrantKind::Password => GrantName::Password,
    }
}
