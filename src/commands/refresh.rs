//! `authcli refresh`: force a renewal now, store and print the result.

use super::error::Error;
use crate::cli::RefreshArgs;
use crate::output;
use crate::session::{self};

use super::{place_of, print_obtained, valid_session};

/// `authcli refresh`.
pub fn refresh(args: &RefreshArgs) -> Result<u8, Error> {
    let (wanted, profile, storage) = session::select(&args.session)?;
    let session = valid_session(&storage, &wanted, &profile, &args.session.provider, 0, true)?;
    print_obtained(
        args.output,
        &session::tokens_of(&session, output::now_unix()),
        &session.key.issuer,
        &session.key.client_id,
        &place_of(&storage, &session.key),
    )?;
    Ok(0)
}
