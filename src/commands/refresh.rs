//! `authcli refresh`: force a renewal now, store and print the result.

use super::error::Error;
use crate::cli::RefreshArgs;
use crate::output;
use crate::session::{self};

use super::{print_tokens, selected_session};

/// `authcli refresh`.
pub fn refresh(args: &RefreshArgs) -> Result<u8, Error> {
    let (session, _) = selected_session(&args.session, 0, true)?;
    print_tokens(
        args.output,
        &session::tokens_of(&session, output::now_unix()),
    )?;
    Ok(0)
}
