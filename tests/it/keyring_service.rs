//! `--storage keyring` through the binary against a real Secret Service: a private D-Bus
//! session bus with an unlocked `gnome-keyring-daemon`, started by the test itself (never the
//! developer's own keychain). Also what happens when no Secret Service answers, or one hangs.
//!
//! The tools (Debian: `dbus-daemon`, `gnome-keyring`, `libsecret-tools`) are required: without
//! them the tests fail, unless `AUTHCLI_SKIP_KEYRING=1`, which skips them with a visible line.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{authcli, run, Finished, TempDir, Tenant, AUDIENCE};

const TOOLS: [&str; 4] = [
    "dbus-daemon",
    "dbus-send",
    "gnome-keyring-daemon",
    "secret-tool",
];

/// Whether the keyring tests should run; `false` only when explicitly skipped. Missing tools
/// without the skip variable fail the test.
fn keyring_tests_enabled(test: &str) -> bool {
    if std::env::var("AUTHCLI_SKIP_KEYRING").is_ok_and(|v| v == "1") {
        // Straight to the stderr handle: the test harness captures `eprintln!`.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: AUTHCLI_SKIP_KEYRING=1 (no real Secret Service test)"
        );
        return false;
    }
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|tool| {
            Command::new(tool)
                .arg("--version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_err()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{test} needs {missing:?}: install the Debian packages dbus-daemon gnome-keyring \
         libsecret-tools, or set AUTHCLI_SKIP_KEYRING=1 to skip the Secret Service tests"
    );
    true
}

/// A private session bus (no service activation, so nothing else answers on it) with an
/// unlocked gnome-keyring-daemon serving org.freedesktop.secrets. Both are killed on drop.
struct SecretService {
    dir: TempDir,
    address: String,
    bus: Child,
    keyring: Child,
}

impl SecretService {
    fn start() -> SecretService {
        let dir = TempDir::new("secret-service");
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .expect("dbus-daemon prints its address");
        let address = address.trim().to_string();
        assert!(address.starts_with("unix:"), "bus address {address:?}");

        // Its own HOME and XDG dirs: the keyring files it creates stay in the temp dir.
        let home = dir.path().join("home");
        let runtime = dir.path().join("runtime");
        for d in [&home, &runtime] {
            std::fs::create_dir_all(d).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        // The password that unlocks (and creates) the login keyring, then end of input.
        keyring
            .stdin
            .take()
            .unwrap()
            .write_all(b"test-keyring-password")
            .unwrap();
        let mut line = String::new();
        BufReader::new(keyring.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("gnome-keyring-daemon prints its environment");
        let service = SecretService {
            dir,
            address,
            bus,
            keyring,
        };
        service.wait_for_secrets_name();
        service
    }

    /// Waits until the daemon owns org.freedesktop.secrets on the bus.
    fn wait_for_secrets_name(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new("dbus-send")
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .expect("run dbus-send");
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon never took org.freedesktop.secrets on the bus"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// An `authcli` command that talks to this Secret Service.
    fn authcli(&self, home: &Path) -> Command {
        let mut cmd = authcli(home);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.address);
        cmd
    }

    /// `secret-tool search --all service authcli`: every authcli item with its secret.
    fn authcli_items(&self) -> String {
        let out = Command::new("secret-tool")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", self.dir.path().join("home"))
            .args(["search", "--all", "--unlock", "service", "authcli"])
            .stdin(Stdio::null())
            .output()
            .expect("run secret-tool");
        // secret-tool prints items on stdout and their attributes on stderr.
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

fn login_command(mut cmd: Command, tenant: &Tenant, extra: &[&str]) -> Command {
    cmd.args([
        "login",
        "--issuer",
        &tenant.issuer,
        "--client-id",
        "authcli-test",
        "--audience",
        AUDIENCE,
        // curl plays the browser: the mock approves /authorize at once.
        "--browser-command",
        "curl -fsS -o /dev/null -L",
        "--login-timeout",
        "60",
        "-o",
        "json",
    ])
    .args(extra);
    cmd
}

fn ok(out: &Finished) -> Value {
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or(Value::Null)
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                todo.push(path);
            } else if meta.is_file() {
                out.push(path);
            }
        }
    }
    out
}

fn files_with_ext(home: &Path, ext: &str) -> Vec<PathBuf> {
    files_under(&home.join("sessions"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect()
}

fn status(mut cmd: Command, extra: &[&str]) -> Vec<Value> {
    cmd.args(["status", "-o", "json"]).args(extra);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn keyring_session_lives_in_the_secret_service_and_every_command_finds_it() {
    if !keyring_tests_enabled("keyring_session_lives_in_the_secret_service") {
        return;
    }
    let service = SecretService::start();
    let tenant = Tenant::start();
    let home = TempDir::new("keyring-real");

    let out = run(login_command(
        service.authcli(home.path()),
        &tenant,
        &["--storage", "keyring"],
    ));
    let tokens = ok(&out);
    assert!(
        !out.stderr.contains("warning"),
        "fell back:\n{}",
        out.stderr
    );
    let secrets: Vec<String> = ["access_token", "refresh_token", "id_token"]
        .iter()
        .filter_map(|k| tokens[*k].as_str().map(str::to_string))
        .collect();
    assert_eq!(secrets.len(), 3, "{tokens}");

    // In the keychain, and in no file: only a marker says where the session is.
    let items = service.authcli_items();
    assert!(items.contains(&secrets[0]), "not in the keychain:\n{items}");
    for file in files_under(home.path()) {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a token is in {}",
                file.display()
            );
        }
    }
    assert!(files_with_ext(home.path(), "json").is_empty());
    assert_eq!(files_with_ext(home.path(), "keyring").len(), 1);

    // token, status and logout find it without --storage.
    tenant.clear_requests();
    let mut cmd = service.authcli(home.path());
    cmd.arg("token");
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), secrets[0]);
    assert!(tenant.requests().is_empty(), "cache hit expected");

    let rows = status(service.authcli(home.path()), &[]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["storage"], "keyring", "{rows:?}");

    // A refresh without --storage keeps the session in the keychain.
    let mut cmd = service.authcli(home.path());
    cmd.args(["token", "--force-refresh"]);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let renewed = out.stdout.trim().to_string();
    assert_ne!(renewed, secrets[0]);
    assert!(service.authcli_items().contains(&renewed));
    assert!(files_with_ext(home.path(), "json").is_empty());

    let mut cmd = service.authcli(home.path());
    cmd.arg("logout");
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let items = service.authcli_items();
    assert!(items.trim().is_empty(), "logout left an item:\n{items}");
    assert!(files_with_ext(home.path(), "keyring").is_empty());

    let mut cmd = service.authcli(home.path());
    cmd.arg("token");
    assert_eq!(run(cmd).code, Some(4));
}

#[test]
fn no_secret_service_on_the_bus_falls_back_to_files_and_says_so_even_with_q() {
    let tenant = Tenant::start();
    let home = TempDir::new("keyring-nobus");
    let nowhere = home.path().join("no-bus-here");
    let with_bus = |home: &Path| {
        let mut cmd = authcli(home);
        cmd.env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", nowhere.display()),
        );
        cmd
    };
    let out = run(login_command(
        with_bus(home.path()),
        &tenant,
        &["-q", "--storage", "keyring"],
    ));
    let tokens = ok(&out);
    assert!(
        out.stderr.contains("warning:") && out.stderr.contains("keychain"),
        "no fallback warning under -q:\n{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&home.path().join("sessions").display().to_string()),
        "{}",
        out.stderr
    );
    assert_eq!(files_with_ext(home.path(), "json").len(), 1);
    assert!(files_with_ext(home.path(), "keyring").is_empty());

    let rows = status(with_bus(home.path()), &["--storage", "keyring"]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0]["storage"], "file",
        "a fallback is not in the keyring"
    );

    let mut cmd = with_bus(home.path());
    cmd.arg("token");
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), tokens["access_token"].as_str().unwrap());
    // A file session never costs a keychain call, so no warning here.
    assert!(!out.stderr.contains("keychain"), "{}", out.stderr);
}

#[test]
fn a_secret_service_that_never_answers_times_out_and_falls_back() {
    let tenant = Tenant::start();
    let home = TempDir::new("keyring-hang");
    // A "bus" that accepts connections and never says a word.
    let socket = home.path().join("silent-bus");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            match conn {
                Ok(conn) => held.push(conn),
                Err(_) => break,
            }
        }
    });
    let mut cmd = authcli(home.path());
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", socket.display()),
    );
    let out = run(login_command(cmd, &tenant, &["--storage", "keyring"]));
    ok(&out);
    assert!(
        out.stderr.contains("no answer within"),
        "no timeout warning:\n{}",
        out.stderr
    );
    assert_eq!(files_with_ext(home.path(), "json").len(), 1);
    assert!(files_with_ext(home.path(), "keyring").is_empty());
    let rows = status(authcli(home.path()), &[]);
    assert_eq!(rows[0]["storage"], "file");
}
