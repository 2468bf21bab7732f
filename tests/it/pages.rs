//! The mock tenant's `--interactive` pages, driven through WebDriver in headless Chromium:
//! sign in as a chosen user, deny consent, activate a device code — with the keyboard where a
//! person would use it.
//!
//! Needs Debian's `chromium` and `chromium-driver` (installed by `.ci/run`); without them the
//! tests fail, unless AUTHCLI_ALLOW_SKIP=1 asks to skip them (visibly: see tools.rs).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::support::{start_login, Running, TempDir, Tenant, AUDIENCE};

/// A chromedriver on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    url: String,
    _profile: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Killing chromedriver alone leaves the Chromium it started running (a test that failed
        // before closing its session would leak a browser). On Unix chromedriver leads its own
        // process group, which its Chromium joins: the whole group goes.
        #[cfg(unix)]
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on a process group we created; no memory is involved.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A chromedriver that picked its own port (`--port=0`, announced on stdout), so no other
/// process can take the port between our choosing it and chromedriver binding it.
fn driver(test: &str) -> Option<Driver> {
    let (Some(chromedriver), Some(_)) = (crate::tools::chromedriver(), crate::tools::chromium())
    else {
        crate::tools::missing(test, "chromium and chromedriver (Debian: chromium-driver)");
        return None;
    };
    let mut command = Command::new(chromedriver);
    command
        .arg("--port=0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().expect("start chromedriver");
    let stdout = child.stdout.take().expect("chromedriver stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let port = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("chromedriver announced no port:\n{}", seen.join("\n")));
        if let Some(port) = line
            .split("started successfully on port ")
            .nth(1)
            .and_then(|rest| rest.trim_end_matches('.').trim().parse::<u16>().ok())
        {
            break port;
        }
        seen.push(line);
    };
    Some(Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: TempDir::new("chromedriver-profile"),
    })
}

async fn browser(driver: &Driver) -> Client {
    let chromium = crate::tools::chromium().expect("chromium");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     format!("--user-data-dir={}", driver._profile.path().display())],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("WebDriver session")
}

async fn heading(client: &Client) -> String {
    match client.find(Locator::Css("h1")).await {
        Ok(h1) => h1.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits (bounded) for a page whose `<h1>` is `expected`.
async fn wait_for_heading(client: &Client, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while heading(client).await != expected {
        if Instant::now() > deadline {
            let url = client
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let source = client.source().await.unwrap_or_default();
            panic!("no page titled {expected:?}; at {url}:\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn login(tenant: &Tenant, home: &TempDir) -> Running {
    start_login(tenant, home, &[])
}

#[tokio::test]
async fn sign_in_page_logs_in_the_chosen_user_with_the_keyboard() {
    let Some(driver) = driver("pages::sign_in_page_logs_in_the_chosen_user_with_the_keyboard")
    else {
        return;
    };
    let tenant = Tenant::start_with(&["--interactive"]);
    let home = TempDir::new("pages-signin");
    let mut run = login(&tenant, &home);
    let start = run.start_url();
    let client = browser(&driver).await;
    client.goto(&start).await.unwrap();
    wait_for_heading(&client, "Sign in").await;
    // Every choice has a label a screen reader can announce.
    let bob = client
        .find(Locator::Css("input[name=user][value='auth0|bob']"))
        .await
        .unwrap();
    let label = client
        .find(Locator::XPath("//label[input[@value='auth0|bob']]"))
        .await
        .unwrap();
    assert!(label.text().await.unwrap().contains("bob@"));
    bob.click().await.unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Authorize authcli-test").await;
    assert!(
        heading(&client).await.starts_with("Authorize"),
        "consent page"
    );
    let body = client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains(AUDIENCE), "consent lists the API: {body}");
    // Allow with the keyboard: focus the button, press Enter.
    let allow = client
        .find(Locator::Css("button[value=allow]"))
        .await
        .unwrap();
    allow.send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_for_heading(&client, "You are signed in").await;
    client.close().await.unwrap();
    let out = tokio::task::spawn_blocking(move || run.finish())
        .await
        .unwrap();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let tokens: Value = serde_json::from_str(&out.stdout).unwrap();
    let (_, claims) =
        authcli::jwt::decode_unverified("id_token", tokens["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["sub"], "auth0|bob");
}

#[tokio::test]
async fn denying_consent_ends_the_login_with_access_denied() {
    let Some(driver) = driver("pages::denying_consent_ends_the_login_with_access_denied") else {
        return;
    };
    let tenant = Tenant::start_with(&["--interactive"]);
    let home = TempDir::new("pages-deny");
    let mut run = login(&tenant, &home);
    let start = run.start_url();
    let client = browser(&driver).await;
    client.goto(&start).await.unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Authorize authcli-test").await;
    client
        .find(Locator::Css("button[value=deny]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Sign-in failed").await;
    let body = client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("access_denied"), "{body}");
    client.close().await.unwrap();
    let out = tokio::task::spawn_blocking(move || run.finish())
        .await
        .unwrap();
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("access_denied"));
}

#[tokio::test]
async fn device_activation_page_approves_the_typed_code() {
    let Some(driver) = driver("pages::device_activation_page_approves_the_typed_code") else {
        return;
    };
    let tenant = Tenant::start_with(&["--interactive"]);
    let http = reqwest::Client::new();
    let device: Value = http
        .post(format!("{}/oauth/device/code", tenant.base()))
        .form(&[
            ("client_id", "authcli-test"),
            ("scope", "openid offline_access"),
            ("audience", AUDIENCE),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_code = device["user_code"].as_str().unwrap().to_string();
    let device_code = device["device_code"].as_str().unwrap().to_string();
    let poll = || {
        http.post(format!("{}/oauth/token", tenant.base()))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code.as_str()),
                ("client_id", "authcli-test"),
            ])
            .send()
    };
    let pending: Value = poll().await.unwrap().json().await.unwrap();
    assert_eq!(pending["error"], "authorization_pending");

    let client = browser(&driver).await;
    client
        .goto(device["verification_uri"].as_str().unwrap())
        .await
        .unwrap();
    wait_for_heading(&client, "Activate a device").await;
    let input = client.find(Locator::Id("user_code")).await.unwrap();
    let label = client
        .find(Locator::Css("label[for=user_code]"))
        .await
        .unwrap();
    assert!(!label.text().await.unwrap().is_empty());
    input
        .send_keys(&format!("{user_code}{}", Key::Enter))
        .await
        .unwrap();
    wait_for_heading(&client, "Confirm the device").await;
    let shown = client
        .find(Locator::Css("code"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(shown, user_code);
    client
        .find(Locator::Css("button[value=allow]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_heading(&client, "Device approved").await;
    client.close().await.unwrap();

    // The device interval passes on the mock's clock, not ours.
    let advanced = http
        .post(format!("{}/__mock/clock", tenant.base()))
        .bearer_auth(&tenant.control_token)
        .json(&json!({"advance_secs": 5}))
        .send()
        .await
        .unwrap();
    assert!(advanced.status().is_success(), "{}", advanced.status());
    let tokens: Value = poll().await.unwrap().json().await.unwrap();
    assert!(tokens["access_token"].is_string(), "{tokens}");
}
