//! What a new user sees (SPEC §5, §6, §7): the signed-in summary on a terminal, hints that
//! point the right way, config errors, logout and exec exit codes, the status table, colour
//! and the login countdown. Terminal behaviour runs under util-linux `script` (a pty).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    authcli, bin, browse_plain, run, session_files, start_login, TempDir, Tenant, AUDIENCE,
};

/// Logs in through pipes (no terminal) and returns the printed tokens.
fn login(tenant: &Tenant, home: &TempDir, extra: &[&str]) -> Value {
    let mut running = start_login(tenant, home, extra);
    browse_plain(&running.start_url());
    let out = running.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// What ran on a pseudo-terminal left: its exit code and the terminal's transcript.
struct OnPty {
    code: Option<i32>,
    transcript: String,
}

/// Runs the shell command line `line` under `script`, so its stdio is a terminal unless the
/// line redirects it. `authcli` in `line` is the built binary; the environment is the isolated
/// one of [`authcli`], without `NO_COLOR` when `colour`. `None` when `script` is missing and
/// skipping was asked for ([`crate::tools::missing`]).
fn on_a_pty(home: &TempDir, line: &str, colour: bool) -> Option<OnPty> {
    let script = crate::tools::script(&format!("ux::on_a_pty({line})"))?;
    let line = line.replace("authcli ", &format!("{} ", bin().display()));
    let isolated = authcli(home.path());
    let mut cmd = Command::new(script);
    cmd.env_clear()
        .envs(
            isolated
                .get_envs()
                .filter(|(k, _)| !colour || *k != "NO_COLOR")
                .filter_map(|(k, v)| v.map(|v| (k, v))),
        )
        .args(["-qfec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Held open (and never written) so the terminal's input neither ends nor carries anything.
    let _stdin = child.stdin.take();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`{line}` did not finish on the pty");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Some(OnPty {
        code: status.code(),
        transcript: reader.join().unwrap(),
    })
}

/// `authcli login` for the built-in client on a pseudo-terminal, with `rest` appended to the
/// command line (more options, a redirection), without colour.
fn login_on_a_pty(tenant: &Tenant, home: &TempDir, rest: &str) -> Option<OnPty> {
    let line = format!(
        "authcli login --issuer {} --client-id authcli-test --audience {AUDIENCE} {rest}",
        tenant.issuer
    );
    on_a_pty(home, &line, false)
}

fn stored_refresh_token(home: &TempDir) -> String {
    let files = session_files(home.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let session: Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    session["refresh_token"]
        .as_str()
        .expect("a stored refresh token")
        .to_string()
}

#[cfg(target_os = "linux")]
#[test]
fn login_and_refresh_on_a_terminal_say_who_signed_in_and_keep_the_refresh_token_off_stdout() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-summary");
    let out = home.path().join("out.json");
    let login_line = format!(
        "AUTHCLI_BROWSER_COMMAND='curl -fsS -o /dev/null -L' authcli login --issuer {} --client-id authcli-test --audience {AUDIENCE} --login-timeout 30 </dev/null >{}",
        tenant.issuer,
        out.display()
    );
    let Some(done) = on_a_pty(&home, &login_line, false) else {
        return;
    };
    assert_eq!(done.code, Some(0), "{}", done.transcript);
    let t = &done.transcript;
    assert!(t.contains("Signed in as alice@example.test"), "{t}");
    assert!(t.contains("auth0|alice"), "{t}");
    assert!(t.contains(&format!("at {}", tenant.issuer)), "{t}");
    assert!(t.contains("valid until") && t.contains("(in "), "{t}");
    let session_file = session_files(home.path())[0].display().to_string();
    assert!(t.contains(&session_file), "session place not named: {t}");
    assert!(t.contains("refresh token is stored, not printed"), "{t}");
    let printed: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(printed["access_token"].is_string(), "{printed}");
    assert!(printed["id_token"].is_string(), "{printed}");
    assert!(printed.get("refresh_token").is_none(), "{printed}");
    let refresh_token = stored_refresh_token(&home);
    assert!(!t.contains(&refresh_token));

    // `refresh` on a terminal: the same summary, the same stdout without the refresh token.
    let refresh_line = format!("authcli refresh >{}", out.display());
    let done = on_a_pty(&home, &refresh_line, false).unwrap();
    assert_eq!(done.code, Some(0), "{}", done.transcript);
    assert!(
        done.transcript.contains("Signed in as alice@example.test"),
        "{}",
        done.transcript
    );
    let printed: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(printed.get("refresh_token").is_none(), "{printed}");
    assert!(printed["access_token"].is_string(), "{printed}");

    // An explicit `-o json` prints everything and no summary.
    let refresh_line = format!("authcli refresh -o json >{}", out.display());
    let done = on_a_pty(&home, &refresh_line, false).unwrap();
    assert_eq!(done.code, Some(0), "{}", done.transcript);
    assert!(
        !done.transcript.contains("Signed in as"),
        "{}",
        done.transcript
    );
    let printed: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        printed["refresh_token"].as_str(),
        Some(stored_refresh_token(&home).as_str())
    );
}

#[test]
fn login_through_pipes_prints_everything_and_no_summary() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-pipes");
    let mut running = start_login(&tenant, &home, &[]);
    browse_plain(&running.start_url());
    let out = running.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let printed: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(printed["refresh_token"].is_string(), "{printed}");
    assert!(!out.stderr.contains("Signed in as"), "{}", out.stderr);
}

#[cfg(target_os = "linux")]
#[test]
fn no_browser_timeout_counts_down_and_does_not_suggest_no_browser() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-timeout");
    let Some(done) = login_on_a_pty(&tenant, &home, "--no-browser --login-timeout 2 </dev/null")
    else {
        return;
    };
    let t = &done.transcript;
    assert_eq!(done.code, Some(5), "{t}");
    assert!(t.contains("left, Ctrl-C to cancel"), "no countdown: {t}");
    // It counts down from the --login-timeout (the first frame is drawn at once).
    assert!(
        t.contains("(0:02 left") || t.contains("(0:01 left"),
        "the countdown does not start at the timeout: {t}"
    );
    let error = &t[t.find("error:").expect("an error")..];
    assert!(error.contains("open the printed URL"), "{error}");
    assert!(!error.contains("use --no-browser"), "{error}");
}

/// A browser command that cannot start is a warning on a terminal (the user can open the
/// printed URL or paste), not the end of the login.
#[cfg(target_os = "linux")]
#[test]
fn a_browser_that_cannot_start_is_only_a_warning_on_a_terminal() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-no-browser-binary");
    let Some(done) = login_on_a_pty(
        &tenant,
        &home,
        "--browser-command /nonexistent/authcli-browser --login-timeout 2",
    ) else {
        return;
    };
    let t = &done.transcript;
    assert!(t.contains("open the URL above yourself"), "{t}");
    // It kept waiting, for the paste or the callback, until the timeout.
    assert_eq!(done.code, Some(5), "{t}");
    assert!(t.contains("paste the URL"), "{t}");
}

#[cfg(target_os = "linux")]
#[test]
fn no_countdown_redraws_the_paste_prompt() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-prompt");
    let Some(done) = login_on_a_pty(&tenant, &home, "--no-browser --login-timeout 2") else {
        return;
    };
    assert_eq!(done.code, Some(5), "{}", done.transcript);
    assert!(
        done.transcript.contains("paste the URL"),
        "{}",
        done.transcript
    );
    assert!(
        !done.transcript.contains("Ctrl-C to cancel"),
        "{}",
        done.transcript
    );
}

#[test]
fn no_countdown_without_a_terminal() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-timeout-pipes");
    let out = start_login(&tenant, &home, &["--login-timeout", "1"]).finish();
    assert_eq!(out.code, Some(5), "{}", out.stderr);
    assert!(!out.stderr.contains("Ctrl-C to cancel"), "{}", out.stderr);
    assert!(!out.stderr.contains('\x1b'), "{}", out.stderr);
}

#[test]
fn wrong_audience_says_to_fix_the_audience_not_to_retry() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-audience");
    let mut running = start_login(&tenant, &home, &["--audience", "https://no-such-api.test"]);
    browse_plain(&running.start_url());
    let out = running.finish();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("Service not found"), "{}", out.stderr);
    assert!(
        out.stderr.contains("not an API of this tenant"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("retry") && !out.stderr.contains("run the command again"),
        "{}",
        out.stderr
    );
}

#[cfg(target_os = "linux")]
#[test]
fn token_on_a_terminal_without_config_says_what_is_missing_before_any_login() {
    let home = TempDir::new("ux-token-noconfig");
    let Some(done) = on_a_pty(&home, "authcli token", false) else {
        return;
    };
    assert_eq!(done.code, Some(2), "{}", done.transcript);
    assert!(
        done.transcript.contains("no issuer configured"),
        "{}",
        done.transcript
    );
    assert!(
        !done.transcript.contains("starting a login"),
        "{}",
        done.transcript
    );
}

#[test]
fn toml_errors_show_the_caret_diagram() {
    let home = TempDir::new("ux-toml");
    std::fs::write(
        home.path().join("config.toml"),
        "[profiles.default]\nissuer = \"tenant.example\nclient_id = \"x\"\n",
    )
    .unwrap();
    let mut cmd = authcli(home.path());
    cmd.arg("token");
    let out = run(cmd);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("config.toml"), "{}", out.stderr);
    assert!(
        out.stderr.lines().any(|l| l.starts_with("2 | issuer")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.trim_start().starts_with("| ") && l.contains('^')),
        "{}",
        out.stderr
    );
}

#[test]
fn profile_keys_port_and_no_browser_are_accepted_and_unknown_keys_are_listed() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-profile-keys");
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.default]\nissuer = \"{}\"\nclient_id = \"authcli-test\"\naudience = \"{AUDIENCE}\"\nno_browser = true\nport = 0\n",
            tenant.issuer
        ),
    )
    .unwrap();
    // No --no-browser on the command line: the profile's `no_browser` must keep the (absent)
    // system browser from being tried.
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--login-timeout", "30"]);
    let mut running = crate::support::Running::spawn(cmd);
    running.wait_for_line("Open this URL in a browser");
    browse_plain(&running.start_url());
    let out = running.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    std::fs::write(&config, "[profiles.default]\nbrowser = \"firefox\"\n").unwrap();
    let mut cmd = authcli(home.path());
    cmd.arg("token");
    let out = run(cmd);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    for key in ["`port`", "`ports`", "`no_browser`", "`browser_command`"] {
        assert!(out.stderr.contains(key), "{key}: {}", out.stderr);
    }
}

#[test]
fn empty_scope_is_a_usage_error() {
    let home = TempDir::new("ux-scope");
    for command in ["login", "token"] {
        let mut cmd = authcli(home.path());
        cmd.args([
            command,
            "--issuer",
            "tenant.example",
            "--client-id",
            "x",
            "--scope",
            "",
        ]);
        let out = run(cmd);
        assert_eq!(out.code, Some(2), "{command}: {}", out.stderr);
        assert!(out.stderr.contains("--scope"), "{}", out.stderr);
    }
}

#[test]
fn id_token_output_without_an_id_token_says_so() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-no-id-token");
    let mut running = start_login(
        &tenant,
        &home,
        &["--scope", "offline_access", "-o", "id-token"],
    );
    browse_plain(&running.start_url());
    let out = running.finish();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("no id_token"), "{}", out.stderr);
    assert!(out.stderr.contains("openid"), "{}", out.stderr);
    assert!(!out.stderr.contains("could not write"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    // The stored session has none either; `token -o id-token` says the same.
    let mut cmd = authcli(home.path());
    cmd.args(["token", "-o", "id-token"]);
    let out = run(cmd);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("no id_token"), "{}", out.stderr);
}

#[test]
fn logout_when_logged_out_exits_0_with_or_without_all() {
    let home = TempDir::new("ux-logout-none");
    for args in [&["logout"][..], &["logout", "--all"][..]] {
        let mut cmd = authcli(home.path());
        cmd.args(args);
        let out = run(cmd);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("Not logged in"), "{}", out.stderr);
    }
}

#[test]
fn plain_logout_deletes_a_corrupt_current_session() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-logout-corrupt");
    login(&tenant, &home, &[]);
    let file = session_files(home.path())[0].clone();
    std::fs::write(&file, "{ not json").unwrap();
    let mut cmd = authcli(home.path());
    cmd.arg("logout");
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!file.exists(), "the corrupt session file is still there");
    assert!(out.stderr.contains("unusable"), "{}", out.stderr);
    // Nothing left: the next logout says so.
    let mut cmd = authcli(home.path());
    cmd.arg("logout");
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("Not logged in"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn exec_of_a_missing_or_unrunnable_command_exits_like_a_shell() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-exec");
    login(&tenant, &home, &[]);
    let exec = |program: &std::ffi::OsStr| {
        let mut cmd = authcli(home.path());
        cmd.args(["exec", "--"]).arg(program);
        run(cmd)
    };
    let out = exec("authcli-no-such-command-xyz".as_ref());
    assert_eq!(out.code, Some(127), "{}", out.stderr);
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
    let data = home.path().join("data.txt");
    std::fs::write(&data, "not a program").unwrap();
    let out = exec(data.as_os_str());
    assert_eq!(out.code, Some(126), "{}", out.stderr);
    let out = exec(home.path().as_os_str());
    assert_eq!(out.code, Some(126), "{}", out.stderr);
}

#[cfg(target_os = "linux")]
#[test]
fn status_table_marks_the_current_session_and_shows_relative_times() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-status");
    login(&tenant, &home, &[]);
    let Some(done) = on_a_pty(&home, "authcli status", false) else {
        return;
    };
    assert_eq!(done.code, Some(0), "{}", done.transcript);
    let row = done
        .transcript
        .lines()
        .find(|l| l.contains("authcli-test"))
        .unwrap_or_else(|| panic!("no session row: {}", done.transcript));
    assert!(row.starts_with("* "), "{row}");
    assert!(row.contains("(in "), "{row}");
    assert!(
        !done.transcript.contains('\x1b'),
        "NO_COLOR was set: {}",
        done.transcript
    );

    // Expired: "expired … ago".
    crate::support::edit_session(&session_files(home.path())[0], |s| {
        s["expires_at"] = serde_json::json!(crate::support::now() - 600)
    });
    let done = on_a_pty(&home, "authcli status", false).unwrap();
    assert!(
        done.transcript.contains("(expired 10 min ago)"),
        "{}",
        done.transcript
    );
}

#[cfg(target_os = "linux")]
#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let tenant = Tenant::start();
    let home = TempDir::new("ux-colour");
    login(&tenant, &home, &[]);
    let Some(done) = on_a_pty(&home, "authcli status", true) else {
        return;
    };
    assert!(done.transcript.contains("\x1b[1m"), "{:?}", done.transcript);
    let done = on_a_pty(&home, "authcli token --scope ''", true).unwrap();
    assert_eq!(done.code, Some(2), "{}", done.transcript);
    assert!(
        done.transcript.contains("\x1b[1;31merror:"),
        "{:?}",
        done.transcript
    );
    // NO_COLOR on a terminal: plain.
    let done = on_a_pty(&home, "authcli token --scope ''", false).unwrap();
    assert!(done.transcript.contains("error:"), "{}", done.transcript);
    assert!(!done.transcript.contains('\x1b'), "{:?}", done.transcript);
    // No terminal, NO_COLOR unset: plain.
    let mut cmd = authcli(home.path());
    cmd.env_remove("NO_COLOR").args(["token", "--scope", ""]);
    let out = run(cmd);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(!out.stderr.contains('\x1b'), "{:?}", out.stderr);
    let mut cmd = authcli(home.path());
    cmd.env_remove("NO_COLOR").args(["status", "-o", "table"]);
    let out = run(cmd);
    assert!(!out.stdout.contains('\x1b'), "{:?}", out.stdout);
}

#[test]
fn short_help_is_short_and_has_examples_long_help_is_complete() {
    let home = TempDir::new("ux-help");
    let help = |args: &[&str]| {
        let mut cmd = authcli(home.path());
        cmd.args(args);
        let out = run(cmd);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        out.stdout
    };
    for command in ["login", "token"] {
        let short = help(&[command, "-h"]);
        assert!(short.contains("Examples:\n  "), "{short}");
        assert!(
            short.lines().count() <= 60,
            "{command} -h: {} lines",
            short.lines().count()
        );
        assert!(!short.contains("--token-url"), "{short}");
        let long = help(&[command, "--help"]);
        assert!(
            long.contains("--token-url") && long.contains("Examples:"),
            "{long}"
        );
    }
    let mock = help(&["mock-tenant", "--help"]);
    assert!(mock.contains("Examples:\n  authcli mock-tenant"), "{mock}");
}
