//! `authcli exec -- CMD…`: run a command with the access token in its environment.

use super::error::Error;
use crate::cli::ExecArgs;

use super::selected_session;

/// `authcli exec -- CMD…`: the child's exit code becomes authcli's.
pub fn exec(args: &ExecArgs) -> Result<u8, Error> {
    let (session, _) = selected_session(&args.session, args.min_ttl, false)?;
    let Some((program, rest)) = args.command.split_first() else {
        return Ok(2);
    };
    let status = std::process::Command::new(program)
        .args(rest)
        .env("AUTHCLI_ACCESS_TOKEN", session.access_token.expose())
        .status()
        .map_err(|source| Error::Exec {
            program: program.to_string_lossy().into_owned(),
            source,
        })?;
    Ok(exit_code_of(status))
}

fn exit_code_of(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(1);
        }
    }
    1
}
