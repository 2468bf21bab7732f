//! `authcli exec -- CMD…`: run a command with the access token in its environment.

use super::error::Error;
use crate::cli::ExecArgs;
use crate::output;

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
        .status();
    let shown = program.to_string_lossy();
    match status {
        Ok(status) => Ok(exit_code_of(status)),
        // As shells do: 127 when there is no such command, 126 when it cannot be run.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            output::error(&format!(
                "`{shown}`: command not found\n  hint: check the spelling, or give its full path (PATH is searched)"
            ));
            Ok(127)
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            output::error(&format!(
                "`{shown}` cannot be run: permission denied\n  hint: is it a directory, or missing its execute bit (`chmod +x`)?"
            ));
            Ok(126)
        }
        Err(source) => Err(Error::Exec {
            program: shown.into_owned(),
            source,
        }),
    }
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
