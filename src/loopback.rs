//! The one-shot loopback listener that catches the authorization response (RFC 8252 §7.3).
//!
//! It is bound before the authorization URL is built, so the redirect URI names a port that is
//! really ours. It answers only `GET` on the callback path (and the start URL) with the exact
//! `Host` it was bound for; everything else is a 4xx that does not end the wait.
//! A callback whose `state` does not match is refused and the wait goes on, so a stray or
//! hostile local request can neither complete nor abort a login.
//!
//! The start URL, handed to the browser, redirects to the authorization URL (which carries
//! `state`). Its path is random (128 bits) and single-use: the browser's command line is
//! visible to every local user, so a second request for it means another program raced the
//! browser, and the login ends (exit 3) rather than let that program sign the user in as
//! someone else. No fixed path reveals anything of the login.
//!
//! Headers, URI length and connection time are bounded; at the connection cap the oldest idle
//! or incomplete connection is evicted (not the newcomer), so held-open sockets cannot starve
//! the real callback. Warnings about stray requests are rate-limited. The pages it serves
//! reflect nothing unescaped. It never logs the code, the state or the start path.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, HOST, LOCATION};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinSet};
use url::Url;

use crate::config::{RedirectHost, RedirectSpec};
use crate::exit::ExitCode;
use crate::output::{self, sanitize};
use crate::secret::{constant_time_eq, random_urlsafe, AuthorizationCode, State};

/// Longest request URI accepted; a callback is far shorter.
const MAX_URI: usize = 4096;
/// Header buffer per connection (hyper answers 431 beyond it).
const MAX_HEADERS: usize = 16 * 1024;
/// Connections served at once; beyond it the oldest idle one is evicted.
const MAX_CONNECTIONS: usize = 64;
/// Stray-request warnings printed one by one; after that only at 10, 100, 1000… of them.
const STRAY_WARNINGS_SHOWN: u64 = 3;
/// Time to send the request headers (slowloris bound).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Total life of one connection.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// After the callback, time left for the browser to receive its page.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a browser waits for the outcome of the code exchange before a neutral page.
const VERDICT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why the listener could not deliver an authorization code.
#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    #[error("all loopback ports are busy: {ports}\n  hint: close the program using them, or register another port with the provider and pass it with --port")]
    PortsBusy { ports: String },
    #[error("could not listen on {addr}: {source}\n  hint: pick another port with --port or --redirect-uri")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the provider refused the sign-in: {error}{}\n  hint: {}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default(), refusal_hint(error, description.as_deref()))]
    Refused {
        error: String,
        description: Option<String>,
    },
    #[error("the authorization response names issuer `{found}`, not `{expected}` (RFC 9207 mix-up defence): nothing was exchanged")]
    IssuerMismatch { expected: String, found: String },
    #[error("the sign-in start URL was requested twice: another program on this machine raced the browser for it, so the login was stopped and nothing was exchanged\n  hint: run the login again; if this repeats, check which local programs can read the browser's command line, or use --no-browser and open the printed URL yourself")]
    StartRaced,
    #[error("the loopback listener failed: {0}")]
    Io(#[from] std::io::Error),
}

fn refusal_hint(error: &str, description: Option<&str>) -> &'static str {
    if let Some(hint) = crate::http::audience_hint(error, description) {
        return hint;
    }
    match error {
        "access_denied" => "the sign-in or consent was declined; run the command again to retry",
        "unauthorized_client" => "the callback URL may not be registered: add the printed redirect URI to the application's Allowed Callback URLs",
        "login_required" | "consent_required" | "interaction_required" => "sign in interactively (drop prompt=none)",
        _ => "check the application's settings at the provider",
    }
}

impl LoopbackError {
    /// Exit code of SPEC §7.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            LoopbackError::Refused { .. }
            | LoopbackError::IssuerMismatch { .. }
            | LoopbackError::StartRaced => ExitCode::Refused,
            _ => ExitCode::Other,
        }
    }
}

/// What a valid callback carried.
#[derive(Debug)]
pub struct Callback {
    pub code: AuthorizationCode,
    /// RFC 9207 `iss`, when the provider sent one (already checked).
    pub iss: Option<String>,
}

/// What the callback must match.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub state: State,
    /// The issuer an `iss` parameter must equal.
    pub issuer: String,
    /// The provider advertises RFC 9207, so `iss` must be present.
    pub iss_required: bool,
}

/// A listener bound on loopback, not yet serving.
#[derive(Debug)]
pub struct LoopbackListener {
    sockets: Vec<std::net::TcpListener>,
    port: u16,
    host: RedirectHost,
    path: String,
    /// The random single-use start path (a secret: never logged).
    start_path: String,
}

impl LoopbackListener {
    /// Binds the first free port of `spec` (or a random one) on every address of its host.
    pub fn bind(spec: &RedirectSpec) -> Result<Self, LoopbackError> {
        let candidates: Vec<u16> = if spec.ports.is_empty() {
            vec![0]
        } else {
            spec.ports.clone()
        };
        for &port in &candidates {
            // A random port on `localhost` must be free on both stacks: retry a few times.
            let attempts = if port == 0 { 5 } else { 1 };
            for _ in 0..attempts {
                match bind_all(spec.host.bind_addrs(), port)? {
                    Some((sockets, port)) => {
                        return Ok(LoopbackListener {
                            sockets,
                            port,
                            host: spec.host,
                            path: spec.path.clone(),
                            start_path: format!("/{}", random_urlsafe(16)),
                        })
                    }
                    None => continue,
                }
            }
            output::step(&format!("loopback port {port} is busy"));
        }
        Err(LoopbackError::PortsBusy {
            ports: candidates
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn authority(&self) -> String {
        format!("{}:{}", self.host.as_uri_host(), self.port)
    }

    /// The redirect URI for this listener, e.g. `http://127.0.0.1:53123/callback`.
    pub fn redirect_uri(&self) -> Url {
        let mut url = self.start_url();
        url.set_path(&self.path);
        url
    }

    /// The short URL handed to the browser; it redirects to the authorization URL, once.
    pub fn start_url(&self) -> Url {
        let raw = format!("http://{}{}", self.authority(), self.start_path);
        #[allow(clippy::expect_used)]
        Url::parse(&raw).expect("loopback start URL is always valid")
    }

    /// Serves until the first valid callback (or a provider error carried by one).
    ///
    /// The browser that brought a code is kept waiting for its page until the caller reports
    /// the end of the login through the returned [`PendingPage`], so it never says "signed in"
    /// for a login that then fails. Dropping the future closes the listener and every
    /// connection.
    pub async fn serve(
        self,
        expect: Expectation,
        authorize_url: Url,
    ) -> Result<(Callback, PendingPage), LoopbackError> {
        let (outcome_tx, mut outcome_rx) = mpsc::channel::<Outcome>(16);
        let handler = Arc::new(Handler {
            expect,
            authority: self.authority(),
            path: self.path.clone(),
            start_path: self.start_path.clone(),
            start_used: AtomicBool::new(false),
            authorize_url: authorize_url.to_string(),
            outcome: outcome_tx,
        });

        let (stream_tx, mut stream_rx) = mpsc::channel(MAX_CONNECTIONS);
        let mut acceptors = JoinSet::new();
        for socket in self.sockets {
            socket.set_nonblocking(true)?;
            let listener = TcpListener::from_std(socket)?;
            let tx = stream_tx.clone();
            acceptors.spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok((stream, _)) => {
                            if tx.send(stream).await.is_err() {
                                return;
                            }
                        }
                        // Out of file descriptors and the like: back off, keep listening.
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            });
        }
        drop(stream_tx);

        let mut live: VecDeque<Live> = VecDeque::new();
        let mut connections = JoinSet::new();
        let mut strays = StrayWarnings::default();
        let (result, verdict) = loop {
            tokio::select! {
                Some(stream) = stream_rx.recv() => {
                    live.retain(|c| !c.handle.is_finished());
                    if live.len() >= MAX_CONNECTIONS {
                        // Evict the oldest connection that has not delivered a request yet
                        // (idle or slow), rather than refuse the newcomer: held-open sockets
                        // must not starve the real callback.
                        match live.iter().position(|c| !c.busy.load(Ordering::Relaxed)) {
                            Some(i) => {
                                if let Some(old) = live.remove(i) {
                                    old.handle.abort();
                                }
                            }
                            None => {
                                drop(stream);
                                continue;
                            }
                        }
                    }
                    let handler = handler.clone();
                    let busy = Arc::new(AtomicBool::new(false));
                    let busy_in_service = busy.clone();
                    let handle = connections.spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let handler = handler.clone();
                            busy_in_service.store(true, Ordering::Relaxed);
                            async move { Ok::<_, Infallible>(handler.handle(&req).await) }
                        });
                        let conn = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(HEADER_TIMEOUT)
                            .max_buf_size(MAX_HEADERS)
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(stream), service);
                        let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
                    });
                    live.push_back(Live { handle, busy });
                }
                Some(outcome) = outcome_rx.recv() => match outcome {
                    Outcome::Warning(w) => strays.warn(&w),
                    Outcome::Done(result, verdict) => break (result, verdict),
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        };
        strays.summary();
        acceptors.abort_all();
        let page = PendingPage {
            verdict,
            connections,
        };
        match result {
            Ok(callback) => Ok((callback, page)),
            Err(e) => {
                page.finish(Err(String::new())).await;
                Err(e)
            }
        }
    }
}

/// The browser's page for a received code, sent once the login has ended.
#[derive(Debug)]
pub struct PendingPage {
    verdict: Option<oneshot::Sender<Result<(), String>>>,
    connections: JoinSet<()>,
}

impl PendingPage {
    /// Shows the browser how the login ended (`Err` carries what to tell the user), then
    /// gives the connection a moment to deliver the page before the listener goes away.
    pub async fn finish(mut self, outcome: Result<(), String>) {
        if let Some(verdict) = self.verdict.take() {
            let _ = verdict.send(outcome);
        }
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
            while self.connections.join_next().await.is_some() {}
        })
        .await;
    }
}

/// A connection being served: evictable until it has delivered a request.
struct Live {
    handle: AbortHandle,
    busy: Arc<AtomicBool>,
}

/// Warnings about stray requests, rate-limited: a flood of them must not flood the terminal.
#[derive(Default)]
struct StrayWarnings {
    seen: u64,
}

impl StrayWarnings {
    fn warn(&mut self, msg: &str) {
        self.seen += 1;
        if self.seen <= STRAY_WARNINGS_SHOWN {
            output::warn(msg);
        } else if self.seen == STRAY_WARNINGS_SHOWN + 1 {
            output::warn(
                "more stray requests are arriving; they are ignored, and counted here from now on",
            );
        } else if is_power_of_ten(self.seen) {
            output::warn(&format!(
                "{} stray requests ignored so far; still waiting for the sign-in",
                self.seen
            ));
        }
    }

    fn summary(&self) {
        if self.seen > STRAY_WARNINGS_SHOWN {
            output::step(&format!("ignored {} stray requests in all", self.seen));
        }
    }
}

fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}

/// Binds `port` on every address; `Ok(None)` when it is in use on one of them.
fn bind_all(
    addrs: Vec<IpAddr>,
    port: u16,
) -> Result<Option<(Vec<std::net::TcpListener>, u16)>, LoopbackError> {
    let mut sockets = Vec::new();
    let mut port = port;
    for (i, ip) in addrs.iter().enumerate() {
        let addr = SocketAddr::new(*ip, port);
        match bind_exclusive(addr) {
            Ok(socket) => {
                port = socket.local_addr()?.port();
                sockets.push(socket);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Ok(None),
            // No IPv6 on this machine: `localhost` still works over IPv4.
            Err(e) if i > 0 && ip.is_ipv6() => {
                output::step(&format!("not listening on {addr}: {e}"));
            }
            Err(source) => return Err(LoopbackError::Bind { addr, source }),
        }
    }
    Ok(Some((sockets, port)))
}

/// Binds a listener no other process can share. On Unix a second bind of a bound port fails
/// unless both sides opt in with SO_REUSEPORT, which std never does.
#[cfg(not(windows))]
fn bind_exclusive(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(addr)
}

/// Binds a listener no other process can share. Windows lets a later socket with SO_REUSEADDR
/// bind the same port and take over the callback unless the first one set SO_EXCLUSIVEADDRUSE
/// before binding, which std's `TcpListener::bind` does not.
#[cfg(windows)]
fn bind_exclusive(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{setsockopt, SOL_SOCKET, SO_EXCLUSIVEADDRUSE};

    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    let on: i32 = 1;
    // SAFETY: a valid socket handle, and a pointer to a live i32 with its exact length.
    let rc = unsafe {
        setsockopt(
            socket.as_raw_socket() as _,
            SOL_SOCKET,
            SO_EXCLUSIVEADDRUSE,
            (&on as *const i32).cast(),
            std::mem::size_of::<i32>() as i32,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

enum Outcome {
    Warning(String),
    /// The wait is over; a code's browser waits on the sender for its page.
    Done(
        Result<Callback, LoopbackError>,
        Option<oneshot::Sender<Result<(), String>>>,
    ),
}

struct Handler {
    expect: Expectation,
    authority: String,
    path: String,
    start_path: String,
    start_used: AtomicBool,
    authorize_url: String,
    outcome: mpsc::Sender<Outcome>,
}

impl Handler {
    async fn handle(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let host_ok = req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.eq_ignore_ascii_case(&self.authority));
        if !host_ok {
            return page(StatusCode::MISDIRECTED_REQUEST, Page::NotHere);
        }
        if req.uri().to_string().len() > MAX_URI {
            return page(StatusCode::URI_TOO_LONG, Page::NotHere);
        }
        let path = req.uri().path();
        let is_start = constant_time_eq(path, &self.start_path);
        if path != self.path && !is_start {
            return page(StatusCode::NOT_FOUND, Page::NotHere);
        }
        if req.method() != Method::GET {
            let mut resp = page(StatusCode::METHOD_NOT_ALLOWED, Page::NotHere);
            resp.headers_mut()
                .insert("allow", HeaderValue::from_static("GET"));
            return resp;
        }
        if is_start {
            if self.start_used.swap(true, Ordering::SeqCst) {
                // The browser's command line is readable by other local users: a second
                // fetch means someone raced it. Whoever it was, stop the login.
                self.done(Err(LoopbackError::StartRaced)).await;
                return page(StatusCode::GONE, Page::NotHere);
            }
            return redirect(&self.authorize_url);
        }
        self.callback(req.uri().query().unwrap_or("")).await
    }

    async fn callback(&self, query: &str) -> Response<Full<Bytes>> {
        let Some(params) = parse_callback_query(query) else {
            // A repeated parameter is ambiguous: refuse it rather than guess.
            self.warn("ignored a callback with a repeated parameter; still waiting")
                .await;
            return page(StatusCode::BAD_REQUEST, Page::Stray);
        };
        let state_ok = params
            .state
            .as_deref()
            .is_some_and(|s| constant_time_eq(s, self.expect.state.expose()));
        if !state_ok {
            self.warn("ignored a request to the callback with a wrong or missing state (not from this login); still waiting")
                .await;
            return page(StatusCode::BAD_REQUEST, Page::Stray);
        }
        match (&params.iss, self.expect.iss_required) {
            (Some(iss), _) if iss != &self.expect.issuer => {
                let err = LoopbackError::IssuerMismatch {
                    expected: self.expect.issuer.clone(),
                    found: sanitize(iss),
                };
                self.done(Err(err)).await;
                return page(
                    StatusCode::BAD_REQUEST,
                    Page::Failed("issuer mismatch".into()),
                );
            }
            (None, true) => {
                let err = LoopbackError::IssuerMismatch {
                    expected: self.expect.issuer.clone(),
                    found: "(none: the provider advertises RFC 9207 but sent no iss)".into(),
                };
                self.done(Err(err)).await;
                return page(
                    StatusCode::BAD_REQUEST,
                    Page::Failed("issuer missing".into()),
                );
            }
            _ => {}
        }
        if let Some(error) = params.error {
            let error = sanitize(&error);
            let description = params.error_description.map(|d| sanitize(&d));
            let shown = match &description {
                Some(d) => format!("{error}: {d}"),
                None => error.clone(),
            };
            self.done(Err(LoopbackError::Refused { error, description }))
                .await;
            return page(StatusCode::OK, Page::Failed(shown));
        }
        match params.code.filter(|c| !c.is_empty()) {
            Some(code) => {
                let (tx, rx) = oneshot::channel();
                let callback = Callback {
                    code: AuthorizationCode::new(code),
                    iss: params.iss,
                };
                let _ = self
                    .outcome
                    .send(Outcome::Done(Ok(callback), Some(tx)))
                    .await;
                match tokio::time::timeout(VERDICT_TIMEOUT, rx).await {
                    Ok(Ok(Ok(()))) => page(StatusCode::OK, Page::Success),
                    Ok(Ok(Err(why))) => page(StatusCode::OK, Page::Incomplete(why)),
                    _ => page(StatusCode::OK, Page::Received),
                }
            }
            None => {
                self.warn("ignored a callback with neither a code nor an error; still waiting")
                    .await;
                page(StatusCode::BAD_REQUEST, Page::Stray)
            }
        }
    }

    async fn warn(&self, msg: &str) {
        let _ = self.outcome.send(Outcome::Warning(msg.to_string())).await;
    }

    async fn done(&self, result: Result<Callback, LoopbackError>) {
        let _ = self.outcome.send(Outcome::Done(result, None)).await;
    }
}

/// The callback's parameters from its query string; `None` if one of them is repeated.
fn parse_callback_query(query: &str) -> Option<CallbackParams> {
    let mut params = CallbackParams::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.as_ref() {
            "code" => &mut params.code,
            "state" => &mut params.state,
            "error" => &mut params.error,
            "error_description" => &mut params.error_description,
            "iss" => &mut params.iss,
            _ => continue,
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(value.into_owned());
    }
    Some(params)
}

/// For `fuzz/`: runs the callback query parser; whether the query was unambiguous.
#[doc(hidden)]
pub fn fuzz_callback_query(query: &str) -> bool {
    parse_callback_query(query).is_some()
}

#[derive(Default)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

enum Page {
    Success,
    /// The provider refused (its error, escaped).
    Failed(String),
    /// authcli could not complete the login (why, escaped).
    Incomplete(String),
    /// The code arrived but the outcome is not known to this page.
    Received,
    Stray,
    NotHere,
}

fn page(status: StatusCode, kind: Page) -> Response<Full<Bytes>> {
    let (title, body) = match kind {
        Page::Success => (
            "Signed in",
            "<h1>You are signed in</h1><p>authcli has your sign-in. You can close this tab and return to the terminal.</p>".to_string(),
        ),
        Page::Failed(detail) => (
            "Sign-in failed",
            format!(
                "<h1>Sign-in failed</h1><p>The provider answered: <code>{}</code></p><p>Return to the terminal for what to do next.</p>",
                crate::html::escape(&detail)
            ),
        ),
        Page::Incomplete(detail) => (
            "Sign-in not completed",
            format!(
                "<h1>Sign-in not completed</h1><p>authcli received the response but could not complete the sign-in: <code>{}</code></p><p>Return to the terminal for what to do next.</p>",
                crate::html::escape(&detail)
            ),
        ),
        Page::Received => (
            "Response received",
            "<h1>Response received</h1><p>authcli has the response. Return to the terminal to see how the sign-in ended.</p>".to_string(),
        ),
        Page::Stray => (
            "Not for this login",
            "<h1>This response does not belong to the waiting login</h1><p>authcli ignored it and is still waiting. Finish the sign-in from the link the terminal printed.</p>".to_string(),
        ),
        Page::NotHere => ("Not found", "<h1>Nothing here</h1>".to_string()),
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title} · authcli</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}}h1{{font-size:1.4rem}}code{{background:#f2f2f2;padding:.1rem .3rem}}</style></head><body><main>{body}</main></body></html>"
    );
    let mut resp = Response::new(Full::new(Bytes::from(html)));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn redirect(location: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(LOCATION, value);
    }
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_fixed_port_falls_back_to_next() {
        let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = blocker.local_addr().unwrap().port();
        let spec = RedirectSpec {
            ports: vec![busy, 0],
            ..RedirectSpec::default()
        };
        let listener = LoopbackListener::bind(&spec).unwrap();
        assert_ne!(listener.port(), busy);
        let only_busy = RedirectSpec {
            ports: vec![busy],
            ..RedirectSpec::default()
        };
        let err = LoopbackListener::bind(&only_busy).unwrap_err();
        assert!(err.to_string().contains(&busy.to_string()), "{err}");
        assert_eq!(err.exit_code(), ExitCode::Other);
    }

    #[test]
    fn the_fuzz_entry_reports_whether_the_query_is_unambiguous() {
        assert!(fuzz_callback_query("code=a&state=b&other=1&other=2"));
        assert!(!fuzz_callback_query("code=a&state=b&code=c"));
    }
}
