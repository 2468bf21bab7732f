//! Handing the start URL to a browser, without ever waiting for it.
//!
//! The URL given to other programs is the listener's short start URL, so `state` and the PKCE
//! challenge never appear on another process's command line. The login never waits for the
//! opener, but watches it: the caller learns when it exits, so a failed opener can end a login
//! that nobody is at a terminal to finish (the URL is always on stderr as well).

use std::process::{Command, ExitStatus, Stdio};

use url::Url;

use crate::config::Opener;
use crate::output;

/// A browser command still running; its exit status arrives on `exited`.
#[derive(Debug)]
pub struct Watch {
    /// The program, for messages.
    pub program: String,
    pub exited: tokio::sync::oneshot::Receiver<ExitStatus>,
}

/// Opens `url` as `opener` says. A command is watched (see [`Watch`]); the system opener
/// reports its launcher's failure at once. `Err` is one sentence saying what failed (the
/// library's own words only with `-v`).
pub fn open(opener: &Opener, url: &Url) -> Result<Option<Watch>, String> {
    match opener {
        Opener::Nothing | Opener::InProcess => Ok(None),
        Opener::System => {
            output::step("opening the system browser");
            // The launcher's error repeats the URL and a raw wait status: keep it for -v.
            open::that_detached(url.as_str()).map_err(|e| {
                format!(
                    "no browser could be opened (the system's URL opener, e.g. xdg-open, failed){}",
                    output::cause(&e.to_string().replace(url.as_str(), "URL"))
                )
            })?;
            Ok(None)
        }
        Opener::Command(argv) => {
            let Some((program, args)) = argv.split_first() else {
                return Err("the browser command is empty".into());
            };
            output::step(&format!("opening the browser with `{program}`"));
            let mut child = Command::new(program)
                .args(args)
                .arg(url.as_str())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    let why = if e.kind() == std::io::ErrorKind::NotFound {
                        "it was not found (check the name and PATH)".to_string()
                    } else {
                        format!("it could not be started{}", output::cause(&e.to_string()))
                    };
                    format!("could not run the browser command `{program}`: {why}")
                })?;
            let (tx, rx) = tokio::sync::oneshot::channel();
            // Reap it in the background; the login never waits for the opener.
            std::thread::spawn(move || {
                if let Ok(status) = child.wait() {
                    let _ = tx.send(status);
                }
            });
            Ok(Some(Watch {
                program: program.clone(),
                exited: rx,
            }))
        }
    }
}

/// An exit status in words: `exit status 22`, `killed by signal 9`.
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    "an unknown exit status".into()
}

/// Whether a graphical browser is plausibly available (for `demo`).
pub fn display_available() -> bool {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// The `ssh -L` line that forwards `port` when authcli runs over SSH.
pub fn ssh_forward_hint(port: u16) -> Option<String> {
    let conn = std::env::var("SSH_CONNECTION").ok()?;
    let server = conn.split_whitespace().nth(2)?;
    Some(format!(
        "over SSH, forward the port first, from your own machine: ssh -N -L {port}:127.0.0.1:{port} {server}"
    ))
}
