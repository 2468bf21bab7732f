//! `authcli doctor`: diagnose a provider set-up before a login fails (SPEC §2).
//!
//! It takes the options of `login` and runs every check it can, each with a status (ok, warn,
//! fail), what it found, and for a warn or fail one line saying how to fix it. Network checks
//! are bounded by `--timeout` each and the whole run by [`OVERALL_BUDGET`]; a check that
//! depends on a failed one is left out rather than repeated. Exit 0 when nothing failed, 1
//! otherwise. It never prints a token: the authorization request it sends to test the client
//! and redirect URI is answered, at most, with a code that is dropped unseen.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};
use url::Url;

use super::error::Error;
use crate::cli::{DoctorArgs, LoginArgs, ReportFormat};
use crate::config::{self, LoginConfig, Opener, RedirectHost};
use crate::discovery::{self, Endpoints};
use crate::exit::ExitCode;
use crate::http::{HttpClient, HttpError, RawResponse};
use crate::output;
use crate::secret::{Nonce, PkceVerifier, State};

/// The whole run stays under this, whatever `--timeout` says.
pub const OVERALL_BUDGET: Duration = Duration::from_secs(30);

/// Clock skew beyond this is worth a warning (tokens are checked with a 60 s leeway).
const SKEW_WARN_SECS: u64 = 60;

/// The outcome of `doctor`.
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error("{failed} of {total} checks failed (see the fixes above)")]
    Failed { failed: usize, total: usize },
}

impl DoctorError {
    /// Exit code: 1 when any check failed.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Other
    }
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub status: Status,
    pub found: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn ok(&mut self, check: &'static str, found: impl Into<String>) {
        self.push(check, Status::Ok, found.into(), None);
    }
    fn warn(&mut self, check: &'static str, found: impl Into<String>, fix: impl Into<String>) {
        self.push(check, Status::Warn, found.into(), Some(fix.into()));
    }
    fn fail(&mut self, check: &'static str, found: impl Into<String>, fix: impl Into<String>) {
        self.push(check, Status::Fail, found.into(), Some(fix.into()));
    }
    fn push(&mut self, check: &'static str, status: Status, found: String, fix: Option<String>) {
        let check = Check {
            check,
            status,
            found: output::sanitize(&found),
            fix: fix.map(|f| output::sanitize(&f)),
        };
        // On a terminal each line shows as it is known; the report follows on stdout.
        output::step(&format!(
            "{:?} {}: {}",
            check.status, check.check, check.found
        ));
        self.checks.push(check);
    }
}

/// Where a value came from: flag, environment or profile (SPEC §3 precedence).
fn source(value: Option<&str>, env: &str, in_profile: bool, profile: &str) -> Option<String> {
    match value {
        Some(v) if std::env::var(env).ok().as_deref() == Some(v) => Some(format!("env {env}")),
        Some(_) => Some("flag".into()),
        None if in_profile => Some(format!("profile `{profile}`")),
        None => None,
    }
}

fn login_args(args: &DoctorArgs) -> LoginArgs {
    LoginArgs {
        provider: args.provider.clone(),
        browser: args.browser.clone(),
        storage: args.storage,
        no_store: true,
        ..LoginArgs::default()
    }
}

/// `authcli doctor`.
pub fn run(args: &DoctorArgs) -> Result<u8, Error> {
    let started = Instant::now();
    let mut report = Report::default();
    let cfg = check_config(args, &mut report);
    if let Some(cfg) = &cfg {
        check_ports(cfg, &mut report);
        check_browser(cfg, &mut report);
        check_proxy(cfg, &mut report);
        check_cacert(cfg, &mut report);
        let budget = OVERALL_BUDGET.saturating_sub(started.elapsed());
        let rt = super::runtime()?;
        let network = rt.block_on(async {
            let mut net = Report::default();
            let ran = tokio::time::timeout(budget, network_checks(cfg, &mut net)).await;
            if ran.is_err() {
                net.fail(
                    "time",
                    format!(
                        "the checks did not finish within {} s",
                        OVERALL_BUDGET.as_secs()
                    ),
                    "the provider is very slow or hangs: check its status, your network and proxy",
                );
            }
            net
        });
        report.checks.extend(network.checks);
    }
    check_storage(args, &mut report);
    print_report(args.output, &report)?;
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    if failed > 0 {
        return Err(DoctorError::Failed {
            failed,
            total: report.checks.len(),
        }
        .into());
    }
    output::info("No problems found.");
    Ok(0)
}

fn check_config(args: &DoctorArgs, report: &mut Report) -> Option<LoginConfig> {
    let p = &args.provider;
    let profile_name = p.profile.as_deref().unwrap_or("default");
    let profile = match config::load_profile(profile_name, p.profile.is_some()) {
        Ok(profile) => profile,
        Err(e) => {
            report.fail(
                "config",
                e.to_string(),
                "fix the config file or pick another --profile",
            );
            return None;
        }
    };
    let cfg = match LoginConfig::resolve_with(&login_args(args), &profile) {
        Ok(cfg) => cfg,
        Err(e) => {
            report.fail(
                "config",
                e.to_string(),
                "give the missing or invalid value as a flag, an AUTHCLI_* variable or in the profile",
            );
            return None;
        }
    };
    let mut found = Vec::new();
    let mut describe = |name: &str, shown: Option<String>, src: Option<String>| {
        if let (Some(v), Some(s)) = (shown, src) {
            found.push(format!("{name} {v} ({s})"));
        }
    };
    describe(
        "issuer",
        Some(cfg.provider.issuer.to_string()),
        source(
            p.issuer.as_deref(),
            "AUTHCLI_ISSUER",
            profile.issuer.is_some(),
            profile_name,
        ),
    );
    describe(
        "client",
        Some(cfg.provider.client_id.clone()),
        source(
            p.client_id.as_deref(),
            "AUTHCLI_CLIENT_ID",
            profile.client_id.is_some(),
            profile_name,
        ),
    );
    describe(
        "audience",
        cfg.provider.audience.clone(),
        source(
            p.audience.as_deref(),
            "AUTHCLI_AUDIENCE",
            profile.audience.is_some(),
            profile_name,
        ),
    );
    found.push(format!("scope `{}`", cfg.provider.scope_string()));
    report.ok("config", found.join(", "));
    Some(cfg)
}

/// The redirect URI a login would use, with a concrete port when one can be bound.
fn redirect_uri(cfg: &LoginConfig, port: u16) -> String {
    format!(
        "http://{}:{port}{}",
        cfg.redirect.host.as_uri_host(),
        cfg.redirect.path
    )
}

fn bindable(ip: IpAddr, port: u16) -> Result<u16, std::io::Error> {
    TcpListener::bind(SocketAddr::new(ip, port)).and_then(|l| l.local_addr().map(|a| a.port()))
}

/// The port `check_ports` found usable (for the authorization request probe).
fn usable_port(cfg: &LoginConfig) -> Option<u16> {
    let addrs = cfg.redirect.host.bind_addrs();
    if cfg.redirect.ports.is_empty() {
        return addrs.first().and_then(|ip| bindable(*ip, 0).ok());
    }
    cfg.redirect
        .ports
        .iter()
        .copied()
        .find(|port| addrs.iter().all(|ip| bindable(*ip, *port).is_ok()))
}

fn check_ports(cfg: &LoginConfig, report: &mut Report) {
    let v4 = IpAddr::from([127, 0, 0, 1]);
    let v6 = IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]);
    let mut stacks = Vec::new();
    for (name, ip) in [("127.0.0.1", v4), ("::1", v6)] {
        match bindable(ip, 0) {
            Ok(_) => stacks.push(format!("{name} ok")),
            Err(e) => stacks.push(format!("{name} unavailable ({e})")),
        }
    }
    let v6_missing = bindable(v6, 0).is_err();
    let needs_v6 = matches!(
        cfg.redirect.host,
        RedirectHost::Ipv6 | RedirectHost::Localhost
    );
    if cfg.redirect.ports.is_empty() {
        if v6_missing && needs_v6 {
            report.fail(
                "ports",
                format!("loopback: {}", stacks.join(", ")),
                "use a redirect URI on 127.0.0.1 (--redirect-uri http://127.0.0.1:0/callback)",
            );
        } else {
            report.ok(
                "ports",
                format!(
                    "loopback: {}; a random port will be used",
                    stacks.join(", ")
                ),
            );
        }
        return;
    }
    let addrs = cfg.redirect.host.bind_addrs();
    let mut busy = Vec::new();
    let mut free = Vec::new();
    for port in &cfg.redirect.ports {
        let problems: Vec<String> = addrs
            .iter()
            .filter_map(|ip| bindable(*ip, *port).err().map(|e| format!("{ip}: {e}")))
            .collect();
        if problems.is_empty() {
            free.push(port.to_string());
        } else {
            busy.push(format!("{port} ({})", problems.join("; ")));
        }
    }
    let listed = cfg
        .redirect
        .ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    if free.is_empty() {
        report.fail(
            "ports",
            format!("every fixed --port is busy: {}", busy.join(", ")),
            format!("stop what listens on {listed} (e.g. `lsof -i :PORT`), or register another callback port with the application and pass it with --port"),
        );
    } else if !busy.is_empty() {
        report.warn(
            "ports",
            format!(
                "busy: {}; free: {} (the first free one will be used)",
                busy.join(", "),
                free.join(", ")
            ),
            "nothing to do unless every port is taken at login time",
        );
    } else {
        report.ok(
            "ports",
            format!(
                "fixed port(s) {} free; loopback: {}",
                listed,
                stacks.join(", ")
            ),
        );
    }
}

fn on_path(program: &str) -> bool {
    let path = std::path::Path::new(program);
    if path.components().count() > 1 {
        return path.is_file();
    }
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let candidate = dir.join(program);
            candidate.is_file() || (cfg!(windows) && dir.join(format!("{program}.exe")).is_file())
        })
    })
}

fn check_browser(cfg: &LoginConfig, report: &mut Report) {
    match &cfg.opener {
        Opener::Nothing => report.ok(
            "browser",
            "--no-browser: the URL is printed for you to open",
        ),
        Opener::InProcess => report.ok("browser", "in-process"),
        Opener::Command(argv) => {
            let program = argv.first().map(String::as_str).unwrap_or_default();
            if on_path(program) {
                report.ok("browser", format!("browser command `{program}` found"));
            } else {
                report.fail(
                    "browser",
                    format!("browser command `{program}` not found on PATH"),
                    "fix --browser-command / AUTHCLI_BROWSER_COMMAND / BROWSER, or use --no-browser",
                );
            }
        }
        Opener::System => {
            if crate::browser::display_available() {
                report.ok("browser", "the system browser (a display is available)");
            } else {
                report.warn(
                    "browser",
                    "no display (DISPLAY/WAYLAND_DISPLAY unset) and no BROWSER or --browser-command",
                    "use --no-browser and open the printed URL elsewhere (over SSH, forward the port), or set --browser-command",
                );
            }
        }
    }
}

/// A proxy URL with any credentials hidden.
fn safe_proxy(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if !url.username().is_empty() || url.password().is_some() {
                let _ = url.set_username("***");
                let _ = url.set_password(None);
            }
            url.to_string()
        }
        Err(_) => "(unparseable)".into(),
    }
}

fn env_any(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

fn no_proxy_covers(no_proxy: &str, host: &str) -> bool {
    no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.trim_start_matches('.');
        entry == "*"
            || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
    })
}

fn check_proxy(cfg: &LoginConfig, report: &mut Report) {
    let https = env_any(&["HTTPS_PROXY", "https_proxy"]);
    let http = env_any(&["HTTP_PROXY", "http_proxy"]);
    let no_proxy = env_any(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
    let issuer = &cfg.provider.issuer;
    let host = issuer.host_str().unwrap_or_default();
    let loopback = issuer.host().is_some_and(|h| config::is_loopback_host(&h));
    let proxy = if issuer.scheme() == "https" {
        https.clone()
    } else {
        http.clone()
    };
    let mut found = Vec::new();
    if let Some(p) = &https {
        found.push(format!("HTTPS_PROXY={}", safe_proxy(p)));
    }
    if let Some(p) = &http {
        found.push(format!("HTTP_PROXY={}", safe_proxy(p)));
    }
    if !no_proxy.is_empty() {
        found.push(format!("NO_PROXY={no_proxy}"));
    }
    let route = match &proxy {
        _ if loopback => "the issuer is on loopback: reached directly".to_string(),
        Some(_) if no_proxy_covers(&no_proxy, host) => {
            "NO_PROXY exempts the issuer: reached directly".to_string()
        }
        Some(p) => format!("the issuer is reached through {}", safe_proxy(p)),
        None => "no proxy: the issuer is reached directly".to_string(),
    };
    found.push(route);
    report.ok("proxy", found.join("; "));
}

fn check_cacert(cfg: &LoginConfig, report: &mut Report) {
    let Some(path) = &cfg.provider.cacert else {
        report.ok("cacert", "none given: the system trust store is used");
        return;
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let n = text.matches("-----BEGIN CERTIFICATE-----").count();
            if n == 0 {
                report.fail(
                    "cacert",
                    format!("{} holds no PEM certificate", path.display()),
                    "point --cacert at a PEM file with -----BEGIN CERTIFICATE----- blocks",
                );
            } else {
                report.ok(
                    "cacert",
                    format!(
                        "{}: {n} certificate(s), plus the system trust store",
                        path.display()
                    ),
                );
            }
        }
        Err(e) => report.fail(
            "cacert",
            format!("{} is not readable: {e}", path.display()),
            "fix the --cacert path or its permissions",
        ),
    }
}

fn check_storage(args: &DoctorArgs, report: &mut Report) {
    use crate::store::StorageKind;
    let kind = args.storage.unwrap_or_default();
    if kind == StorageKind::None {
        report.ok("storage", "--storage none: nothing is stored");
        return;
    }
    match crate::store::FileStore::default_dir() {
        Ok(dir) => match std::fs::metadata(&dir) {
            Ok(meta) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = meta.permissions().mode() & 0o777;
                    if mode & 0o077 != 0 {
                        report.fail(
                            "storage",
                            format!(
                                "{} has mode {mode:o}: others can list your sessions",
                                dir.display()
                            ),
                            format!("chmod 700 {}", dir.display()),
                        );
                    } else {
                        report.ok("storage", format!("{} (mode {mode:o})", dir.display()));
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = meta;
                    report.ok("storage", dir.display().to_string());
                }
            }
            Err(_) => report.ok(
                "storage",
                format!(
                    "{} (created with mode 700 at the first login)",
                    dir.display()
                ),
            ),
        },
        Err(e) => report.fail("storage", e.to_string(), "set AUTHCLI_HOME"),
    }
    if kind == StorageKind::Keyring {
        check_keyring(report);
    }
}

fn check_keyring(report: &mut Report) {
    use crate::store::{KeyringBackend, OsKeyring};
    const KEYRING_TIMEOUT: Duration = Duration::from_secs(2);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(OsKeyring.get("authcli-doctor-probe"));
    });
    match rx.recv_timeout(KEYRING_TIMEOUT) {
        Ok(Ok(_)) => report.ok("keyring", "the OS keychain answers"),
        Ok(Err(e)) => report.warn(
            "keyring",
            format!("the OS keychain is not usable: {e}"),
            "sessions will fall back to files; unlock or install a keychain (Secret Service on Linux), or use --storage file",
        ),
        Err(_) => report.warn(
            "keyring",
            format!("the OS keychain did not answer within {} s", KEYRING_TIMEOUT.as_secs()),
            "sessions will fall back to files; unlock the keychain, or use --storage file",
        ),
    }
}

/// Parses an HTTP `Date` (IMF-fixdate, RFC 9110 §5.6.7) into Unix seconds.
pub fn parse_http_date(text: &str) -> Option<u64> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time.split(':').filter_map(|p| p.parse().ok()).collect();
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400)
        .ok()
        .map(|d| d + h * 3600 + m * 60 + s)
}

fn first_line(e: &impl std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

async fn network_checks(cfg: &LoginConfig, report: &mut Report) {
    let provider = &cfg.provider;
    let http = match HttpClient::for_provider(provider) {
        Ok(http) => http,
        Err(e) => {
            report.fail("http", first_line(&e), "fix --cacert");
            return;
        }
    };
    let Some((endpoints, metadata)) = check_discovery(cfg, &http, report).await else {
        return;
    };
    check_capabilities(cfg, &endpoints, &metadata, report);
    check_authorize(cfg, &http, &endpoints, report).await;
    check_jwks(&http, &endpoints, report).await;
}

/// Discovery, the issuer match and the clock: the endpoints and the raw metadata.
async fn check_discovery(
    cfg: &LoginConfig,
    http: &HttpClient,
    report: &mut Report,
) -> Option<(Endpoints, Value)> {
    let provider = &cfg.provider;
    let secs = provider.timeout.as_secs();
    let mut found_doc = None;
    for (url, is_oidc) in [
        (discovery::openid_configuration_url(&provider.issuer), true),
        (discovery::rfc8414_url(&provider.issuer), false),
    ] {
        match http.get_raw("discovery document", &url).await {
            Ok(raw) if raw.status == 404 || raw.status == 410 => continue,
            Ok(raw) => {
                found_doc = Some((url, is_oidc, raw));
                break;
            }
            Err(HttpError::Timeout { .. }) => {
                report.fail(
                    "discovery",
                    format!("{url} did not answer within {secs} s"),
                    "check that the issuer is up and reachable (VPN, proxy), or raise --timeout",
                );
                return None;
            }
            Err(e) => {
                report.fail(
                    "discovery",
                    first_line(&e),
                    "check the issuer URL (a typo, http vs https, a missing path such as /realms/NAME), your network and proxy",
                );
                return None;
            }
        }
    }
    let Some((url, is_oidc, raw)) = found_doc else {
        report.warn(
            "discovery",
            format!("no discovery document under {}", provider.issuer),
            "fine for Auth0-style paths; otherwise check the issuer URL or pass the --*-url overrides",
        );
        return Some((discovery::auth0_defaults(&provider.issuer), Value::Null));
    };
    check_clock(&raw, report);
    let doc = match crate::http::parse_json_body("discovery document", &url, raw.status, &raw.body)
    {
        Ok(doc) => doc,
        Err(e) => {
            report.fail(
                "discovery",
                first_line(&e),
                "the issuer URL may point at a web page rather than the authorization server",
            );
            return None;
        }
    };
    let found_issuer = doc
        .get("issuer")
        .and_then(Value::as_str)
        .unwrap_or("(none)");
    let same = Url::parse(found_issuer).ok().as_ref() == Some(&provider.issuer);
    if !same {
        let slash_only =
            found_issuer.trim_end_matches('/') == provider.issuer.as_str().trim_end_matches('/');
        report.fail(
            "issuer",
            format!(
                "{url} names issuer `{found_issuer}`, but the configured issuer is `{}`",
                provider.issuer
            ),
            if slash_only {
                format!("they differ only by the trailing slash: pass --issuer {found_issuer} exactly")
            } else {
                format!("if `{found_issuer}` is the right provider, pass --issuer {found_issuer}; otherwise the document is not this issuer's (mix-up defence)")
            },
        );
        return None;
    }
    report.ok("discovery", format!("{url} reachable"));
    report.ok(
        "issuer",
        format!("`{found_issuer}` matches the configured issuer"),
    );
    match discovery::from_metadata(provider, url, is_oidc, doc.clone()) {
        Ok(mut endpoints) => {
            // Explicit flags win, as in a login.
            let o = &provider.overrides;
            if let Some(u) = &o.authorization {
                endpoints.authorization = u.clone();
            }
            if let Some(u) = &o.jwks {
                endpoints.jwks = Some(u.clone());
            }
            Some((endpoints, doc))
        }
        Err(e) => {
            report.fail(
                "discovery",
                first_line(&e),
                "the provider's metadata is broken: report it, or pass the --*-url overrides",
            );
            None
        }
    }
}

fn check_clock(raw: &RawResponse, report: &mut Report) {
    let Some(date) = raw.header("date").and_then(parse_http_date) else {
        report.ok("clock", "the provider sent no Date header to compare with");
        return;
    };
    let now = output::now_unix();
    let skew = now.abs_diff(date);
    let direction = if now >= date { "ahead of" } else { "behind" };
    if skew > SKEW_WARN_SECS {
        report.warn(
            "clock",
            format!("this machine's clock is {} {direction} the provider's", output::span(skew)),
            "synchronise the clock (NTP, `timedatectl set-ntp true`): tokens may look expired or not yet valid",
        );
    } else {
        report.ok("clock", format!("within {skew} s of the provider's"));
    }
}

fn check_capabilities(cfg: &LoginConfig, endpoints: &Endpoints, doc: &Value, report: &mut Report) {
    let provider = &cfg.provider;
    match &endpoints.code_challenge_methods {
        Some(m) if m.iter().any(|x| x == "S256") => report.ok("pkce", "S256 advertised"),
        Some(m) => report.fail(
            "pkce",
            format!("code_challenge_methods_supported is {m:?}, without S256"),
            "enable PKCE (S256) for the application at the provider",
        ),
        None => report.warn(
            "pkce",
            "code_challenge_methods_supported not advertised",
            "authcli sends S256 anyway; if the login fails with invalid_request, enable PKCE at the provider",
        ),
    }
    let offline = provider.scopes.iter().any(|s| s == "offline_access");
    let grants: Option<Vec<&str>> = doc
        .get("grant_types_supported")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    match &grants {
        None => report.ok(
            "grants",
            "grant_types_supported not advertised (RFC 8414 default: authorization_code)",
        ),
        Some(g) if !g.contains(&"authorization_code") => report.fail(
            "grants",
            format!("grant_types_supported is {g:?}, without authorization_code"),
            "enable the authorization code grant for the application, or use --device",
        ),
        Some(g) if offline && !g.contains(&"refresh_token") => report.warn(
            "grants",
            "offline_access is asked for but refresh_token is not an advertised grant",
            "`authcli token` will need a new login when the access token expires",
        ),
        Some(_) => report.ok("grants", "authorization_code advertised"),
    }
    let auth0_like = provider
        .issuer
        .host_str()
        .is_some_and(|h| h.ends_with(".auth0.com"))
        || endpoints.token.path().ends_with("/oauth/token");
    if auth0_like && provider.audience.is_none() {
        report.warn(
            "audience",
            "no --audience: Auth0 will issue an opaque access token, usable only at /userinfo",
            "pass --audience with your API's identifier to get a JWT your API can verify",
        );
    } else if let Some(aud) = &provider.audience {
        report.ok("audience", format!("audience {aud}"));
    }
    if offline {
        let scopes: Option<Vec<&str>> = doc
            .get("scopes_supported")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect());
        if scopes
            .as_ref()
            .is_some_and(|s| !s.contains(&"offline_access"))
        {
            report.warn(
                "offline_access",
                "offline_access is asked for but not in scopes_supported: no refresh token is likely",
                "drop offline_access, or enable refresh tokens at the provider",
            );
        } else if auth0_like && provider.audience.is_none() {
            report.warn(
                "offline_access",
                "offline_access without an audience: Auth0 issues refresh tokens only for an API that allows offline access",
                "pass --audience and enable \"Allow Offline Access\" on that API",
            );
        }
    }
}

/// A plain-text snippet of an HTML or JSON error page.
fn page_text(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let e = v.get("error").and_then(Value::as_str).unwrap_or_default();
        let d = v
            .get("error_description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !e.is_empty() {
            return format!("{e}: {d}");
        }
    }
    let mut text = String::new();
    let mut in_tag = false;
    let mut skip = false;
    let lower = body.to_ascii_lowercase();
    let mut i = 0;
    let bytes: Vec<char> = body.chars().collect();
    let lower: Vec<char> = lower.chars().collect();
    while i < bytes.len() {
        let c = bytes[i];
        if c == '<' {
            let rest: String = lower[i..lower.len().min(i + 8)].iter().collect();
            if rest.starts_with("<style")
                || rest.starts_with("<script")
                || rest.starts_with("<title")
            {
                skip = true;
            } else if rest.starts_with("</style")
                || rest.starts_with("</scrip")
                || rest.starts_with("</title")
            {
                skip = false;
            }
            in_tag = true;
        } else if c == '>' {
            in_tag = false;
            text.push(' ');
        } else if !in_tag && !skip {
            text.push(c);
        }
        i += 1;
    }
    let text = text
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let words: Vec<&str> = text.split_whitespace().collect();
    words.join(" ").chars().take(300).collect()
}

async fn check_authorize(
    cfg: &LoginConfig,
    http: &HttpClient,
    endpoints: &Endpoints,
    report: &mut Report,
) {
    let provider = &cfg.provider;
    let Some(port) = usable_port(cfg) else {
        return;
    };
    let redirect = redirect_uri(cfg, port);
    let mut url = endpoints.authorization.clone();
    {
        let verifier = PkceVerifier::generate();
        let state = State::generate();
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", &redirect)
            .append_pair("scope", &provider.scope_string())
            .append_pair("state", state.expose())
            .append_pair("code_challenge", &verifier.challenge_s256())
            .append_pair("code_challenge_method", "S256");
        if provider.wants_openid() {
            q.append_pair("nonce", Nonce::generate().expose());
        }
        if let Some(aud) = &provider.audience {
            q.append_pair("audience", aud);
        }
        for (k, v) in &provider.extra_params {
            q.append_pair(k, v);
        }
    }
    let client = &provider.client_id;
    let raw = match http.get_raw("authorization endpoint", &url).await {
        Ok(raw) => raw,
        Err(e) => {
            report.fail(
                "authorize",
                first_line(&e),
                "check that the authorization endpoint is reachable",
            );
            return;
        }
    };
    let endpoint = endpoints.authorization.as_str();
    if (300..400).contains(&raw.status) {
        let location = raw.header("location").unwrap_or_default();
        let target = url.join(location).ok();
        let param = |name: &str| {
            target.as_ref().and_then(|t| {
                t.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            })
        };
        let back_to_us = location.starts_with(&redirect);
        if let Some(error) = param("error") {
            let description = param("error_description").unwrap_or_default();
            let fix = match error.as_str() {
                "access_denied" if description.contains("Service not found") => "the audience is not an API of this tenant: check --audience (Auth0: APIs → Identifier)".to_string(),
                "unauthorized_client" => format!("enable the authorization code grant for client `{client}`"),
                "invalid_scope" => "ask only for scopes the application and API allow (--scope)".to_string(),
                _ => format!("see the provider's description; check client `{client}` and its settings"),
            };
            report.fail(
                "authorize",
                format!("the authorization request for client `{client}` was refused: {error}: {description}"),
                fix,
            );
            return;
        }
        // Never print the location itself: it may carry a code.
        if back_to_us {
            report.ok(
                "authorize",
                format!("client `{client}` and redirect URI {redirect} accepted (the provider signed in at once; the code was dropped)"),
            );
        } else {
            let host = target
                .as_ref()
                .and_then(|t| t.host_str().map(str::to_string))
                .unwrap_or_default();
            report.ok(
                "authorize",
                format!("client `{client}` and redirect URI {redirect} accepted: the provider redirects to its sign-in page at {host}"),
            );
        }
        return;
    }
    let text = page_text(&raw.body);
    if raw.status < 300 {
        // Some providers show errors on a 200 page.
        let lower = text.to_ascii_lowercase();
        if lower.contains("callback url mismatch")
            || lower.contains("unknown client")
            || lower.contains("invalid_client")
            || lower.contains("redirect_uri") && lower.contains("error")
        {
            report_page_error(report, client, &redirect, endpoint, raw.status, &text);
        } else {
            report.ok(
                "authorize",
                format!("client `{client}` and redirect URI {redirect} accepted: the sign-in page is served"),
            );
        }
        return;
    }
    report_page_error(report, client, &redirect, endpoint, raw.status, &text);
}

fn report_page_error(
    report: &mut Report,
    client: &str,
    redirect: &str,
    endpoint: &str,
    status: u16,
    text: &str,
) {
    let lower = text.to_ascii_lowercase();
    let about_redirect = lower.contains("callback") || lower.contains("redirect");
    let about_client = lower.contains("client");
    let fix = if about_redirect
        && !lower.contains("unknown client")
        && !lower.contains("client not found")
    {
        format!("register {redirect} as an allowed callback URL of client `{client}` (or pass --port with a port already registered)")
    } else if about_client {
        format!("client id `{client}` is not known at this issuer: copy it from the application's settings (--client-id)")
    } else {
        format!("check client `{client}` and the redirect URI {redirect} at the provider")
    };
    report.fail(
        "authorize",
        format!("{endpoint} answered HTTP {status} for client `{client}` and redirect URI {redirect}: {text}"),
        fix,
    );
}

async fn check_jwks(http: &HttpClient, endpoints: &Endpoints, report: &mut Report) {
    let Some(url) = &endpoints.jwks else {
        report.warn(
            "jwks",
            "no jwks_uri: id_tokens cannot be verified",
            "pass --jwks-url",
        );
        return;
    };
    match http.get_raw("JWKS", url).await {
        Ok(raw) => match crate::http::parse_json_body("JWKS", url, raw.status, &raw.body)
            .map_err(|e| first_line(&e))
            .and_then(|doc| crate::jwks::parse_set(url.as_str(), &doc).map_err(|e| first_line(&e)))
        {
            Ok(set) if set.keys.is_empty() => report.fail(
                "jwks",
                format!("{url} lists no usable key"),
                "the provider's JWKS is empty or uses unsupported key types",
            ),
            Ok(set) => report.ok(
                "jwks",
                format!(
                    "{url}: {} key(s), cached for {} s",
                    set.keys.len(),
                    crate::jwks::max_age(raw.header("cache-control"))
                ),
            ),
            Err(e) => report.fail(
                "jwks",
                e,
                "check the provider's jwks_uri or pass --jwks-url",
            ),
        },
        Err(e) => report.fail(
            "jwks",
            first_line(&e),
            "check the provider's jwks_uri or pass --jwks-url",
        ),
    }
}

fn print_report(format: Option<ReportFormat>, report: &Report) -> Result<(), Error> {
    let json = match format {
        Some(ReportFormat::Json) => true,
        Some(ReportFormat::Table) => false,
        None => !std::io::stdout().is_terminal(),
    };
    let text = if json {
        let ok = report.checks.iter().all(|c| c.status != Status::Fail);
        format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({"ok": ok, "checks": report.checks}))
                .unwrap_or_default()
        )
    } else {
        let width = report
            .checks
            .iter()
            .map(|c| c.check.len())
            .max()
            .unwrap_or(5);
        let mut text = String::new();
        for c in &report.checks {
            let status = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            text.push_str(&format!("{status}  {:<width$}  {}\n", c.check, c.found));
            if let Some(fix) = &c.fix {
                text.push_str(&format!("      {:<width$}  fix: {fix}\n", ""));
            }
        }
        text
    };
    output::write_stdout(&text).map_err(|source| Error::Output {
        what: "stdout",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn page_text_strips_markup() {
        let t = page_text("<html><head><title>x</title><style>p{}</style></head><body><h1>Error</h1><p>Unknown client: abc</p></body></html>");
        assert_eq!(t, "Error Unknown client: abc");
    }

    #[test]
    fn proxy_credentials_are_hidden() {
        assert_eq!(
            safe_proxy("http://user:pw@proxy:3128"),
            "http://***@proxy:3128/"
        );
        assert!(no_proxy_covers(
            "localhost,.corp.example",
            "idp.corp.example"
        ));
        assert!(!no_proxy_covers("corp.example", "evilcorp.example"));
    }
}
