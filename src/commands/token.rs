//! `authcli token`: a valid access token for scripts (cache hit, else renewal, else login).

use std::io::IsTerminal;

use crate::cli::{LoginArgs, TokenArgs};
use crate::config::LoginConfig;
use crate::error::Error;
use crate::output;
use crate::session::{self, SessionError};

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
            output::info("No usable session: starting a login.");
            let login_args = LoginArgs {
                provider: args.session.provider.clone(),
                browser: args.browser.clone(),
                storage: args.session.storage,
                ..LoginArgs::default()
            };
            let cfg = LoginConfig::resolve(&login_args)?;
            let tokens = login_and_store(&cfg, args.session.storage)?;
            print_tokens(args.output, &tokens)?;
            return Ok(0);
        }
        Err(e) => return Err(e),
    };
    print_tokens(
        args.output,
        &session::tokens_of(&session, output::now_unix()),
    )?;
    Ok(0)
}
