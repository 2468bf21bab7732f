//! Sessions and `authcli token` for scripts (SPEC §6): store, cache, refresh, logout, status,
//! userinfo, exec — observed through the binary and the mock tenant's request log.

use serde_json::{json, Value};

use crate::support::{
    authcli, browse_plain, edit_session, now, run, session_files, start_login, Running, TempDir,
    Tenant, AUDIENCE,
};

/// Logs in (storing the session) and returns the printed tokens.
fn login(tenant: &Tenant, home: &TempDir, extra: &[&str]) -> Value {
    let mut running = start_login(tenant, home, extra);
    browse_plain(&running.start_url());
    let out = running.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

fn token(home: &TempDir, extra: &[&str]) -> crate::support::Finished {
    let mut cmd = authcli(home.path());
    cmd.arg("token").args(extra);
    run(cmd)
}

fn expire_stored_session(home: &TempDir) {
    let files = session_files(home.path());
    assert_eq!(files.len(), 1, "{files:?}");
    edit_session(&files[0], |s| s["expires_at"] = json!(now() - 10));
}

fn refresh_calls(tenant: &Tenant) -> usize {
    tenant
        .requests_to("/oauth/token")
        .iter()
        .filter(|r| r["params"]["grant_type"] == "refresh_token")
        .count()
}

#[test]
fn cache_hit_prints_the_stored_token_without_any_request() {
    let tenant = Tenant::start();
    let home = TempDir::new("token-cache");
    let tokens = login(&tenant, &home, &[]);
    tenant.clear_requests();
    let out = token(&home, &["-vv"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("{}\n", tokens["access_token"].as_str().unwrap())
    );
    assert!(tenant.requests().is_empty(), "{:#?}", tenant.requests());
    // The hot path starts no async runtime (its -vv trace would say so).
    assert!(!out.stderr.contains("async runtime"), "{}", out.stderr);
    let header = token(&home, &["-o", "header"]);
    assert!(header.stdout.starts_with("Authorization: Bearer ey"));
}

#[test]
fn expired_session_refreshes_once_and_stores_the_rotated_refresh_token() {
    let tenant = Tenant::start();
    let home = TempDir::new("token-refresh");
    let first = login(&tenant, &home, &[]);
    expire_stored_session(&home);
    let out = token(&home, &["-o", "json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let fresh: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_ne!(fresh["access_token"], first["access_token"]);
    assert_ne!(
        fresh["refresh_token"], first["refresh_token"],
        "rotation stored"
    );
    assert_eq!(refresh_calls(&tenant), 1);
    // The next call is a cache hit with the new token.
    let again = token(&home, &[]);
    assert_eq!(again.stdout.trim(), fresh["access_token"].as_str().unwrap());
    assert_eq!(refresh_calls(&tenant), 1);
    // And the rotated refresh token really works: a forced refresh succeeds.
    let forced = token(&home, &["--force-refresh"]);
    assert_eq!(forced.code, Some(0), "{}", forced.stderr);
    assert_eq!(refresh_calls(&tenant), 2);
}

#[test]
fn thirty_concurrent_token_calls_refresh_exactly_once() {
    let tenant = Tenant::start();
    let home = TempDir::new("token-concurrent");
    login(&tenant, &home, &[]);
    expire_stored_session(&home);
    tenant.clear_requests();
    let runs: Vec<Running> = (0..30)
        .map(|_| {
            let mut cmd = authcli(home.path());
            cmd.arg("token");
            Running::spawn(cmd)
        })
        .collect();
    let outs: Vec<_> = runs.into_iter().map(Running::finish).collect();
    for out in &outs {
        assert_eq!(out.code, Some(0), "{}", out.stderr);
    }
    let first = &outs[0].stdout;
    assert!(
        outs.iter().all(|o| &o.stdout == first),
        "every process prints the same token"
    );
    assert_eq!(refresh_calls(&tenant), 1, "{:#?}", tenant.requests());
}

#[test]
fn rejected_refresh_exits_3_and_says_to_log_in_again() {
    let tenant = Tenant::start();
    let home = TempDir::new("refresh-rejected");
    login(&tenant, &home, &[]);
    tenant.fault(
        json!({"endpoint": "token", "fault": "oauth_error", "status": 403,
        "error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}),
    );
    let mut cmd = authcli(home.path());
    cmd.arg("refresh");
    let out = run(cmd);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    // The hint is a login that recreates this session: no --profile for the default one.
    let hint = format!("--client-id authcli-test --audience {AUDIENCE}");
    assert!(
        out.stderr.contains("authcli login --issuer"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&hint), "{}", out.stderr);
    assert!(!out.stderr.contains("--profile"), "{}", out.stderr);
    assert!(out.stdout.is_empty());

    // A named profile's session: the hint names the profile.
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[profiles.work]\nissuer = \"{}\"\nclient_id = \"authcli-test\"\n",
            tenant.issuer
        ),
    )
    .unwrap();
    login(&tenant, &home, &["--profile", "work"]);
    tenant.fault(
        json!({"endpoint": "token", "fault": "oauth_error", "status": 403,
        "error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}),
    );
    let mut cmd = authcli(home.path());
    cmd.args(["refresh", "--profile", "work"]);
    let out = run(cmd);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("{hint} --profile work")),
        "{}",
        out.stderr
    );
}

#[test]
fn no_session_and_no_terminal_exits_4_naming_the_login_command() {
    let home = TempDir::new("token-none");
    let out = token(&home, &[]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(out.stderr.contains("authcli login"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn corrupt_session_file_is_reported_and_treated_as_absent() {
    let tenant = Tenant::start();
    let home = TempDir::new("token-corrupt");
    login(&tenant, &home, &[]);
    let file = &session_files(home.path())[0];
    std::fs::write(file, b"{\"version\": 1, \"key\": tru").unwrap();
    let out = token(&home, &[]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    // The warning names the file that was ignored, and the run goes on as if it were absent.
    let warning = out
        .stderr
        .lines()
        .find(|l| l.contains("warning"))
        .unwrap_or_else(|| panic!("no warning:\n{}", out.stderr));
    assert!(
        warning.contains(&file.display().to_string()),
        "the warning does not name the file: {warning}"
    );
    assert!(out.stderr.contains("authcli login"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[cfg(unix)]
#[test]
fn world_readable_session_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let tenant = Tenant::start();
    let home = TempDir::new("token-mode");
    login(&tenant, &home, &[]);
    let file = &session_files(home.path())[0];
    assert_eq!(
        std::fs::metadata(file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = token(&home, &[]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    // Refused for its mode, by name, and its token is not printed.
    let warning = out
        .stderr
        .lines()
        .find(|l| l.contains("warning"))
        .unwrap_or_else(|| panic!("no warning:\n{}", out.stderr));
    assert!(
        warning.contains(&file.display().to_string()) && warning.contains("644"),
        "{warning}"
    );
    assert!(out.stderr.contains("other users"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn storage_none_writes_nothing() {
    let tenant = Tenant::start();
    let home = TempDir::new("storage-none");
    let tokens = login(&tenant, &home, &["--storage", "none"]);
    assert!(
        tokens["access_token"].is_string(),
        "the login itself worked"
    );
    assert!(!home.path().join("sessions").exists());
    login(&tenant, &home, &["--no-store"]);
    assert!(session_files(home.path()).is_empty());
    // Nothing anywhere under AUTHCLI_HOME holds the token, and nothing is found later.
    let mut stack = vec![home.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                assert!(
                    !text.contains(tokens["access_token"].as_str().unwrap()),
                    "token written to {}",
                    path.display()
                );
            }
        }
    }
    assert_eq!(token(&home, &[]).code, Some(4));
}

#[test]
fn logout_revoke_revokes_the_refresh_token_at_the_provider() {
    let tenant = Tenant::start();
    let home = TempDir::new("logout");
    login(&tenant, &home, &[]);
    let file = session_files(home.path())[0].clone();
    let saved = std::fs::read(&file).unwrap();
    let mut cmd = authcli(home.path());
    cmd.args(["logout", "--revoke"]);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(session_files(home.path()).is_empty(), "session deleted");
    let revokes = tenant.requests_to("/oauth/revoke");
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0]["status"], 200);
    assert_eq!(revokes[0]["params"]["token"], "***");
    // The provider now refuses that refresh token.
    std::fs::write(&file, &saved).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut cmd = authcli(home.path());
    cmd.arg("refresh");
    let out = run(cmd);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
}

#[test]
fn status_lists_sessions_without_any_token() {
    let tenant = Tenant::start();
    let home = TempDir::new("status");
    let tokens = login(&tenant, &home, &[]);
    let mut cmd = authcli(home.path());
    cmd.arg("status");
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rows: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["issuer"], tenant.issuer.as_str());
    assert_eq!(rows[0]["client_id"], "authcli-test");
    assert_eq!(rows[0]["audience"], AUDIENCE);
    assert_eq!(rows[0]["subject"], "auth0|alice");
    assert_eq!(rows[0]["expired"], false);
    for secret in ["access_token", "refresh_token", "id_token"] {
        let value = tokens[secret].as_str().unwrap();
        assert!(!out.stdout.contains(value), "{secret} in status output");
        assert!(!out.stdout.contains(value.rsplit('.').next().unwrap()));
    }
    let mut cmd = authcli(home.path());
    cmd.args(["status", "-o", "table"]);
    let table = run(cmd);
    assert_eq!(table.code, Some(0), "{}", table.stderr);
    // A header, one row, and the footnote that explains the `*` of the current session.
    let lines: Vec<&str> = table
        .stdout
        .lines()
        .filter(|l| !l.starts_with("(*"))
        .collect();
    assert_eq!(lines.len(), 2, "a header and one row:\n{}", table.stdout);
    for column in ["ISSUER", "CLIENT", "SUBJECT"] {
        assert!(
            lines[0].to_uppercase().contains(column),
            "header lacks {column}: {}",
            lines[0]
        );
    }
    assert!(
        lines[1].contains("authcli-test") && lines[1].contains("auth0|alice"),
        "{}",
        lines[1]
    );
    for secret in ["access_token", "refresh_token", "id_token"] {
        let value = tokens[secret].as_str().unwrap();
        for part in value.split('.') {
            assert!(
                !table.stdout.contains(part) && !table.stderr.contains(part),
                "part of the {secret} in the table"
            );
        }
    }
}

#[test]
fn userinfo_returns_the_profile_of_the_session_user() {
    let tenant = Tenant::start();
    let home = TempDir::new("userinfo");
    login(&tenant, &home, &[]);
    let mut cmd = authcli(home.path());
    cmd.arg("userinfo");
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let info: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(info["sub"], "auth0|alice");
    assert_eq!(info["email"], "alice@example.test");
}

#[cfg(unix)]
#[test]
fn exec_passes_the_token_in_the_environment_and_returns_the_child_exit_code() {
    let tenant = Tenant::start();
    let home = TempDir::new("exec");
    let tokens = login(&tenant, &home, &[]);
    let mut cmd = authcli(home.path());
    cmd.args([
        "exec",
        "--",
        "sh",
        "-c",
        "printf %s \"$AUTHCLI_ACCESS_TOKEN\"; exit 7",
    ]);
    let out = run(cmd);
    assert_eq!(out.code, Some(7), "{}", out.stderr);
    assert_eq!(out.stdout, tokens["access_token"].as_str().unwrap());
}

#[test]
fn a_refused_refresh_adopts_tokens_another_process_stored_meanwhile() {
    use authcli::store::{LoadOutcome, Storage};
    let tenant = Tenant::start();
    let home = TempDir::new("adopt");
    login(&tenant, &home, &[]);
    let file = session_files(home.path())[0].clone();
    let store = authcli::store::FileStore::new(home.path().join("sessions"));
    let key = store.current("default").expect("current session recorded");
    let LoadOutcome::Found(old) = store.load(&key).unwrap() else {
        panic!("no session")
    };
    // Another process rotates the refresh token and stores the result.
    let out = token(&home, &["--force-refresh"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rotated = std::fs::read_to_string(&file).unwrap();
    // This process still holds the old session: its refresh is refused (reuse), so it adopts.
    let storage = Storage::File(store);
    let provider =
        authcli::session::provider_for(&old, &Default::default(), &Default::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let renewed = rt
        .block_on(authcli::session::renew(&storage, &old, &provider))
        .unwrap();
    let authcli::session::Renewed::Adopted(adopted) = renewed else {
        panic!("expected adoption")
    };
    assert!(rotated.contains(adopted.access_token.expose()));
    assert_ne!(adopted.refresh_token, old.refresh_token);
}

#[test]
fn logout_all_deletes_every_session() {
    let tenant = Tenant::start();
    let home = TempDir::new("logout-all");
    login(&tenant, &home, &[]);
    login(&tenant, &home, &["--scope", "openid offline_access"]);
    assert_eq!(session_files(home.path()).len(), 2);
    let mut cmd = authcli(home.path());
    cmd.args(["logout", "--all"]);
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("2 session(s)"), "{}", out.stderr);
    assert!(session_files(home.path()).is_empty());
    assert_eq!(token(&home, &[]).code, Some(4));
}

#[test]
fn userinfo_refreshes_once_when_the_access_token_is_refused() {
    let tenant = Tenant::start();
    let home = TempDir::new("userinfo-retry");
    login(&tenant, &home, &[]);
    tenant.fault(
        json!({"endpoint": "userinfo", "fault": "oauth_error", "status": 401,
        "error": "invalid_token", "error_description": "The access token was revoked"}),
    );
    let mut cmd = authcli(home.path());
    cmd.arg("userinfo");
    let out = run(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("auth0|alice"));
    assert_eq!(refresh_calls(&tenant), 1);
    assert_eq!(tenant.requests_to("/userinfo").len(), 2);
}

#[test]
fn a_rejected_refresh_token_is_never_sent_again_and_token_exits_4() {
    let tenant = Tenant::start();
    let home = TempDir::new("refresh-dead");
    login(&tenant, &home, &[]);
    tenant.fault(
        json!({"endpoint": "token", "fault": "oauth_error", "status": 403,
        "error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}),
    );
    let refreshes = refresh_calls;
    let before = refreshes(&tenant);
    let first = token(&home, &["--force-refresh"]);
    assert_eq!(first.code, Some(4), "{}", first.stderr);
    assert!(
        first.stderr.contains("authcli login --issuer"),
        "the hint names a login that works: {}",
        first.stderr
    );
    assert_eq!(refreshes(&tenant), before + 1);
    let second = token(&home, &["--force-refresh"]);
    assert_eq!(second.code, Some(4), "{}", second.stderr);
    assert_eq!(
        refreshes(&tenant),
        before + 1,
        "the dead refresh token was not sent again"
    );
}
