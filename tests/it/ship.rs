//! What ships besides the binary, and how other tools call it: the man page and shell
//! completions that release archives carry, kubectl's exec-credential protocol in both API
//! versions, and `--storage keyring` through a real Secret Service (CI starts a private one).

#[cfg(unix)]
use std::path::Path;
use std::process::Command;

use clap::CommandFactory;
use serde_json::Value;

use crate::support::{authcli, browse_plain, run, start_login, Finished, TempDir, Tenant};

/// Visible subcommands, from the same definition the binary parses with.
fn subcommands() -> Vec<clap::Command> {
    let mut cmd = authcli::cli::Cli::command();
    cmd.build();
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect()
}

fn stdout_of(home: &TempDir, args: &[&str]) -> String {
    let mut cmd = authcli(home.path());
    cmd.args(args);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "authcli {args:?}: {}", out.stderr);
    out.stdout
}

/// A long flag as roff writes it (`--client-id` → `\-\-client\-id`).
fn roff_flag(long: &str) -> String {
    format!("--{long}").replace('-', "\\-")
}

#[test]
fn the_man_page_has_a_section_for_every_subcommand_and_its_flags() {
    let home = TempDir::new("man");
    let page = stdout_of(&home, &["man"]);
    assert!(page.contains(".TH authcli 1"), "{page}");
    assert!(
        page.is_ascii(),
        "non-ASCII in the page: man may show it garbled"
    );
    for heading in ["NAME", "SYNOPSIS", "COMMANDS", "\"EXIT STATUS\""] {
        assert!(page.contains(&format!("\n.SH {heading}\n")), "no {heading}");
    }
    let subs = subcommands();
    assert!(subs.len() >= 10, "{} subcommands", subs.len());
    for sub in &subs {
        let heading = format!("\n.SH \"AUTHCLI {}\"\n", sub.get_name().to_uppercase());
        let start = page
            .find(&heading)
            .unwrap_or_else(|| panic!("no section {heading:?} in the man page"));
        let section = &page[start + heading.len()..];
        let section = &section[..section.find("\n.SH ").unwrap_or(section.len())];
        assert!(
            section.contains(&format!("authcli {}", sub.get_name()).replace('-', "\\-")),
            "the {} section has no synopsis",
            sub.get_name()
        );
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                assert!(
                    section.contains(&roff_flag(long)),
                    "the {} section does not document --{long}",
                    sub.get_name()
                );
            }
        }
    }
    // The hidden generator itself is not a documented command.
    assert!(!page.contains("AUTHCLI MAN\""));

    // groff renders it without a warning. Linux only: macOS no longer ships groff.
    #[cfg(target_os = "linux")]
    {
        let dir = TempDir::new("man-page");
        let file = dir.path().join("authcli.1");
        std::fs::write(&file, &page).unwrap();
        match Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&file)
            .output()
        {
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(out.status.success() && stderr.is_empty(), "groff: {stderr}");
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                crate::tools::missing("ship::man_page (groff)", "groff (Debian: groff-base)")
            }
            Err(e) => panic!("could not run groff: {e}"),
        }
    }
}

/// A shell that parses a script without running it. A missing shell fails the test, or is
/// `None` when skipping was asked for ([`crate::tools::missing`]).
#[cfg(unix)]
fn syntax_check(shell: &str, script: &Path) -> Option<std::process::Output> {
    let args: &[&str] = match shell {
        "fish" => &["--no-execute"],
        _ => &["-n"],
    };
    match Command::new(shell).args(args).arg(script).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::tools::missing(
                &format!("ship::completion_scripts_parse_and_name_every_subcommand ({shell})"),
                shell,
            );
            None
        }
        Err(e) => panic!("could not run {shell}: {e}"),
    }
}

#[cfg(unix)]
#[test]
fn completion_scripts_parse_and_name_every_subcommand() {
    let home = TempDir::new("completions");
    let names: Vec<String> = subcommands()
        .iter()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut checked = 0;
    for (shell, file) in [
        ("bash", "authcli.bash"),
        ("zsh", "_authcli"),
        ("fish", "authcli.fish"),
    ] {
        let script = stdout_of(&home, &["completions", shell]);
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell}: no {name}");
        }
        let path = home.path().join(file);
        std::fs::write(&path, &script).unwrap();
        if let Some(out) = syntax_check(shell, &path) {
            assert!(
                out.status.success(),
                "{shell} does not parse its completion script: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "not even bash parsed a script");

    // And bash really completes with it (bash 4 or later: macOS ships 3.2 as /bin/bash).
    let version = Command::new("bash")
        .args(["-c", "echo ${BASH_VERSINFO[0]}"])
        .output()
        .unwrap();
    if String::from_utf8_lossy(&version.stdout)
        .trim()
        .parse::<u32>()
        .unwrap_or(0)
        >= 4
    {
        let script = home.path().join("authcli.bash");
        assert_eq!(bash_complete(&script, "lo"), ["login", "logout"]);
        assert_eq!(bash_complete(&script, "to"), ["token"]);
    }
}

/// The words bash's completion offers for `authcli WORD`.
#[cfg(unix)]
fn bash_complete(script: &Path, word: &str) -> Vec<String> {
    let probe = format!(
        "source '{}'\nCOMP_WORDS=(authcli {word}); COMP_CWORD=1; COMP_LINE='authcli {word}'\n\
         COMP_POINT=${{#COMP_LINE}}; _authcli authcli {word} authcli\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display()
    );
    let out = Command::new("bash").arg("-c").arg(probe).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut words: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    words.sort();
    words
}

/// What kubectl sets: `KUBERNETES_EXEC_INFO` with the apiVersion of its kubeconfig entry.
fn exec_info(api_version: &str) -> String {
    format!(
        r#"{{"kind":"ExecCredential","apiVersion":"{api_version}","spec":{{"interactive":false}}}}"#
    )
}

fn exec_credential(home: &TempDir, info: Option<&str>) -> Finished {
    let mut cmd = authcli(home.path());
    cmd.args(["token", "-o", "exec-credential"]);
    if let Some(info) = info {
        cmd.env("KUBERNETES_EXEC_INFO", info);
    }
    run(cmd)
}

/// The ExecCredential shape kubectl accepts in both versions: exactly apiVersion, kind and
/// status; status with the token and an RFC 3339 UTC expiry.
fn assert_exec_credential(stdout: &str, api_version: &str, token: &str) {
    let cred: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let mut keys: Vec<&str> = cred
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(keys, ["apiVersion", "kind", "status"], "{stdout}");
    assert_eq!(cred["apiVersion"], api_version);
    assert_eq!(cred["kind"], "ExecCredential");
    let mut status: Vec<&str> = cred["status"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    status.sort();
    assert_eq!(status, ["expirationTimestamp", "token"], "{stdout}");
    assert_eq!(cred["status"]["token"], token);
    let expiry = cred["status"]["expirationTimestamp"].as_str().unwrap();
    let expiry = humantime::parse_rfc3339(expiry).unwrap_or_else(|e| panic!("{e}: {expiry}"));
    assert!(expiry > std::time::SystemTime::now(), "already expired");
}

#[test]
fn exec_credential_answers_in_the_api_version_kubectl_asks_for() {
    let tenant = Tenant::start();
    let home = TempDir::new("exec-credential");
    let mut login = start_login(&tenant, &home, &["-o", "token"]);
    browse_plain(&login.start_url());
    let out = login.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let token = out.stdout.trim().to_string();

    for version in [
        "client.authentication.k8s.io/v1",
        "client.authentication.k8s.io/v1beta1",
    ] {
        let out = exec_credential(&home, Some(&exec_info(version)));
        assert_eq!(out.code, Some(0), "{version}: {}", out.stderr);
        assert_exec_credential(&out.stdout, version, &token);
    }
    // Run by hand: v1.
    let out = exec_credential(&home, None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_exec_credential(&out.stdout, "client.authentication.k8s.io/v1", &token);

    // A version authcli does not speak: a clear error and nothing kubectl could misread.
    let out = exec_credential(
        &home,
        Some(&exec_info("client.authentication.k8s.io/v1alpha1")),
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("v1alpha1"), "{}", out.stderr);
    assert!(!out.stderr.contains(&token));
}

#[test]
fn login_exec_credential_honours_v1beta1() {
    let tenant = Tenant::start();
    let home = TempDir::new("exec-credential-login");
    let mut cmd = authcli(home.path());
    cmd.env(
        "KUBERNETES_EXEC_INFO",
        exec_info("client.authentication.k8s.io/v1beta1"),
    )
    .args([
        "login",
        "--issuer",
        &tenant.issuer,
        "--client-id",
        "authcli-test",
    ])
    .args(["--audience", crate::support::AUDIENCE, "--no-browser"])
    .args(["-o", "exec-credential"]);
    let mut login = crate::support::Running::spawn(cmd);
    browse_plain(&login.start_url());
    let out = login.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let cred: Value = serde_json::from_str(&out.stdout).unwrap();
    let token = cred["status"]["token"].as_str().unwrap().to_string();
    assert_exec_credential(&out.stdout, "client.authentication.k8s.io/v1beta1", &token);
}
