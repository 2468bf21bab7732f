//! The mock tenant: an Auth0-shaped authorization server for tests, CI and demos (SPEC §8).
//!
//! [`MockTenant::start`] binds (port 0 = random), runs the server on worker threads of its
//! own (a single-threaded tokio runtime each), returns once it listens and shuts down when
//! dropped, so a test can start one in a line, as with wiremock. `authcli mock-tenant`
//! ([`run`]) wraps the same type: it prints the issuer URL as its one line of stdout, optionally writes a ready file, and exits
//! cleanly on SIGTERM or Ctrl-C. The server must never be reachable beyond loopback by
//! accident: its built-in credentials are public.
//!
//! Layout: `tenant` (static model and config file), `state` (codes, families, log, clock),
//! `keys` (RSA keys and JWT signing), `faults`, `server` (HTTP plumbing and routing),
//! `endpoints` (the OAuth endpoints), `interactive` and `pages` (HTML), `control` (`/__mock/`).

mod control;
mod endpoints;
mod faults;
mod http;
mod interactive;
mod keys;
mod pages;
mod server;
mod state;
mod tenant;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::exit::ExitCode;

pub use faults::{Endpoint as FaultEndpoint, FaultKind, FaultSpec};
pub use keys::SigningKey;
pub use state::RecordedRequest;
pub use tenant::{
    ApiConfig, AppType, AuthMethod, ClientConfig, ClientGrant, DeviceSettings, Lifetimes,
    TenantConfig, UserConfig, API_AUDIENCE, DEFAULT_CONNECTION, M2M_CLIENT_ID, M2M_CLIENT_SECRET,
    PUBLIC_CLIENT_ID,
};

use state::{lock, Shared};

/// Why the mock tenant could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("mock tenant: could not bind {addr}: {source} (is the port in use? --port 0 picks a free one)")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("mock tenant: `{0}` is not an IP address or `localhost` (try --host 127.0.0.1)")]
    Host(String),
    #[error("mock tenant: {0} is not a loopback address, and the mock's client secret, control token and auto-approving /authorize are public knowledge: use --host 127.0.0.1, or add --allow-remote if other machines really must reach it")]
    Remote(IpAddr),
    #[error("mock tenant config {}: {source}", path.display())]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mock tenant config {}{}: {message}", path.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Config {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("mock tenant signing key {}: {message}", path.display())]
    SigningKey { path: PathBuf, message: String },
    #[error("mock tenant: bad --fault: {0}")]
    Fault(String),
    #[error("mock tenant: key generation: {0}")]
    KeyGeneration(String),
    #[error("mock tenant: could not start its runtime: {0}")]
    Runtime(std::io::Error),
    #[error("mock tenant: could not write the ready file {}: {source}", path.display())]
    ReadyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mock tenant: could not write to stdout: {0}")]
    Stdout(std::io::Error),
}

impl MockError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            MockError::Host(_) | MockError::Remote(_) | MockError::Fault(_) => ExitCode::Usage,
            _ => ExitCode::Other,
        }
    }
}

/// Which provider's conventions the mock follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Flavor {
    /// Auth0: 403 for `invalid_grant`/`authorization_pending`, 429 for `slow_down`, issuer
    /// with a trailing slash, `gty`, `CLIENT@clients`, `aud` array with the userinfo URL.
    #[default]
    Auth0,
    /// RFC 6749/8628 status codes (400), issuer without a trailing slash, RFC 8414 metadata.
    Rfc,
}

/// `authcli mock-tenant` options.
#[derive(Debug, clap::Args)]
pub struct MockTenantArgs {
    /// Port to listen on (0 = a random free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to listen on. Anything but loopback is refused without --allow-remote.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Allow a non-loopback --host: the built-in secrets and the auto-approving /authorize
    /// become reachable from other machines.
    #[arg(long)]
    pub allow_remote: bool,
    /// Also write issuer, client ids and the control token as JSON to PATH, a new file (mode
    /// 0600; an existing file or link there is an error, never overwritten or followed).
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,
    /// Tenant definition (TOML): clients, apis, client_grants, users, lifetimes, device.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Whose conventions to follow: Auth0's, or plain RFC 6749/8628.
    #[arg(long, value_enum, default_value_t = Flavor::Auth0)]
    pub flavor: Flavor,
    /// Make keys, codes and ids deterministic.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Sign with this RSA private key (PEM, PKCS#8 or PKCS#1) instead of a generated one.
    #[arg(long, value_name = "PEM")]
    pub signing_key: Option<PathBuf>,
    /// Inject a fault from the start, as JSON (repeatable), e.g.
    /// '{"endpoint":"token","fault":"status","status":503}'.
    #[arg(long, value_name = "JSON")]
    pub fault: Vec<String>,
    /// Serve real sign-in, consent and device pages instead of approving at once.
    #[arg(long)]
    pub interactive: bool,
}

/// Everything [`MockTenant::start`] needs. `Default` is the built-in tenant on a random
/// loopback port.
#[derive(Debug, Clone)]
pub struct MockOptions {
    pub host: IpAddr,
    /// Listen on a non-loopback `host` (refused otherwise).
    pub allow_remote: bool,
    /// 0 = a random free port.
    pub port: u16,
    pub flavor: Flavor,
    /// Deterministic codes, ids and keys.
    pub seed: Option<u64>,
    /// Where `tenant` came from, if from a file (for messages only).
    pub config_path: Option<PathBuf>,
    pub tenant: TenantConfig,
    /// A PEM private key to sign with instead of a generated one.
    pub signing_key_pem: Option<String>,
    /// Faults armed from the start.
    pub faults: Vec<FaultSpec>,
    pub interactive: bool,
    /// `> 0`: one line per request on stderr, secrets masked.
    pub verbose: u8,
    /// A fixed control token; random when `None`.
    pub control_token: Option<String>,
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            allow_remote: false,
            port: 0,
            flavor: Flavor::Auth0,
            seed: None,
            config_path: None,
            tenant: TenantConfig::default(),
            signing_key_pem: None,
            faults: Vec::new(),
            interactive: false,
            verbose: 0,
            control_token: None,
        }
    }
}

/// `localhost` or an IP literal (brackets allowed for IPv6).
fn parse_host(host: &str) -> Result<IpAddr, MockError> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| MockError::Host(host.to_string()))
}

impl TryFrom<&MockTenantArgs> for MockOptions {
    type Error = MockError;

    /// Reads the files the flags name and parses the faults.
    fn try_from(args: &MockTenantArgs) -> Result<Self, MockError> {
        let tenant = match &args.config {
            Some(path) => TenantConfig::load(path)?,
            None => TenantConfig::default(),
        };
        let signing_key_pem = match &args.signing_key {
            Some(path) => {
                let pem = std::fs::read_to_string(path).map_err(|e| MockError::SigningKey {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                // Parse now so a bad key fails at start, not at the first token request.
                SigningKey::from_pem(&pem).map_err(|message| MockError::SigningKey {
                    path: path.clone(),
                    message,
                })?;
                Some(pem)
            }
            None => None,
        };
        let faults = args
            .fault
            .iter()
            .map(|f| FaultSpec::from_json(f).map_err(|e| MockError::Fault(format!("{e} in {f}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MockOptions {
            host: parse_host(&args.host)?,
            allow_remote: args.allow_remote,
            port: args.port,
            flavor: args.flavor,
            seed: args.seed,
            config_path: args.config.clone(),
            tenant,
            signing_key_pem,
            faults,
            interactive: args.interactive,
            verbose: 0,
            control_token: None,
        })
    }
}

/// A running mock tenant. Dropping it stops the server and joins its thread.
#[derive(Debug)]
pub struct MockTenant {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// Dropping (or sending on) it stops every worker.
    shutdown: Option<watch::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl MockTenant {
    /// Binds, starts the server thread and returns once it accepts connections. Keys are
    /// generated in the background; requests that need them wait.
    pub fn start(opts: MockOptions) -> Result<MockTenant, MockError> {
        if !opts.host.is_loopback() && !opts.allow_remote {
            return Err(MockError::Remote(opts.host));
        }
        crate::crypto_init();
        let fixed = match &opts.signing_key_pem {
            Some(pem) => Some(SigningKey::from_pem(pem).map_err(|message| {
                MockError::SigningKey {
                    path: opts
                        .config_path
                        .clone()
                        .unwrap_or_else(|| "--signing-key".into()),
                    message,
                }
            })?),
            None => None,
        };
        let keys = keys::Keys::spawn(fixed, keys::key_source(opts.seed))?;

        let bind = SocketAddr::new(opts.host, opts.port);
        let std_listener = TcpListener::bind(bind).map_err(|source| MockError::Bind {
            addr: bind.to_string(),
            source,
        })?;
        let addr = std_listener
            .local_addr()
            .map_err(|source| MockError::Bind {
                addr: bind.to_string(),
                source,
            })?;
        std_listener
            .set_nonblocking(true)
            .map_err(MockError::Runtime)?;
        // One single-threaded runtime per worker thread (thread per core); the first also
        // accepts, and hands connections to the workers in turn. Not tokio's work-stealing
        // runtime: the mock's requests are short and independent, and `rt-multi-thread` would
        // link libm into every `authcli` (its scheduler calls `pow`), one more shared library
        // for the dynamic loader on each `authcli token` (SPEC §10).
        let workers = std::thread::available_parallelism()
            .map(|n| n.get().min(4))
            .unwrap_or(2);
        let runtimes = (0..workers)
            .map(|_| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(MockError::Runtime)
            })
            .collect::<Result<Vec<_>, _>>()?;

        let base = format!("http://{}", public_host(addr));
        let issuer = match opts.flavor {
            Flavor::Auth0 => format!("{base}/"),
            Flavor::Rfc => base.clone(),
        };
        let rng = state::Randomness::new(opts.seed);
        let control_token = opts
            .control_token
            .clone()
            .unwrap_or_else(|| crate::secret::random_urlsafe(32));
        let mut book = faults::FaultBook::default();
        for f in opts.faults {
            book.add(f);
        }
        let shared = Arc::new(Shared {
            addr,
            tenant: opts.tenant,
            flavor: opts.flavor,
            issuer,
            base,
            control_token,
            interactive: opts.interactive,
            verbose: opts.verbose,
            keys,
            clock: state::Clock::default(),
            rng,
            state: Mutex::new(state::State::default()),
            log: Mutex::new(state::RequestLog::default()),
            faults: Mutex::new(book),
        });

        // The accept loop runs on the first runtime; every worker runs until shutdown.
        let handles: Vec<_> = runtimes.iter().map(|rt| rt.handle().clone()).collect();
        if let Some(first) = handles.first() {
            let _guard = first.enter();
            let listener =
                tokio::net::TcpListener::from_std(std_listener).map_err(MockError::Runtime)?;
            first.spawn(server::serve(
                listener,
                Arc::clone(&shared),
                handles.clone(),
            ));
        }
        let (tx, rx) = watch::channel(());
        let mut threads = Vec::with_capacity(runtimes.len());
        for runtime in runtimes {
            let mut rx = rx.clone();
            let thread = std::thread::Builder::new()
                .name("mock-tenant".into())
                .spawn(move || {
                    runtime.block_on(async move {
                        let _ = rx.changed().await;
                    });
                    // Drops the accept loop and the connections; hung requests (fault `hang`)
                    // would otherwise keep the runtime alive.
                    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
                })
                .map_err(MockError::Runtime)?;
            threads.push(thread);
        }
        Ok(MockTenant {
            shared,
            addr,
            shutdown: Some(tx),
            threads,
        })
    }

    /// The issuer: `http://127.0.0.1:PORT/` (with the trailing slash, as Auth0's; the `rfc`
    /// flavor has none).
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Bearer token for `/__mock/`.
    pub fn control_token(&self) -> &str {
        &self.shared.control_token
    }

    /// Every request seen so far (control API excluded), secrets masked.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).all()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Arms a fault, as `POST /__mock/faults` does.
    pub fn add_fault(&self, fault: FaultSpec) -> Result<(), MockError> {
        fault.validate().map_err(MockError::Fault)?;
        lock(&self.shared.faults).add(fault);
        Ok(())
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Moves the mock clock forward (or back, with a negative value).
    pub fn advance_clock(&self, secs: i64) {
        self.shared.clock.advance_secs(secs);
    }

    /// Approves a pending device authorization as `user` (username, email or sub; default
    /// user if `None`), or denies it with `approve = false`.
    pub fn decide_device(
        &self,
        user_code: &str,
        approve: bool,
        user: Option<&str>,
    ) -> Result<(), String> {
        if !approve {
            return endpoints::decide_device(&self.shared, user_code, None);
        }
        let u = match user {
            Some(hint) => self.shared.tenant.user_by_hint(hint),
            None => self.shared.tenant.default_user(),
        }
        .ok_or("no such user")?;
        endpoints::decide_device(&self.shared, user_code, Some(&u.user_id))
    }

    /// The ready-file document: issuer, control token, client ids and secrets, audience,
    /// users with their passwords and connection.
    pub fn info(&self) -> Value {
        info_json(&self.shared)
    }

    /// Stops the server now (dropping does the same).
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for MockTenant {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The host clients should use: a wildcard bind is reached through loopback.
fn public_host(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("127.0.0.1:{}", addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => {
            format!("[{}]:{}", Ipv6Addr::LOCALHOST, addr.port())
        }
        _ => addr.to_string(),
    }
}

/// What the ready file holds.
fn info_json(shared: &Shared) -> Value {
    let t = &shared.tenant;
    let public = t
        .clients
        .iter()
        .find(|c| !c.is_confidential() && c.allows_grant(tenant::GRANT_AUTHORIZATION_CODE));
    let m2m = t
        .clients
        .iter()
        .find(|c| c.allows_grant(tenant::GRANT_CLIENT_CREDENTIALS));
    let clients: Vec<Value> = t
        .clients
        .iter()
        .map(|c| {
            json!({
                "client_id": c.client_id,
                "app_type": c.app_type,
                "client_secret": c.secret,
                "grant_types": c.grant_types,
                "callbacks": c.callbacks,
            })
        })
        .collect();
    json!({
        "issuer": shared.issuer,
        "control_token": shared.control_token,
        "public_client_id": public.map(|c| c.client_id.clone()),
        "m2m_client_id": m2m.map(|c| c.client_id.clone()),
        "m2m_client_secret": m2m.and_then(|c| c.secret.clone()),
        "audience": t.apis.first().map(|a| a.identifier.clone()),
        "clients": clients,
        "users": t.users.iter().map(|u| u.username.clone()).collect::<Vec<_>>(),
        // Public test credentials for the password grants (SPEC §8).
        "connection": tenant::DEFAULT_CONNECTION,
        "user_credentials": t.users.iter().map(|u| json!({
            "username": u.username,
            "email": u.email,
            "password": u.password(),
            "connection": u.connection,
            "mfa_required": u.mfa_required,
        })).collect::<Vec<_>>(),
        "flavor": match shared.flavor { Flavor::Auth0 => "auth0", Flavor::Rfc => "rfc" },
    })
}

/// Writes the ready file as a new file, never through an existing one: it holds the control
/// token, and in a shared directory such as /tmp another user could have planted a file (to
/// read what is written into it) or a link (to have it written elsewhere) at `path`.
///
/// The document goes to a temp file with an unguessable name, created exclusively with mode
/// 0600, which is then hard-linked to `path`: the link fails if anything, even a dangling
/// symlink, is already there, and a reader never sees half a file. On a file system without
/// hard links, `path` itself is created exclusively and written.
fn write_ready_file(path: &Path, doc: &Value) -> Result<(), MockError> {
    let err = |source| MockError::ReadyFile {
        path: path.to_path_buf(),
        source,
    };
    let exists = || {
        std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "something is already there (a file from an earlier run, or planted by another \
             user); delete it or pick another path",
        )
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let bytes = format!("{doc:#}\n");
    let create_new = |p: &Path| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(p)
    };
    let tmp = dir.join(format!(
        ".authcli-ready.{}.tmp",
        crate::secret::random_urlsafe(16)
    ));
    let written = create_new(&tmp).and_then(|mut f| {
        f.write_all(bytes.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(err(exists())),
        // No hard links here (FAT, some network file systems): exclusive create in place.
        Err(_) => {
            let mut f = create_new(path).map_err(|e| {
                err(if e.kind() == std::io::ErrorKind::AlreadyExists {
                    exists()
                } else {
                    e
                })
            })?;
            f.write_all(bytes.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(err)
        }
    }
}

/// For `fuzz/`: runs the mock's request parsers over arbitrary input: query string, form or
/// JSON body, the `Authorization` header (Basic credentials, bearer token), the `Host` check,
/// user codes, scopes and fault specs. No I/O and no state.
#[doc(hidden)]
pub fn fuzz_request(content_type: &str, header: &str, query: &str, body: &[u8]) {
    use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
    let mut headers = hyper::HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(header) {
        headers.insert(AUTHORIZATION, v);
    }
    let req = http::Req {
        method: hyper::Method::POST,
        path: "/oauth/token".into(),
        query: http::parse_query(Some(query)),
        headers,
        body: hyper::body::Bytes::copy_from_slice(body),
    };
    let _ = req.query_params();
    if let Ok(params) = req.body_params() {
        let _ = params.scopes("scope");
        let _ = http::masked_map(&params.0);
    }
    let _ = req.bearer();
    let _ = endpoints::decode_basic(header);
    let _ = state::mask_authorization(header);
    let _ = http::host_names(header, SocketAddr::from((Ipv4Addr::LOCALHOST, 4000)));
    let _ = endpoints::normalize_user_code(query);
    let _ = FaultSpec::from_json(query);
}

/// Runs `authcli mock-tenant` until SIGTERM or Ctrl-C. `verbose` is the global `-v` count.
pub fn run(args: MockTenantArgs, verbose: u8) -> Result<(), MockError> {
    let mut opts = MockOptions::try_from(&args)?;
    opts.verbose = verbose;
    if !opts.host.is_loopback() && opts.allow_remote {
        eprintln!(
            "warning: the mock tenant listens on {} beyond loopback (--allow-remote); its built-in client secret and control API are public knowledge",
            opts.host
        );
    }
    let tenant = MockTenant::start(opts)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(MockError::Runtime)?;
    // Install the handlers before announcing readiness: a SIGTERM right after the line must
    // still end the process cleanly.
    let stop = {
        let _guard = runtime.enter();
        shutdown_signal().map_err(MockError::Runtime)?
    };
    if let Some(path) = &args.ready_file {
        write_ready_file(path, &tenant.info())?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", tenant.issuer())
        .and_then(|()| out.flush())
        .map_err(MockError::Stdout)?;
    drop(out);
    runtime.block_on(stop);
    drop(tenant);
    Ok(())
}

/// A future that completes on SIGTERM or SIGINT (Ctrl-C), with the handlers installed now.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
