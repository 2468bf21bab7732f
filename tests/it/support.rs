//! Shared test support: a mock tenant process, an isolated `authcli` command, a scripted
//! "browser", and helpers to read what the mock saw.
//!
//! Every test talks to 127.0.0.1 only and runs the real binaries. The `authcli` command gets a
//! blank environment (its own AUTHCLI_HOME, no BROWSER, no proxies), so the developer's
//! machine cannot leak into a result.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The built `authcli` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_authcli"))
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("authcli-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An `authcli` command with an environment that cannot see the developer's machine.
pub fn authcli(home: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.env_clear()
        .env("AUTHCLI_HOME", home)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .env("XDG_DATA_HOME", home.join("xdg-data"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    #[cfg(windows)]
    for var in [
        "SYSTEMROOT",
        "TEMP",
        "TMP",
        "USERPROFILE",
        "APPDATA",
        "LOCALAPPDATA",
    ] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd
}

/// `authcli mock-tenant` running as its own process; killed on drop.
pub struct Tenant {
    child: Child,
    pub issuer: String,
    pub control_token: String,
    _dir: TempDir,
}

impl Tenant {
    pub fn start() -> Tenant {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Tenant {
        let dir = TempDir::new("mock");
        let ready = dir.path().join("ready.json");
        let mut child = Command::new(bin())
            .arg("mock-tenant")
            .args(["--port", "0", "--ready-file"])
            .arg(&ready)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start authcli mock-tenant");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("mock stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("mock ready line");
        let issuer = line.trim().to_string();
        assert!(
            issuer.starts_with("http://127.0.0.1:"),
            "ready line: {issuer:?}"
        );
        let info: Value =
            serde_json::from_str(&std::fs::read_to_string(&ready).expect("ready file"))
                .expect("ready file is JSON");
        assert_eq!(info["issuer"], issuer.as_str());
        Tenant {
            child,
            control_token: info["control_token"]
                .as_str()
                .expect("control_token")
                .to_string(),
            issuer,
            _dir: dir,
        }
    }

    pub fn base(&self) -> String {
        self.issuer.trim_end_matches('/').to_string()
    }

    fn control(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    /// Adds a fault (SPEC §8 control API).
    pub fn fault(&self, fault: Value) {
        let resp = self
            .control()
            .post(format!("{}/__mock/faults", self.base()))
            .bearer_auth(&self.control_token)
            .json(&fault)
            .send()
            .unwrap();
        assert!(
            resp.status().is_success(),
            "fault not accepted: {}",
            resp.status()
        );
    }

    /// Every request the mock saw, secrets masked.
    pub fn requests(&self) -> Vec<Value> {
        let resp = self
            .control()
            .get(format!("{}/__mock/requests", self.base()))
            .bearer_auth(&self.control_token)
            .send()
            .unwrap();
        assert!(resp.status().is_success());
        resp.json::<Vec<Value>>().unwrap()
    }

    /// Forgets every request seen so far.
    pub fn clear_requests(&self) {
        let resp = self
            .control()
            .delete(format!("{}/__mock/requests", self.base()))
            .bearer_auth(&self.control_token)
            .send()
            .unwrap();
        assert!(resp.status().is_success());
    }

    /// The requests to one path.
    pub fn requests_to(&self, path: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["path"] == path)
            .collect()
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `authcli` whose stderr is read line by line as it comes.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub stderr_so_far: Vec<String>,
    stdout: std::thread::JoinHandle<String>,
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn authcli");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        Running {
            child,
            lines: rx,
            stderr_so_far: Vec::new(),
            stdout,
        }
    }

    /// The process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stderr line containing `needle` and returns it.
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    self.stderr_so_far.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!(
            "no stderr line containing {needle:?}; stderr so far:\n{}",
            self.stderr_so_far.join("\n")
        );
    }

    /// The URL to sign in at that authcli printed: the provider's full authorization URL
    /// (the listener's own start URL is single-use and goes only to the browser command).
    pub fn start_url(&mut self) -> String {
        let line = self.wait_for_line("redirect_uri=");
        line.split_whitespace()
            .find(|w| w.starts_with("http") && w.contains("redirect_uri="))
            .expect("an authorization URL on the line")
            .to_string()
    }

    /// Waits (bounded) for the process to exit.
    pub fn finish(mut self) -> Finished {
        let deadline = Instant::now() + Duration::from_secs(60);
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "authcli did not exit; stderr so far:\n{}",
                    self.stderr_so_far.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = self.stdout.join().unwrap();
        // All of stderr: until the reader thread saw end-of-file (not until a quiet spell).
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => self.stderr_so_far.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "authcli exited but its stderr never closed:\n{}",
                    self.stderr_so_far.join("\n")
                ),
            }
        }
        Finished {
            code,
            stdout,
            stderr: self.stderr_so_far.join("\n"),
        }
    }
}

/// One hop of the scripted browser.
#[derive(Debug)]
pub struct Hop {
    pub url: String,
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// A browser stand-in that follows redirects one hop at a time, so tests can see (and
/// rewrite) the callback URL.
pub fn browse(start: &str, mut rewrite_callback: impl FnMut(&str) -> String) -> Vec<Hop> {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut hops = Vec::new();
    let mut url = start.to_string();
    for _ in 0..10 {
        if url.contains("/callback") {
            url = rewrite_callback(&url);
        }
        let resp = client.get(&url).send().unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        let body = resp.text().unwrap_or_default();
        let next = location.clone();
        hops.push(Hop {
            url: url.clone(),
            status,
            location,
            body,
        });
        match next {
            Some(next) if (300..400).contains(&status) => url = next,
            _ => break,
        }
    }
    hops
}

/// Follows every redirect unchanged; returns the hops.
pub fn browse_plain(start: &str) -> Vec<Hop> {
    browse(start, |u| u.to_string())
}

/// A raw HTTP/1.1 request to the listener (for methods, Host headers and sizes a real client
/// would refuse to send). Returns the status code.
pub fn raw_request(addr: &str, request: &str) -> u16 {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The value of a query parameter in a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Runs a command to completion (bounded) with no stdin.
pub fn run(cmd: Command) -> Finished {
    Running::spawn(cmd).finish()
}

/// The session files under `home` (`sessions/*.json`).
pub fn session_files(home: &Path) -> Vec<PathBuf> {
    let dir = home.join("sessions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Rewrites a session file in place (keeping it private), e.g. to make it expired.
pub fn edit_session(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    let tmp = path.with_extension("edit");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::rename(&tmp, path).unwrap();
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The API audience of the mock tenant's built-in tenant.
pub const AUDIENCE: &str = "https://api.example.test";

/// `authcli login` against `tenant` as the built-in native client, no browser, started.
pub fn start_login(tenant: &Tenant, home: &TempDir, extra: &[&str]) -> Running {
    let mut cmd = authcli(home.path());
    cmd.args([
        "login",
        "--issuer",
        &tenant.issuer,
        "--client-id",
        "authcli-test",
    ])
    .args([
        "--audience",
        AUDIENCE,
        "--no-browser",
        "--login-timeout",
        "60",
    ])
    .args(extra);
    Running::spawn(cmd)
}

/// A `--browser-command` (a Unix shell line, so only Unix tests use it) that only records the URL it is given in `file`.
#[cfg_attr(not(unix), allow(dead_code))]
pub fn recording_browser(file: &Path) -> String {
    format!("sh -c 'printf %s \"$0\" > {}'", file.display())
}

/// Waits (bounded) for the [`recording_browser`] to have written its URL. The opener runs
/// beside the login, so it may finish after authcli has.
#[cfg_attr(not(unix), allow(dead_code))]
pub fn recorded_url(file: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(url) = std::fs::read_to_string(file) {
            if url.starts_with("http://") {
                return url;
            }
        }
        assert!(Instant::now() < deadline, "the browser command never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
}
