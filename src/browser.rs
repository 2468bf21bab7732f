//! Handing the start URL to a browser, without ever waiting for it.
//!
//! The URL given to other programs is the listener's short start URL, so `state` and the PKCE
//! challenge never appear on another process's command line. A browser that fails to open is
//! a warning, not an error: the URL is always on stderr as well.

use std::process::{Command, Stdio};

use url::Url;

use crate::config::Opener;
use crate::output;

/// Opens `url` as `opener` says. Returns a description of the failure, if any.
pub fn open(opener: &Opener, url: &Url) -> Result<(), String> {
    match opener {
        Opener::Nothing | Opener::InProcess => Ok(()),
        Opener::System => {
            output::step("opening the system browser");
            open::that_detached(url.as_str())
                .map_err(|e| format!("no browser could be opened: {e}"))
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
                .map_err(|e| format!("could not run the browser command `{program}`: {e}"))?;
            // Reap it in the background; the login never waits for the opener.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
            Ok(())
        }
    }
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
