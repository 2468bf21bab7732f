//! The grants besides the browser login, through the binary against the mock tenant:
//! client credentials (every secret source and auth method, private_key_jwt, renewal by
//! re-running the grant), the device grant (approve, deny, expiry, HTML 500) and the legacy
//! password grant (stdin, realm, wrong password, argv refused, mfa_required, the prompt).

use std::io::Write;
use std::process::Stdio;

use serde_json::{json, Value};

use crate::mock_pkjwt::{rsa_public_pem, seed_private_pem};
use crate::support::{
    authcli, recorded_url, recording_browser, run, session_files, Finished, TempDir, Tenant,
    AUDIENCE,
};

const M2M: &str = "authcli-m2m";
const M2M_SECRET: &str = "authcli-m2m-secret";

fn m2m_login(tenant: &Tenant, home: &TempDir, extra: &[&str]) -> std::process::Command {
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--client-credentials", "--issuer", &tenant.issuer])
        .args(["--client-id", M2M, "--audience", AUDIENCE])
        .args(extra);
    cmd
}

fn grants_of(tenant: &Tenant, grant: &str) -> Vec<Value> {
    tenant
        .requests_to("/oauth/token")
        .into_iter()
        .filter(|r| r["params"]["grant_type"] == grant)
        .collect()
}

/// Runs `cmd` with `input` on its stdin (a pipe, not a terminal).
fn with_stdin(mut cmd: std::process::Command, input: &str) -> Finished {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn authcli");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    let out = child.wait_with_output().expect("authcli runs");
    Finished {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json_out(out: &Finished) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

#[test]
fn client_credentials_with_the_env_secret_stores_a_session_renewed_by_the_grant() {
    let tenant = Tenant::start();
    let home = TempDir::new("cc-env");
    let mut cmd = m2m_login(&tenant, &home, &["-vv"]);
    cmd.env("AUTHCLI_CLIENT_SECRET", M2M_SECRET);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let tokens = json_out(&out);
    assert!(tokens["access_token"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    assert!(tokens.get("id_token").is_none(), "{tokens}");
    assert!(
        !out.stderr.contains(M2M_SECRET),
        "the secret is never on stderr, even with -vv: {}",
        out.stderr
    );
    let seen = grants_of(&tenant, "client_credentials");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["params"]["audience"], AUDIENCE);
    assert!(
        seen[0]["params"].get("scope").is_none(),
        "no user scopes on an M2M request: {}",
        seen[0]
    );
    assert!(!Value::from(tenant.requests())
        .to_string()
        .contains(M2M_SECRET));
    assert_eq!(session_files(home.path()).len(), 1);
    let stored = std::fs::read_to_string(&session_files(home.path())[0]).unwrap();
    assert!(
        !stored.contains(M2M_SECRET),
        "the session keeps the source only"
    );

    // Renewal runs the grant again, reading the variable again.
    let mut cmd = authcli(home.path());
    cmd.args(["token", "--force-refresh"])
        .env("AUTHCLI_CLIENT_SECRET", M2M_SECRET);
    let renewed = run(cmd);
    assert_eq!(renewed.code, Some(0), "{}", renewed.stderr);
    assert!(renewed.stdout.starts_with("eyJ"), "{}", renewed.stdout);
    assert_eq!(grants_of(&tenant, "client_credentials").len(), 2);

    // Without the variable there is nothing to renew with: login required, naming it.
    let mut cmd = authcli(home.path());
    cmd.args(["token", "--force-refresh"]);
    let out = run(cmd);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("AUTHCLI_CLIENT_SECRET"),
        "{}",
        out.stderr
    );
}

#[test]
fn client_credentials_secret_file_and_basic_auth() {
    let tenant = Tenant::start();
    let home = TempDir::new("cc-file");
    let secret = home.path().join("secret");
    std::fs::write(&secret, format!("{M2M_SECRET}\n")).unwrap();
    let mut cmd = m2m_login(&tenant, &home, &["--auth-method", "client_secret_basic"]);
    cmd.arg("--client-secret-file").arg(&secret);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let seen = &grants_of(&tenant, "client_credentials")[0];
    assert_eq!(seen["headers"]["authorization"], "Basic ***", "{seen}");
    assert!(seen["params"].get("client_secret").is_none(), "{seen}");
    // The file is read again on renewal.
    let mut cmd = authcli(home.path());
    cmd.args(["token", "--force-refresh"]);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let again = &grants_of(&tenant, "client_credentials")[1];
    assert_eq!(again["headers"]["authorization"], "Basic ***");
}

#[test]
fn client_credentials_secret_from_stdin_cannot_be_renewed_and_says_which_flag_to_use() {
    let tenant = Tenant::start();
    let home = TempDir::new("cc-stdin");
    let cmd = m2m_login(&tenant, &home, &["--client-secret-stdin"]);
    let out = with_stdin(cmd, &format!("{M2M_SECRET}\n"));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let seen = &grants_of(&tenant, "client_credentials")[0];
    // SPEC §4: the first method discovery lists (the mock, like Auth0, lists basic first).
    assert_eq!(seen["headers"]["authorization"], "Basic ***", "{seen}");
    let mut cmd = authcli(home.path());
    cmd.args(["token", "--force-refresh"]);
    let out = run(cmd);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("--client-secret-stdin") && out.stderr.contains("--client-secret-file"),
        "{}",
        out.stderr
    );
}

#[test]
fn client_secret_on_argv_works_but_warns() {
    let tenant = Tenant::start();
    let home = TempDir::new("cc-argv");
    let out = run(m2m_login(
        &tenant,
        &home,
        &["--client-secret", M2M_SECRET, "--no-store"],
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("process list"), "{}", out.stderr);
    assert!(!out.stderr.contains(M2M_SECRET));
}

#[test]
fn wrong_client_secret_exits_3_with_the_providers_error() {
    let tenant = Tenant::start();
    let home = TempDir::new("cc-wrong");
    let mut cmd = m2m_login(&tenant, &home, &[]);
    cmd.env("AUTHCLI_CLIENT_SECRET", "not-the-secret");
    let out = run(cmd);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("token endpoint"), "{}", out.stderr);
    assert!(!out.stderr.contains("not-the-secret"));
    assert!(session_files(home.path()).is_empty());
}

#[test]
fn client_credentials_without_any_secret_is_a_usage_error_before_any_request() {
    let tenant = Tenant::start();
    let home = TempDir::new("cc-none");
    let out = run(m2m_login(&tenant, &home, &[]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("AUTHCLI_CLIENT_SECRET"),
        "{}",
        out.stderr
    );
    assert!(tenant.requests().is_empty());
}

#[test]
fn private_key_jwt_client_credentials_signs_a_fresh_assertion_each_time() {
    let dir = TempDir::new("pkjwt-cli");
    let private = seed_private_pem(0);
    let config = dir.path().join("tenant.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[clients]]
client_id = "pk-backend"
app_type = "non_interactive"
grant_types = ["client_credentials"]
public_key_pem = """
{}"""

[[client_grants]]
client_id = "pk-backend"
audience = "{AUDIENCE}"
scopes = ["read:events"]
"#,
            rsa_public_pem(&private)
        ),
    )
    .unwrap();
    let key = dir.path().join("client-key.pem");
    std::fs::write(&key, &private).unwrap();
    let tenant = Tenant::start_with(&["--config", config.to_str().unwrap()]);
    let home = TempDir::new("pkjwt-home");
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--client-credentials", "--issuer", &tenant.issuer])
        .args(["--client-id", "pk-backend", "--audience", AUDIENCE])
        .args(["--scope", "read:events", "--client-key-id", "k1", "-vv"])
        .arg("--client-key")
        .arg(&key);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("PRIVATE KEY"));
    let seen = &grants_of(&tenant, "client_credentials")[0];
    assert_eq!(
        seen["params"]["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(seen["params"]["scope"], "read:events");
    // Renewal signs a new assertion (a replayed jti would be refused with 401).
    let mut cmd = authcli(home.path());
    cmd.args(["token", "--force-refresh"]);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let statuses: Vec<Value> = grants_of(&tenant, "client_credentials")
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(200), json!(200)]);
}

/// A tenant whose device flow polls every second and approves after one pending answer.
fn device_tenant(extra: &[&str]) -> (Tenant, TempDir) {
    tenant_with_config(DEVICE_CONFIG, extra)
}

const DEVICE_CONFIG: &str =
    "[device]\nexpires_in_secs = 900\ninterval_secs = 1\nauto_approve_after_polls = 1\n";

/// A mock tenant started with `toml` as its config file (kept until the tenant is dropped).
fn tenant_with_config(toml: &str, extra: &[&str]) -> (Tenant, TempDir) {
    let dir = TempDir::new("tenant-config");
    let config = dir.path().join("tenant.toml");
    std::fs::write(&config, toml).unwrap();
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    (Tenant::start_with(&args), dir)
}

fn device_login(tenant: &Tenant, home: &TempDir) -> std::process::Command {
    let mut cmd = authcli(home.path());
    cmd.args([
        "login",
        "--device",
        "--no-browser",
        "--issuer",
        &tenant.issuer,
    ])
    .args(["--client-id", "authcli-test", "--audience", AUDIENCE]);
    cmd
}

#[test]
fn device_grant_shows_the_code_polls_while_pending_and_stores_a_refreshable_session() {
    let (tenant, _cfg) = device_tenant(&[]);
    let home = TempDir::new("device-ok");
    let out = run(device_login(&tenant, &home));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let tokens = json_out(&out);
    assert!(tokens["refresh_token"].is_string() && tokens["id_token"].is_string());
    assert!(
        out.stderr.contains("/activate?user_code="),
        "{}",
        out.stderr
    );
    let device = tenant.requests_to("/oauth/device/code");
    assert_eq!(device.len(), 1);
    assert_eq!(device[0]["params"]["audience"], AUDIENCE);
    let polls = grants_of(&tenant, "urn:ietf:params:oauth:grant-type:device_code");
    assert_eq!(polls.len(), 2, "one pending (403), then the tokens");
    assert_eq!(polls[0]["status"], 403);
    assert_eq!(polls[1]["status"], 200);
    // The session refreshes like any other.
    let mut cmd = authcli(home.path());
    cmd.args(["token", "--force-refresh"]);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(grants_of(&tenant, "refresh_token").len(), 1);
}

/// authcli stops when the device code's `expires_in` has passed by its own clock, without
/// polling a provider that would only say `expired_token` (or, worse, keep saying pending).
#[test]
fn device_grant_stops_polling_when_expires_in_has_passed() {
    let (tenant, _cfg) = tenant_with_config(
        "[device]\nexpires_in_secs = 2\ninterval_secs = 1\n# never approved\n\
         auto_approve_after_polls = 1000\n",
        &[],
    );
    let home = TempDir::new("device-local-expiry");
    let out = run(device_login(&tenant, &home));
    assert_eq!(out.code, Some(5), "{}", out.stderr);
    assert!(out.stderr.contains("expires_in passed"), "{}", out.stderr);
    // Polled at 1 s (pending); at 2 s the code had expired and nothing more was sent.
    let polls = grants_of(&tenant, "urn:ietf:params:oauth:grant-type:device_code");
    assert_eq!(polls.len(), 1, "{polls:#?}");
    assert!(session_files(home.path()).is_empty());
}

/// Without --no-browser the device grant opens the verification URL (with the code in it)
/// through the browser command, and still prints it.
#[cfg(unix)]
#[test]
fn device_grant_opens_the_verification_url_in_the_browser() {
    let (tenant, _cfg) = device_tenant(&[]);
    let home = TempDir::new("device-browser");
    let opened = home.path().join("opened-url");
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--device", "--issuer", &tenant.issuer])
        .args(["--client-id", "authcli-test", "--audience", AUDIENCE])
        .arg("--browser-command")
        .arg(recording_browser(&opened));
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let url = recorded_url(&opened);
    assert!(url.contains("/activate?user_code="), "{url}");
    assert!(out.stderr.contains(&url), "{url} not shown: {}", out.stderr);
}

#[test]
fn device_grant_denied_exits_3() {
    let (tenant, _cfg) = device_tenant(&[]);
    tenant.fault(
        json!({"endpoint": "token", "fault": "oauth_error", "status": 403,
        "error": "access_denied", "error_description": "User cancelled the confirmation prompt"}),
    );
    let home = TempDir::new("device-denied");
    let out = run(device_login(&tenant, &home));
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("access_denied"), "{}", out.stderr);
    assert!(session_files(home.path()).is_empty());
}

#[test]
fn device_grant_expired_token_exits_5() {
    let (tenant, _cfg) = device_tenant(&[]);
    tenant.fault(
        json!({"endpoint": "token", "fault": "oauth_error", "status": 403,
        "error": "expired_token", "error_description": "Token has expired."}),
    );
    let home = TempDir::new("device-expired");
    let out = run(device_login(&tenant, &home));
    assert_eq!(out.code, Some(5), "{}", out.stderr);
    assert!(out.stderr.contains("expired"), "{}", out.stderr);
}

#[test]
fn device_grant_html_500_exits_6_with_the_status() {
    let (tenant, _cfg) = device_tenant(&[]);
    tenant.fault(json!({"endpoint": "token", "fault": "html", "status": 500}));
    let home = TempDir::new("device-500");
    let out = run(device_login(&tenant, &home));
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(out.stderr.contains("500"), "{}", out.stderr);
}

/// Auth0's "Allow Offline Access" off on the API: `offline_access` is dropped and no refresh
/// token comes. Each user grant says so (`token` will need a new login at expiry); asking
/// without `offline_access` gets no such warning.
#[test]
fn without_offline_access_every_user_grant_warns_that_no_refresh_token_came() {
    const WARNING: &str = "no refresh token was issued although `offline_access` was requested";
    let (tenant, _cfg) = tenant_with_config(
        &format!(
            "{DEVICE_CONFIG}\n[[apis]]\nidentifier = \"{AUDIENCE}\"\n\
             scopes = [\"read:events\", \"write:events\"]\nallow_offline_access = false\n"
        ),
        &[],
    );
    let check = |grant: &str, out: &Finished, warned: bool| {
        assert_eq!(out.code, Some(0), "{grant}: {}", out.stderr);
        assert!(json_out(out)["refresh_token"].is_null(), "{grant}");
        assert_eq!(
            out.stderr.contains(WARNING),
            warned,
            "{grant}: {}",
            out.stderr
        );
    };

    let home = TempDir::new("no-offline-browser");
    let mut running = crate::support::start_login(&tenant, &home, &[]);
    crate::support::browse_plain(&running.start_url());
    check("authorization_code", &running.finish(), true);

    let home = TempDir::new("no-offline-device");
    check("device_code", &run(device_login(&tenant, &home)), true);

    let home = TempDir::new("no-offline-password");
    let cmd = password_login(&tenant, &home, "alice", &["--password-stdin"]);
    check("password", &with_stdin(cmd, "alice-password\n"), true);

    let home = TempDir::new("no-offline-not-asked");
    let mut cmd = device_login(&tenant, &home);
    cmd.args(["--scope", "openid profile"]);
    check("device_code without offline_access", &run(cmd), false);
}

fn password_login(
    tenant: &Tenant,
    home: &TempDir,
    user: &str,
    extra: &[&str],
) -> std::process::Command {
    let mut cmd = authcli(home.path());
    cmd.args(["login", "--grant", "password", "--issuer", &tenant.issuer])
        .args(["--client-id", "authcli-test", "--audience", AUDIENCE])
        .args(["--username", user])
        .args(extra);
    cmd
}

#[test]
fn password_grant_from_stdin_logs_in_and_warns_that_it_is_discouraged() {
    let tenant = Tenant::start();
    let home = TempDir::new("pw-ok");
    let cmd = password_login(&tenant, &home, "alice", &["--password-stdin", "-vv"]);
    let out = with_stdin(cmd, "alice-password\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let tokens = json_out(&out);
    assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string());
    assert!(out.stderr.contains("RFC 9700"), "{}", out.stderr);
    assert!(!out.stderr.contains("alice-password"));
    let seen = &grants_of(&tenant, "password")[0];
    assert_eq!(seen["params"]["password"], "***");
    assert_eq!(seen["params"]["username"], "alice");
    assert_eq!(session_files(home.path()).len(), 1);
}

#[test]
fn password_realm_grant_with_param_realm() {
    let tenant = Tenant::start();
    let home = TempDir::new("pw-realm");
    let cmd = password_login(
        &tenant,
        &home,
        "bob",
        &[
            "--password-stdin",
            "--param",
            "realm=Username-Password-Authentication",
        ],
    );
    let out = with_stdin(cmd, "bob-password\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let seen = grants_of(&tenant, "http://auth0.com/oauth/grant-type/password-realm");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0]["params"]["realm"],
        "Username-Password-Authentication"
    );
}

#[test]
fn wrong_password_exits_3_with_auth0s_message() {
    let tenant = Tenant::start();
    let home = TempDir::new("pw-wrong");
    let cmd = password_login(&tenant, &home, "alice", &["--password-stdin"]);
    let out = with_stdin(cmd, "guess\n");
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("Wrong email or password."),
        "{}",
        out.stderr
    );
    // Said as the provider's refusal, not mistaken for an MFA challenge.
    assert!(out.stderr.contains("invalid_grant"), "{}", out.stderr);
    assert!(!out.stderr.contains("multi-factor"), "{}", out.stderr);
}

#[test]
fn password_on_argv_is_refused_before_anything_is_sent() {
    let tenant = Tenant::start();
    let home = TempDir::new("pw-argv");
    let out = run(password_login(
        &tenant,
        &home,
        "alice",
        &["--password", "alice-password"],
    ));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--password-stdin"), "{}", out.stderr);
    assert!(!out.stderr.contains("alice-password"));
    assert!(tenant.requests().is_empty(), "nothing was sent");
}

#[test]
fn mfa_required_is_reported_as_such() {
    let dir = TempDir::new("pw-mfa-config");
    let config = dir.path().join("tenant.toml");
    std::fs::write(
        &config,
        "[[users]]\nusername = \"carol\"\nuser_id = \"auth0|carol\"\nemail = \"carol@example.test\"\nname = \"Carol\"\nmfa_required = true\n",
    )
    .unwrap();
    let tenant = Tenant::start_with(&["--config", config.to_str().unwrap()]);
    let home = TempDir::new("pw-mfa");
    let cmd = password_login(&tenant, &home, "carol", &["--password-stdin"]);
    let out = with_stdin(cmd, "carol-password\n");
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("mfa_required") && out.stderr.contains("multi-factor"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("mfa_token"), "{}", out.stderr);
    // The provider's own description is passed on.
    assert!(
        out.stderr.contains("Multifactor authentication required"),
        "{}",
        out.stderr
    );
}

#[cfg(target_os = "linux")]
#[test]
fn password_prompt_on_a_terminal_does_not_echo() {
    use std::io::Read;
    let tenant = Tenant::start();
    let home = TempDir::new("pw-prompt");
    let command = format!(
        "{} login --grant password --username alice -o token --issuer {} --client-id authcli-test --audience {AUDIENCE}",
        crate::support::bin().display(),
        tenant.issuer
    );
    let isolated = authcli(home.path());
    let mut script = std::process::Command::new("script");
    script
        .env_clear()
        .envs(isolated.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .args(["-qfec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = script
        .spawn()
        .expect("util-linux `script` runs the login on a pseudo-terminal");
    let mut stdout = child.stdout.take().unwrap();
    // Wait for the prompt before typing, as a person would.
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("Password for alice") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    // The prompt is written just before the terminal's echo is turned off: wait until authcli
    // sits in read(2) on the terminal, as a person's typing would arrive, not type-ahead.
    wait_until_reading(&tenant.issuer);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"alice-password\n").unwrap();
    // Keep the terminal's input open until the login ends: `script` hangs up the session when
    // its stdin closes, which could cut a login that is still talking to the provider.
    stdout.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    let screen = String::from_utf8_lossy(&seen);
    assert!(status.success(), "{screen}");
    assert!(
        !screen.contains("alice-password"),
        "the password is not echoed: {screen}"
    );
    assert!(screen.contains("eyJ"), "the token is printed: {screen}");
}

/// Waits (bounded) until the `authcli` password login whose command line names `issuer` is
/// blocked in read(2) (`/proc/PID/syscall`; the number differs between architectures).
#[cfg(target_os = "linux")]
fn wait_until_reading(issuer: &str) {
    let read_nr = if cfg!(target_arch = "aarch64") {
        "63"
    } else {
        "0"
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let dir = entry.path();
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            if !cmdline.contains("--grant\0password") || !cmdline.contains(issuer) {
                continue;
            }
            let syscall = std::fs::read_to_string(dir.join("syscall")).unwrap_or_default();
            if syscall.split_whitespace().next() == Some(read_nr) {
                return;
            }
        }
        std::thread::yield_now();
    }
    panic!("authcli never waited for the password");
}

/// An empty variable is no secret: renewal refuses it like an unset one, before any request
/// (an empty `client_secret` would otherwise go to the provider).
#[test]
fn client_credentials_renewal_with_an_empty_env_secret_is_login_required() {
    let tenant = Tenant::start();
    let home = TempDir::new("cc-env-empty");
    let mut cmd = m2m_login(&tenant, &home, &[]);
    cmd.env("AUTHCLI_CLIENT_SECRET", M2M_SECRET);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(grants_of(&tenant, "client_credentials").len(), 1);

    let mut cmd = authcli(home.path());
    cmd.args(["token", "--force-refresh"])
        .env("AUTHCLI_CLIENT_SECRET", "");
    let out = run(cmd);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("AUTHCLI_CLIENT_SECRET"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(grants_of(&tenant, "client_credentials").len(), 1);
}
