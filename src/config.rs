//! Flags + environment + profile file → one validated configuration (SPEC §3, §6).
//!
//! Precedence, highest first: flag > `AUTHCLI_*` variable (both resolved by clap) > profile in
//! `config.toml` > discovery > built-in default. Code after this module never asks "was this
//! flag given?": required values are not `Option`s, URLs are parsed, ports are numbers.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::cli::{AuthMethodName, GrantArgs, GrantName, LoginArgs, OutputFormat, ProviderArgs};
use crate::exit::ExitCode;
use crate::secret::{AuthMethod, ClientAuthSpec, SecretSource};

/// Scopes asked for by a user login when none are configured.
pub const DEFAULT_USER_SCOPES: &str = "openid profile email offline_access";
/// Per-request HTTP timeout when none is configured.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Seconds `login` waits for the callback when none is configured.
pub const DEFAULT_LOGIN_TIMEOUT_SECS: u64 = 300;
/// Authorization parameters authcli sets itself; `--param` may not override them.
const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "audience",
    // Token-request parameters (`--param` also goes on the client credentials token request):
    // a client credential or a grant type never belongs on a command line or in a URL.
    "grant_type",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// What is wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no {what} configured: pass {flag}, set {env}, or add `{key}` to the profile in the config file")]
    Missing {
        what: &'static str,
        flag: &'static str,
        env: &'static str,
        key: &'static str,
    },
    #[error("invalid {flag} `{value}`: {reason}")]
    Invalid {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("could not read the config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {} is not valid:\n{message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("profile `{name}` not found in {}: add a [profiles.{name}] table or pick another --profile", path.display())]
    ProfileNotFound { name: String, path: PathBuf },
    #[error("no platform configuration directory could be determined: set AUTHCLI_HOME")]
    NoHome,
    #[error("refusing --password: a password on the command line is visible to every local user and lands in shell history\n  hint: run on a terminal to be prompted, or pipe it in with --password-stdin")]
    PasswordOnCommandLine,
}

impl ConfigError {
    /// Exit code of SPEC §7: bad values on the command line are usage errors.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            ConfigError::Missing { .. }
            | ConfigError::Invalid { .. }
            | ConfigError::PasswordOnCommandLine => ExitCode::Usage,
            _ => ExitCode::Other,
        }
    }
}

/// A `[profiles.NAME]` table of `config.toml`: the keys of SPEC §3 without dashes.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(alias = "domain")]
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub audience: Option<String>,
    pub scope: Option<ScopeList>,
    #[serde(alias = "param")]
    pub params: Option<BTreeMap<String, String>>,
    /// `ports = [8400, 8401]`, or as the flag is spelled: `port = 8400` / `port = [8400, 8401]`.
    #[serde(alias = "port", default, deserialize_with = "one_or_many_ports")]
    pub ports: Option<Vec<u16>>,
    pub redirect_uri: Option<String>,
    pub browser_command: Option<String>,
    pub no_browser: Option<bool>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub device_authorization_url: Option<String>,
    pub revocation_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub jwks_url: Option<String>,
    pub cacert: Option<PathBuf>,
    pub timeout: Option<u64>,
    pub login_timeout: Option<u64>,
    pub grant: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub auth_method: Option<String>,
    pub client_key: Option<PathBuf>,
    pub client_key_id: Option<String>,
    pub username: Option<String>,
}

fn one_or_many_ports<'de, D>(deserializer: D) -> Result<Option<Vec<u16>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ports {
        One(u16),
        Many(Vec<u16>),
    }
    Ok(match Option::<Ports>::deserialize(deserializer)? {
        Some(Ports::One(port)) => Some(vec![port]),
        Some(Ports::Many(ports)) => Some(ports),
        None => None,
    })
}

/// `scope = "a b"` or `scope = ["a", "b"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ScopeList {
    Spaced(String),
    List(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// authcli's home for config: `$AUTHCLI_HOME`, else the platform config dir.
pub fn config_dir() -> Result<PathBuf, ConfigError> {
    if let Some(home) = std::env::var_os("AUTHCLI_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    directories::ProjectDirs::from("", "", "authcli")
        .map(|dirs| dirs.config_dir().to_path_buf())
        .ok_or(ConfigError::NoHome)
}

/// Loads profile `name` from `config.toml`. A missing file is an empty config, unless a
/// profile other than `default` was asked for by name.
pub fn load_profile(name: &str, explicit: bool) -> Result<Profile, ConfigError> {
    let path = config_dir()?.join("config.toml");
    load_profile_from(&path, name, explicit)
}

fn load_profile_from(path: &Path, name: &str, explicit: bool) -> Result<Profile, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return if explicit && name != "default" {
                Err(ConfigError::ProfileNotFound {
                    name: name.to_string(),
                    path: path.to_path_buf(),
                })
            } else {
                Ok(Profile::default())
            };
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if let Some(warning) = config_file_warning(path, meta.mode(), meta.uid(), me) {
            crate::output::warn(&warning);
        }
    }
    let mut file: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: parse_message(&e),
    })?;
    match file.profiles.remove(name) {
        Some(profile) => Ok(profile),
        None if explicit && name != "default" => Err(ConfigError::ProfileNotFound {
            name: name.to_string(),
            path: path.to_path_buf(),
        }),
        None => Ok(Profile::default()),
    }
}

/// toml's own message, caret diagram included, as it is (an unknown key's message already
/// lists every key that exists, aliases included).
fn parse_message(e: &toml::de::Error) -> String {
    e.to_string().trim_end().to_string()
}

/// The warning for a config file others can change (it sets `browser_command` and
/// `token_url`: whoever can write it can run programs as the user and collect codes).
fn config_file_warning(path: &Path, mode: u32, owner: u32, me: u32) -> Option<String> {
    let shown = path.display();
    if owner != me && owner != 0 {
        return Some(format!(
            "the config file {shown} belongs to user id {owner}, not to you: whoever owns it can set the browser command and token URL; make it yours (or delete it)"
        ));
    }
    if mode & 0o022 != 0 {
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "its group and all users",
            (true, false) => "its group",
            _ => "all users",
        };
        return Some(format!(
            "the config file {shown} can be changed by {who}, who could then set the browser command and token URL: run `chmod go-w {shown}`"
        ));
    }
    None
}

/// Endpoints given explicitly; they win over discovery.
#[derive(Debug, Clone, Default)]
pub struct EndpointOverrides {
    pub authorization: Option<Url>,
    pub token: Option<Url>,
    pub device_authorization: Option<Url>,
    pub revocation: Option<Url>,
    pub userinfo: Option<Url>,
    pub jwks: Option<Url>,
}

/// Everything needed to talk to one provider as one client.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub profile: String,
    /// The issuer, normalised (`https://host/` for a bare host): compared with discovery's.
    pub issuer: Url,
    pub client_id: String,
    pub audience: Option<String>,
    pub scopes: Vec<String>,
    pub extra_params: Vec<(String, String)>,
    pub overrides: EndpointOverrides,
    pub cacert: Option<PathBuf>,
    pub timeout: Duration,
}

impl ProviderConfig {
    /// Merges flags/env with the profile and validates the result.
    pub fn resolve(args: &ProviderArgs, profile: &Profile) -> Result<Self, ConfigError> {
        let profile_name = args.profile.clone().unwrap_or_else(|| "default".into());
        let issuer_raw = pick(&args.issuer, &profile.issuer).ok_or(ConfigError::Missing {
            what: "issuer",
            flag: "--issuer",
            env: "AUTHCLI_ISSUER",
            key: "issuer",
        })?;
        let issuer = parse_issuer(&issuer_raw)?;
        let client_id = pick(&args.client_id, &profile.client_id)
            .filter(|c| !c.trim().is_empty())
            .ok_or(ConfigError::Missing {
                what: "client id",
                flag: "--client-id",
                env: "AUTHCLI_CLIENT_ID",
                key: "client_id",
            })?;
        let audience = pick(&args.audience, &profile.audience).filter(|a| !a.is_empty());

        check_scope_flags(&args.scopes)?;
        let scopes = if !args.scopes.is_empty() {
            split_scopes(args.scopes.iter().map(String::as_str))
        } else {
            match &profile.scope {
                Some(ScopeList::Spaced(s)) => split_scopes([s.as_str()]),
                Some(ScopeList::List(list)) => split_scopes(list.iter().map(String::as_str)),
                None => split_scopes([DEFAULT_USER_SCOPES]),
            }
        };

        let transport = Transport::resolve(args, profile)?;
        Ok(ProviderConfig::assemble(
            profile_name,
            issuer,
            client_id,
            audience,
            scopes,
            transport,
        ))
    }

    /// A stored session's identity (issuer, client, audience, scopes) with this run's
    /// [`Transport`]: how a session is renewed without rebuilding command-line values.
    pub fn for_stored(
        profile: &str,
        issuer: &str,
        client_id: &str,
        audience: Option<&str>,
        scopes: Vec<String>,
        transport: Transport,
    ) -> Result<Self, ConfigError> {
        Ok(ProviderConfig::assemble(
            profile.to_string(),
            parse_issuer(issuer)?,
            client_id.to_string(),
            audience.map(String::from),
            scopes,
            transport,
        ))
    }

    fn assemble(
        profile: String,
        issuer: Url,
        client_id: String,
        audience: Option<String>,
        scopes: Vec<String>,
        transport: Transport,
    ) -> Self {
        ProviderConfig {
            profile,
            issuer,
            client_id,
            audience,
            scopes,
            extra_params: transport.extra_params,
            overrides: transport.overrides,
            cacert: transport.cacert,
            timeout: transport.timeout,
        }
    }

    /// Whether an id_token is expected (and must be verified).
    pub fn wants_openid(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
    }

    /// The scopes as the space-separated string OAuth sends.
    pub fn scope_string(&self) -> String {
        self.scopes.join(" ")
    }
}

/// How to talk to a provider, apart from who the client is: `--param`, endpoint overrides,
/// `--cacert`, `--timeout`. A stored session keeps its identity and takes these from the run.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    pub extra_params: Vec<(String, String)>,
    pub overrides: EndpointOverrides,
    pub cacert: Option<PathBuf>,
    pub timeout: Duration,
}

impl Transport {
    /// Flags and environment over the profile.
    pub fn resolve(args: &ProviderArgs, profile: &Profile) -> Result<Self, ConfigError> {
        let mut extra_params = Vec::new();
        for raw in &args.params {
            extra_params.push(parse_param(raw)?);
        }
        if args.params.is_empty() {
            for (k, v) in profile.params.iter().flatten() {
                extra_params.push(parse_param(&format!("{k}={v}"))?);
            }
        }

        let url = |flag: &'static str, a: &Option<String>, p: &Option<String>| {
            pick(a, p).map(|raw| parse_endpoint(flag, &raw)).transpose()
        };
        let overrides = EndpointOverrides {
            authorization: url(
                "--authorize-url",
                &args.authorize_url,
                &profile.authorize_url,
            )?,
            token: url("--token-url", &args.token_url, &profile.token_url)?,
            device_authorization: url(
                "--device-authorization-url",
                &args.device_authorization_url,
                &profile.device_authorization_url,
            )?,
            revocation: url(
                "--revocation-url",
                &args.revocation_url,
                &profile.revocation_url,
            )?,
            userinfo: url("--userinfo-url", &args.userinfo_url, &profile.userinfo_url)?,
            jwks: url("--jwks-url", &args.jwks_url, &profile.jwks_url)?,
        };

        let timeout = match args.timeout.or(profile.timeout) {
            Some(0) => {
                return Err(ConfigError::Invalid {
                    flag: "--timeout",
                    value: "0".into(),
                    reason: "must be at least 1 second".into(),
                })
            }
            Some(secs) => Duration::from_secs(secs),
            None => DEFAULT_HTTP_TIMEOUT,
        };
        Ok(Transport {
            extra_params,
            overrides,
            cacert: args.cacert.clone().or_else(|| profile.cacert.clone()),
            timeout,
        })
    }
}

fn pick(flag: &Option<String>, profile: &Option<String>) -> Option<String> {
    flag.clone().or_else(|| profile.clone())
}

/// `--scope ''` names no scope at all: refused rather than silently sending none.
pub fn check_scope_flags(scopes: &[String]) -> Result<(), ConfigError> {
    if !scopes.is_empty() && scopes.iter().all(|s| s.trim().is_empty()) {
        return Err(ConfigError::Invalid {
            flag: "--scope",
            value: scopes.join(" "),
            reason: "it names no scope: pass at least one (e.g. --scope openid), or leave --scope out for the default".into(),
        });
    }
    Ok(())
}

/// Splits space-separated scope strings, dropping duplicates but keeping order.
fn split_scopes<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in values.into_iter().flat_map(str::split_whitespace) {
        if !out.iter().any(|s| s == scope) {
            out.push(scope.to_string());
        }
    }
    out
}

fn parse_param(raw: &str) -> Result<(String, String), ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        flag: "--param",
        value: raw.to_string(),
        reason: reason.to_string(),
    };
    let (key, value) = raw
        .split_once('=')
        .ok_or_else(|| invalid("expected KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(invalid("the key is empty"));
    }
    if RESERVED_PARAMS.contains(&key) {
        // Not echoed: the value may be a client secret typed in the wrong place.
        return Err(ConfigError::Invalid {
            flag: "--param",
            value: format!("{key}=…"),
            reason: "authcli sets this parameter itself (use --scope, --audience, --redirect-uri, or --client-secret-file / --client-key for the client's credential)".into(),
        });
    }
    Ok((key.to_string(), value.to_string()))
}

/// Whether `host` is a loopback name or address, where plain `http` is acceptable.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// `tenant.us.auth0.com` → `https://tenant.us.auth0.com/`; `http://` only for loopback.
///
/// ```
/// use authcli::config::parse_issuer;
/// assert_eq!(parse_issuer("tenant.us.auth0.com").unwrap().as_str(), "https://tenant.us.auth0.com/");
/// assert!(parse_issuer("http://127.0.0.1:8080").is_ok());
/// assert!(parse_issuer("http://tenant.us.auth0.com").is_err()); // plain http off loopback
/// ```
pub fn parse_issuer(raw: &str) -> Result<Url, ConfigError> {
    let raw = raw.trim();
    let invalid = |reason: String| ConfigError::Invalid {
        flag: "--issuer",
        value: raw.to_string(),
        reason,
    };
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| invalid(url_problem(raw, &e)))?;
    check_transport(&url).map_err(invalid)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("an issuer has no query or fragment".into()));
    }
    Ok(url)
}

fn parse_endpoint(flag: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        flag,
        value: raw.to_string(),
        reason,
    };
    let url = Url::parse(raw.trim()).map_err(|e| invalid(url_problem(raw.trim(), &e)))?;
    check_transport(&url).map_err(invalid)?;
    Ok(url)
}

/// What is wrong with a URL that does not parse, in words (the parser's own with `-v`).
fn url_problem(raw: &str, e: &url::ParseError) -> String {
    let what = if raw.is_empty() {
        "it is empty"
    } else if raw.chars().any(char::is_whitespace) {
        "a URL cannot contain spaces"
    } else {
        match e {
            url::ParseError::RelativeUrlWithoutBase => {
                "it is not a full URL (start it with https://)"
            }
            url::ParseError::InvalidPort => "the port is not a number from 1 to 65535",
            url::ParseError::EmptyHost => "it names no host",
            _ => "it is not a valid URL or host name",
        }
    };
    format!(
        "{what}; give the provider's domain (tenant.us.auth0.com) or its full https:// URL{}",
        crate::output::cause(&e.to_string())
    )
}

/// https everywhere; plain http only to this machine.
pub(crate) fn check_transport(url: &Url) -> Result<(), String> {
    match (url.scheme(), url.host()) {
        (_, None) => Err("the URL has no host".into()),
        ("https", Some(_)) => Ok(()),
        ("http", Some(host)) if is_loopback_host(&host) => Ok(()),
        ("http", Some(_)) => {
            Err("plain http is accepted only for loopback hosts; use https".into())
        }
        (other, _) => Err(format!("unsupported scheme `{other}`")),
    }
}

/// Which loopback name the redirect URI uses; `localhost` listens on both stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectHost {
    Ipv4,
    Ipv6,
    Localhost,
}

impl RedirectHost {
    /// The host as it appears in the redirect URI and the `Host` header.
    pub fn as_uri_host(self) -> &'static str {
        match self {
            RedirectHost::Ipv4 => "127.0.0.1",
            RedirectHost::Ipv6 => "[::1]",
            RedirectHost::Localhost => "localhost",
        }
    }

    /// The addresses to bind.
    pub fn bind_addrs(self) -> Vec<IpAddr> {
        let v4 = IpAddr::from([127, 0, 0, 1]);
        let v6 = IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]);
        match self {
            RedirectHost::Ipv4 => vec![v4],
            RedirectHost::Ipv6 => vec![v6],
            RedirectHost::Localhost => vec![v4, v6],
        }
    }
}

/// Where the loopback listener listens and what redirect URI it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectSpec {
    pub host: RedirectHost,
    /// Ports to try in turn; empty means one random port.
    pub ports: Vec<u16>,
    /// The callback path, `/callback` by default.
    pub path: String,
}

impl Default for RedirectSpec {
    fn default() -> Self {
        RedirectSpec {
            host: RedirectHost::Ipv4,
            ports: Vec::new(),
            path: "/callback".into(),
        }
    }
}

/// Parses `--redirect-uri`: http on a loopback host, port 0 meaning random.
pub fn parse_redirect_uri(raw: &str) -> Result<RedirectSpec, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        flag: "--redirect-uri",
        value: raw.to_string(),
        reason: reason.to_string(),
    };
    let url = Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if url.scheme() != "http" {
        return Err(invalid(
            "a loopback redirect URI uses http:// (RFC 8252 §7.3)",
        ));
    }
    let host = match url.host() {
        Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST => RedirectHost::Ipv4,
        Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST => RedirectHost::Ipv6,
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            RedirectHost::Localhost
        }
        _ => return Err(invalid("the host must be 127.0.0.1, [::1] or localhost")),
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "the redirect URI may not carry a query or fragment",
        ));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    Ok(RedirectSpec {
        host,
        ports: if port == 0 { Vec::new() } else { vec![port] },
        path: url.path().to_string(),
    })
}

/// How the authorization URL reaches a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opener {
    /// The system browser (`open`).
    System,
    /// A command; the URL is appended as its last argument.
    Command(Vec<String>),
    /// Nothing is opened: the URL is on stderr.
    Nothing,
    /// authcli fetches the URL itself and follows redirects (the demo without a browser).
    InProcess,
}

/// Splits a browser command line into argv, shell-style.
pub fn parse_browser_command(flag: &'static str, raw: &str) -> Result<Opener, ConfigError> {
    let argv = shlex::split(raw)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConfigError::Invalid {
            flag,
            value: raw.to_string(),
            reason: "not a command line (check the quotes)".into(),
        })?;
    Ok(Opener::Command(argv))
}

/// Where the password of the password grant comes from; never the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordInput {
    /// A no-echo prompt on the terminal.
    Prompt,
    /// The first line of stdin (`--password-stdin`).
    Stdin,
}

/// The grant a login uses, with what that grant alone needs (SPEC §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantConfig {
    /// Browser + PKCE over a loopback redirect.
    AuthorizationCode,
    /// RFC 8628: the user signs in on any device with a code.
    Device,
    /// Machine to machine: the client's own credentials, no user.
    ClientCredentials,
    /// Legacy resource owner password grant; Auth0's `password-realm` when `realm` is set.
    Password {
        username: String,
        password: PasswordInput,
        realm: Option<String>,
    },
}

impl GrantConfig {
    /// The grant a stored session was made with, for renewing or re-running it.
    pub fn name(&self) -> GrantName {
        match self {
            GrantConfig::AuthorizationCode => GrantName::AuthorizationCode,
            GrantConfig::Device => GrantName::Device,
            GrantConfig::ClientCredentials => GrantName::ClientCredentials,
            GrantConfig::Password { .. } => GrantName::Password,
        }
    }
}

/// Everything `authcli login` needs.
#[derive(Debug, Clone)]
pub struct LoginConfig {
    pub provider: ProviderConfig,
    pub grant: GrantConfig,
    pub client_auth: ClientAuthSpec,
    pub redirect: RedirectSpec,
    pub opener: Opener,
    pub login_timeout: Duration,
    pub store: bool,
    pub output: OutputFormat,
}

impl LoginConfig {
    /// Resolves `authcli login` options against the environment and the config file.
    pub fn resolve(args: &LoginArgs) -> Result<Self, ConfigError> {
        let profile_name = args.provider.profile.as_deref().unwrap_or("default");
        let profile = load_profile(profile_name, args.provider.profile.is_some())?;
        Self::resolve_with(args, &profile)
    }

    /// Like [`LoginConfig::resolve`] with an already loaded profile (tests, library users).
    pub fn resolve_with(args: &LoginArgs, profile: &Profile) -> Result<Self, ConfigError> {
        let grant_name = grant_name(&args.grant, profile)?;
        // Before anything else: a password on argv is refused before a request is made.
        if args.grant.password.is_some() {
            return Err(ConfigError::PasswordOnCommandLine);
        }
        let mut provider = ProviderConfig::resolve(&args.provider, profile)?;
        let client_auth = client_auth(&args.grant, profile)?;
        let grant = match grant_name {
            GrantName::AuthorizationCode => GrantConfig::AuthorizationCode,
            GrantName::Device => GrantConfig::Device,
            GrantName::ClientCredentials => {
                if client_auth == ClientAuthSpec::None {
                    return Err(ConfigError::Missing {
                        what: "client secret or key for the client credentials grant",
                        flag:
                            "--client-secret-file PATH, --client-secret-stdin or --client-key PEM",
                        env: "AUTHCLI_CLIENT_SECRET",
                        key: "client_secret_file",
                    });
                }
                // No user: the default user scopes (openid, offline_access) make no sense here.
                if args.provider.scopes.is_empty() && profile.scope.is_none() {
                    provider.scopes.clear();
                }
                GrantConfig::ClientCredentials
            }
            GrantName::Password => GrantConfig::Password {
                username: args
                    .grant
                    .username
                    .clone()
                    .or_else(|| profile.username.clone())
                    .filter(|u| !u.is_empty())
                    .ok_or(ConfigError::Missing {
                        what: "user name for the password grant",
                        flag: "--username",
                        env: "AUTHCLI_USERNAME",
                        key: "username",
                    })?,
                password: if args.grant.password_stdin {
                    PasswordInput::Stdin
                } else {
                    PasswordInput::Prompt
                },
                realm: provider
                    .extra_params
                    .iter()
                    .find(|(k, _)| k == "realm")
                    .map(|(_, v)| v.clone()),
            },
        };
        let redirect = if let Some(uri) = &args.browser.redirect_uri {
            parse_redirect_uri(uri)?
        } else if !args.browser.ports.is_empty() {
            RedirectSpec {
                ports: args.browser.ports.clone(),
                ..RedirectSpec::default()
            }
        } else if let Some(uri) = &profile.redirect_uri {
            parse_redirect_uri(uri)?
        } else {
            RedirectSpec {
                ports: profile.ports.clone().unwrap_or_default(),
                ..RedirectSpec::default()
            }
        };
        if redirect.ports.contains(&0) && redirect.ports.len() > 1 {
            return Err(ConfigError::Invalid {
                flag: "--port",
                value: format!("{:?}", redirect.ports),
                reason: "0 (random) cannot be combined with fixed ports".into(),
            });
        }
        let opener = if args.browser.no_browser || profile.no_browser == Some(true) {
            Opener::Nothing
        } else if let Some(cmd) = &args.browser.browser_command {
            parse_browser_command("--browser-command", cmd)?
        } else if let Some(cmd) = &profile.browser_command {
            parse_browser_command("browser_command", cmd)?
        } else if let Some(cmd) = std::env::var("BROWSER")
            .ok()
            .filter(|b| !b.trim().is_empty())
        {
            parse_browser_command("BROWSER", &cmd)?
        } else {
            Opener::System
        };
        let login_timeout = args
            .browser
            .login_timeout
            .or(profile.login_timeout)
            .unwrap_or(DEFAULT_LOGIN_TIMEOUT_SECS);
        Ok(LoginConfig {
            provider,
            grant,
            client_auth,
            redirect,
            opener,
            login_timeout: Duration::from_secs(login_timeout.max(1)),
            store: !args.no_store,
            output: args.output.unwrap_or(OutputFormat::Json),
        })
    }
}

/// `--grant`, its shorthands, or the profile's `grant`; the browser login by default.
fn grant_name(args: &GrantArgs, profile: &Profile) -> Result<GrantName, ConfigError> {
    use clap::ValueEnum;
    if args.device {
        return Ok(GrantName::Device);
    }
    if args.client_credentials {
        return Ok(GrantName::ClientCredentials);
    }
    if let Some(grant) = args.grant {
        return Ok(grant);
    }
    match &profile.grant {
        Some(raw) => GrantName::from_str(raw, true).map_err(|_| ConfigError::Invalid {
            flag: "grant",
            value: raw.clone(),
            reason: "expected authorization-code, device, client-credentials or password".into(),
        }),
        None => Ok(GrantName::AuthorizationCode),
    }
}

/// The client's credentials: flags, then `AUTHCLI_CLIENT_SECRET`, then the profile.
fn client_auth(args: &GrantArgs, profile: &Profile) -> Result<ClientAuthSpec, ConfigError> {
    let method = match (args.auth_method, &profile.auth_method) {
        (Some(m), _) => Some(match m {
            AuthMethodName::ClientSecretPost => AuthMethod::ClientSecretPost,
            AuthMethodName::ClientSecretBasic => AuthMethod::ClientSecretBasic,
            AuthMethodName::PrivateKeyJwt => AuthMethod::PrivateKeyJwt,
        }),
        (None, Some(raw)) => Some(match raw.as_str() {
            "client_secret_post" => AuthMethod::ClientSecretPost,
            "client_secret_basic" => AuthMethod::ClientSecretBasic,
            "private_key_jwt" => AuthMethod::PrivateKeyJwt,
            _ => {
                return Err(ConfigError::Invalid {
                    flag: "auth_method",
                    value: raw.clone(),
                    reason: "expected client_secret_post, client_secret_basic or private_key_jwt"
                        .into(),
                })
            }
        }),
        (None, None) => None,
    };
    let key = args
        .client_key
        .clone()
        .or_else(|| profile.client_key.clone());
    if method == Some(AuthMethod::PrivateKeyJwt) || (method.is_none() && key.is_some()) {
        let key = key.ok_or(ConfigError::Missing {
            what: "private key for private_key_jwt",
            flag: "--client-key",
            env: "AUTHCLI_CLIENT_KEY",
            key: "client_key",
        })?;
        return Ok(ClientAuthSpec::PrivateKey {
            key,
            key_id: args
                .client_key_id
                .clone()
                .or_else(|| profile.client_key_id.clone()),
        });
    }
    let env_secret = std::env::var("AUTHCLI_CLIENT_SECRET")
        .ok()
        .filter(|s| !s.is_empty());
    let source = if args.client_secret_stdin {
        Some(SecretSource::Stdin)
    } else if args.client_secret.is_some() {
        Some(SecretSource::Argv)
    } else if let Some(path) = &args.client_secret_file {
        Some(SecretSource::File { path: path.clone() })
    } else if env_secret.is_some() {
        Some(SecretSource::Env {
            var: "AUTHCLI_CLIENT_SECRET".into(),
        })
    } else {
        profile
            .client_secret_file
            .as_ref()
            .map(|path| SecretSource::File { path: path.clone() })
    };
    Ok(match source {
        Some(source) => ClientAuthSpec::Secret { method, source },
        None => ClientAuthSpec::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_host_becomes_https_with_trailing_slash() {
        let url = parse_issuer("tenant.us.auth0.com").unwrap();
        assert_eq!(url.as_str(), "https://tenant.us.auth0.com/");
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(parse_issuer("http://127.0.0.1:8080/").is_ok());
        assert!(parse_issuer("http://localhost:8080").is_ok());
        assert!(parse_issuer("http://[::1]:8080/").is_ok());
        let err = parse_issuer("http://tenant.auth0.com").unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        assert_eq!(err.exit_code(), ExitCode::Usage);
    }

    #[test]
    fn unparsable_issuer_is_one_plain_sentence() {
        for raw in ["not a url", "https://", "https://host:99999/"] {
            let msg = parse_issuer(raw).unwrap_err().to_string();
            assert!(!msg.contains("international"), "{msg}");
            assert!(msg.contains("tenant.us.auth0.com"), "{msg}");
            assert_eq!(msg.lines().count(), 1, "{msg}");
        }
    }

    #[test]
    fn config_file_others_can_change_is_warned_about() {
        let path = Path::new("/h/config.toml");
        assert_eq!(config_file_warning(path, 0o100600, 1000, 1000), None);
        assert_eq!(config_file_warning(path, 0o100644, 1000, 1000), None);
        let w = config_file_warning(path, 0o100664, 1000, 1000).unwrap();
        assert!(w.contains("its group") && w.contains("chmod go-w"), "{w}");
        let w = config_file_warning(path, 0o100666, 1000, 1000).unwrap();
        assert!(w.contains("all users"), "{w}");
        let w = config_file_warning(path, 0o100600, 1001, 1000).unwrap();
        assert!(w.contains("user id 1001"), "{w}");
        // root-owned (e.g. provisioned by an admin) and not writable by others is fine.
        assert_eq!(config_file_warning(path, 0o100644, 0, 1000), None);
    }

    #[test]
    fn flag_beats_profile() {
        let args = ProviderArgs {
            issuer: Some("flag.example.com".into()),
            client_id: None,
            ..Default::default()
        };
        let profile = Profile {
            issuer: Some("profile.example.com".into()),
            client_id: Some("from-profile".into()),
            scope: Some(ScopeList::List(vec!["openid".into(), "read:x".into()])),
            ..Default::default()
        };
        let cfg = ProviderConfig::resolve(&args, &profile).unwrap();
        assert_eq!(cfg.issuer.as_str(), "https://flag.example.com/");
        assert_eq!(cfg.client_id, "from-profile");
        assert_eq!(cfg.scopes, vec!["openid", "read:x"]);
    }

    #[test]
    fn scopes_are_split_and_deduplicated() {
        let args = ProviderArgs {
            issuer: Some("a.example".into()),
            client_id: Some("c".into()),
            scopes: vec!["openid email".into(), "email  read:x".into()],
            ..Default::default()
        };
        let cfg = ProviderConfig::resolve(&args, &Profile::default()).unwrap();
        assert_eq!(cfg.scope_string(), "openid email read:x");
    }

    #[test]
    fn reserved_params_are_refused() {
        assert!(parse_param("state=abc").is_err());
        assert!(parse_param("novalue").is_err());
        assert_eq!(
            parse_param("connection=github").unwrap(),
            ("connection".into(), "github".into())
        );
    }

    #[test]
    fn redirect_uri_rules() {
        let spec = parse_redirect_uri("http://localhost:0/cb").unwrap();
        assert_eq!(spec.host, RedirectHost::Localhost);
        assert!(spec.ports.is_empty());
        assert_eq!(spec.path, "/cb");
        assert_eq!(
            parse_redirect_uri("http://[::1]:8400/callback")
                .unwrap()
                .ports,
            vec![8400]
        );
        assert!(parse_redirect_uri("https://127.0.0.1:8400/callback").is_err());
        assert!(parse_redirect_uri("http://example.com:8400/callback").is_err());
    }

    fn parse_profile(text: &str) -> Result<Profile, ConfigError> {
        let dir = std::env::temp_dir().join(format!(
            "authcli-cfg-keys-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        let result = load_profile_from(&path, "p", true);
        std::fs::remove_dir_all(&dir).ok();
        result
    }

    #[test]
    fn profile_takes_the_flags_without_dashes() {
        let p = parse_profile("[profiles.p]\nport = 8400\nno_browser = true\n").unwrap();
        assert_eq!(p.ports, Some(vec![8400]));
        assert_eq!(p.no_browser, Some(true));
        let p = parse_profile("[profiles.p]\nport = [8400, 8401]\n").unwrap();
        assert_eq!(p.ports, Some(vec![8400, 8401]));
        let p = parse_profile("[profiles.p]\nports = [8402]\n").unwrap();
        assert_eq!(p.ports, Some(vec![8402]));
    }

    #[test]
    fn unknown_profile_key_lists_the_keys_that_exist() {
        let msg = parse_profile("[profiles.p]\nissuer = \"a.example\"\nclientid = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unknown field `clientid`"), "{msg}");
        for key in [
            "`client_id`",
            "`port`",
            "`ports`",
            "`no_browser`",
            "`domain`",
        ] {
            assert!(msg.contains(key), "{key} not listed: {msg}");
        }
    }

    #[test]
    fn toml_errors_keep_their_caret_diagram() {
        let msg = parse_profile("[profiles.p]\nissuer = \"unterminated\n")
            .unwrap_err()
            .to_string();
        assert!(msg.lines().count() >= 4, "{msg}");
        assert!(msg.contains('^') && msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn empty_scope_flag_is_a_usage_error() {
        let args = ProviderArgs {
            issuer: Some("a.example".into()),
            client_id: Some("c".into()),
            scopes: vec!["".into(), "  ".into()],
            ..Default::default()
        };
        let err = ProviderConfig::resolve(&args, &Profile::default()).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(err.to_string().contains("names no scope"), "{err}");
    }

    #[test]
    fn config_file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("authcli-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, "[profiles.work]\nissuer = 3\n").unwrap();
        let err = load_profile_from(&path, "work", true).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("config.toml") && msg.contains("issuer"),
            "{msg}"
        );
        std::fs::write(&path, "[profiles.work]\nissuer = \"a.example\"\n").unwrap();
        assert!(matches!(
            load_profile_from(&path, "home", true),
            Err(ConfigError::ProfileNotFound { .. })
        ));
        assert_eq!(
            load_profile_from(&path, "work", true)
                .unwrap()
                .issuer
                .as_deref(),
            Some("a.example")
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
