//! The HTTP side of the mock tenant: accept loop, limits, routing, request log and faults.
//!
//! Every connection is HTTP/1 with a header-read timeout (hyper needs a timer for that), a
//! bounded header buffer and a bounded body, so a slow or hostile client cannot hold the
//! server or its memory. Each request is logged with secrets masked, checked against the
//! armed faults, and routed to the endpoint modules; the control API under `/__mock/` is
//! neither logged nor subject to faults.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_LENGTH, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::runtime::Handle;

use super::faults::{Endpoint, FaultKind, FaultSpec};
use super::http::{self as h, OAuthError, Params, Req, Resp};
use super::state::{self, lock, RecordedRequest, Shared};
use super::{control, endpoints, interactive, Flavor};

/// Largest request body accepted (larger → 413).
pub const MAX_BODY: usize = 64 * 1024;
/// Buffer for the request line and headers (larger → 431 from hyper).
pub const MAX_HEADERS: usize = 16 * 1024;
/// Time a client gets to send its headers, and then its body.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What a handler decided.
pub enum Outcome {
    Respond(Resp),
    /// Never answer (fault `hang`).
    Hang,
    /// Close the connection without an answer (fault `drop`).
    Drop,
}

impl From<Resp> for Outcome {
    fn from(r: Resp) -> Self {
        Outcome::Respond(r)
    }
}

/// Returned to hyper to make it close the connection without writing a response.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
pub struct Dropped;

/// Accepts connections until its runtime shuts down, and runs each on the next of `workers`
/// in turn, so that two busy connections never share one thread while another idles (RSA
/// signing is most of a token request's CPU).
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, workers: Vec<Handle>) {
    let mut workers = workers.into_iter().cycle();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&shared);
                let worker = workers.next().unwrap_or_else(Handle::current);
                worker.spawn(async move {
                    let svc = service_fn(move |req| handle(Arc::clone(&shared), req));
                    let mut builder = http1::Builder::new();
                    builder
                        .timer(TokioTimer::new())
                        .header_read_timeout(READ_TIMEOUT)
                        .max_buf_size(MAX_HEADERS);
                    // Errors here are the client's (reset, timeout, garbage); nothing to do.
                    let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                });
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Which fault endpoint a path belongs to; `None` for the control API and unknown paths.
fn classify(path: &str) -> Option<Endpoint> {
    Some(match path {
        "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server" => {
            Endpoint::Discovery
        }
        "/.well-known/jwks.json" => Endpoint::Jwks,
        "/authorize" => Endpoint::Authorize,
        "/oauth/token" => Endpoint::Token,
        "/oauth/device/code" => Endpoint::DeviceCode,
        "/userinfo" => Endpoint::Userinfo,
        "/oauth/revoke" => Endpoint::Revoke,
        "/v2/logout" | "/oidc/logout" => Endpoint::Logout,
        "/activate" => Endpoint::Activate,
        _ => return None,
    })
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    // DNS rebinding: a web page on a name that resolves to 127.0.0.1 reaches this server
    // with its own name in `Host`. Only requests for this address are served.
    let host = parts.headers.get(HOST).and_then(|v| v.to_str().ok());
    let addressed_here = host.is_some_and(|h| h::host_names(h, shared.addr))
        && parts
            .uri
            .authority()
            .is_none_or(|a| h::host_names(a.as_str(), shared.addr));
    if !addressed_here {
        if shared.verbose > 0 {
            eprintln!("mock-tenant: refused a request for another host (Host header mismatch)");
        }
        return Ok(OAuthError::new(
            "invalid_request",
            format!(
                "This server answers only requests for {} (the Host header names another host)",
                shared.base.trim_start_matches("http://")
            ),
        )
        .with_status(421)
        .into_response(shared.flavor));
    }
    let path = parts.uri.path().to_string();
    let query = h::parse_query(parts.uri.query());

    let body = read_body(&parts.headers, body).await;
    let req = Req {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body: body.clone().unwrap_or_default(),
    };

    if req.path.starts_with("/__mock/") || req.path == "/__mock" {
        return Ok(match body {
            Ok(_) => control::handle(&shared, &req).await,
            Err(e) => e.into_response(shared.flavor),
        });
    }

    let seq = log_start(&shared, &req);
    let (outcome, fault_name) = match body {
        Err(e) => (Outcome::Respond(e.into_response(shared.flavor)), None),
        Ok(_) => {
            let fault = classify(&req.path).and_then(|e| lock(&shared.faults).on_call(e));
            let name = fault.as_ref().map(|f| f.fault.as_str());
            (dispatch(&shared, &req, fault.as_ref()).await, name)
        }
    };
    let status = match &outcome {
        Outcome::Respond(r) => Some(r.status().as_u16()),
        Outcome::Hang | Outcome::Drop => None,
    };
    lock(&shared.log).finish(seq, status, fault_name);
    if shared.verbose > 0 {
        log_line(&req, status, fault_name, started.elapsed());
    }
    match outcome {
        Outcome::Respond(r) => Ok(r),
        Outcome::Drop => Err(Dropped),
        Outcome::Hang => std::future::pending().await,
    }
}

/// Reads the body within the size and time limits.
async fn read_body(headers: &hyper::HeaderMap, body: Incoming) -> Result<Bytes, OAuthError> {
    let too_large = || {
        OAuthError::new(
            "invalid_request",
            format!("The request body is larger than {MAX_BODY} bytes"),
        )
        .with_status(413)
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(READ_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await {
        Err(_) => Err(
            OAuthError::new("invalid_request", "The request body took too long").with_status(408),
        ),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(OAuthError::new(
            "invalid_request",
            "The request body could not be read",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// Records the request (masked) before it is answered, so a hung request is visible too.
fn log_start(shared: &Shared, req: &Req) -> u64 {
    let params = match req.body_params() {
        Ok(Params(pairs)) => pairs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(state::mask(k, v))))
            .collect(),
        Err(_) => serde_json::Map::new(),
    };
    let mut headers = std::collections::BTreeMap::new();
    for name in [
        "authorization",
        "content-type",
        "accept",
        "user-agent",
        "host",
        "dpop",
    ] {
        if let Some(v) = req.headers.get(name).and_then(|v| v.to_str().ok()) {
            let v = if name == "authorization" || name == "dpop" {
                state::mask_authorization(v)
            } else {
                v.to_string()
            };
            headers.insert(name.to_string(), v);
        }
    }
    let entry = RecordedRequest {
        method: req.method.to_string(),
        path: req.path.clone(),
        query: h::masked_map(&req.query),
        params,
        headers,
        status: None,
        fault: None,
        seq: 0,
    };
    lock(&shared.log).push(entry)
}

/// One stderr line per request for `-v`: secrets masked, no bodies.
fn log_line(req: &Req, status: Option<u16>, fault: Option<&str>, took: Duration) {
    let mut target = req.path.clone();
    if !req.query.is_empty() {
        let q: Vec<String> = h::masked_map(&req.query)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        target = format!("{target}?{}", q.join("&"));
    }
    let params = match req.body_params() {
        Ok(Params(pairs)) if !pairs.is_empty() => {
            let p: Vec<String> = h::masked_map(&pairs)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!(" [{}]", p.join(" "))
        }
        _ => String::new(),
    };
    let status = status.map_or_else(|| "no answer".to_string(), |s| s.to_string());
    let fault = fault.map(|f| format!(" (fault {f})")).unwrap_or_default();
    // Control characters from the request must not reach the terminal.
    let line: String = format!(
        "mock-tenant: {} {target}{params} -> {status}{fault} in {:.1} ms",
        req.method,
        took.as_secs_f64() * 1000.0
    )
    .chars()
    .filter(|c| !c.is_control())
    .collect();
    eprintln!("{line}");
}

/// Applies the generic faults, then routes.
async fn dispatch(shared: &Shared, req: &Req, fault: Option<&FaultSpec>) -> Outcome {
    if let Some(f) = fault {
        match f.fault {
            FaultKind::Hang => return Outcome::Hang,
            FaultKind::Drop => return Outcome::Drop,
            FaultKind::Delay => {
                tokio::time::sleep(Duration::from_millis(f.delay_ms.unwrap_or(0))).await;
            }
            FaultKind::Status => return status_fault(f).into(),
            FaultKind::Html => return html_fault(f.status.unwrap_or(502)).into(),
            FaultKind::OauthError if req.path != "/authorize" => {
                let mut e = OAuthError::new(
                    f.error.as_deref().unwrap_or("server_error"),
                    f.error_description.clone().unwrap_or_default(),
                );
                e.status = f.status;
                if let Some(secs) = f.retry_after {
                    e = e.with_header("retry-after", secs.to_string());
                }
                return e.into_response(shared.flavor).into();
            }
            _ => {}
        }
    }
    let outcome = route(shared, req, fault).await;
    match (outcome, fault.map(|f| f.fault)) {
        (Outcome::Respond(resp), Some(FaultKind::Truncate)) => Outcome::Respond(truncate(resp)),
        (other, _) => other,
    }
}

async fn route(shared: &Shared, req: &Req, fault: Option<&FaultSpec>) -> Outcome {
    let get = req.method == Method::GET || req.method == Method::HEAD;
    let post = req.method == Method::POST;
    let allowed = match (req.path.as_str(), get, post) {
        ("/.well-known/openid-configuration", true, _) => {
            return endpoints::discovery(shared, fault).into()
        }
        ("/.well-known/oauth-authorization-server", true, _) if shared.flavor == Flavor::Rfc => {
            return endpoints::discovery(shared, fault).into()
        }
        ("/.well-known/jwks.json", true, _) => return endpoints::jwks(shared).await.into(),
        ("/authorize", true, _) => return endpoints::authorize(shared, req, fault).into(),
        ("/authorize", _, true) if shared.interactive => {
            return interactive::authorize_decision(shared, req).into()
        }
        ("/oauth/token", _, true) => return endpoints::token(shared, req, fault).await.into(),
        ("/oauth/device/code", _, true) => return endpoints::device_code(shared, req).into(),
        ("/userinfo", true, _) | ("/userinfo", _, true) => {
            return endpoints::userinfo(shared, req).into()
        }
        ("/oauth/revoke", _, true) => return endpoints::revoke(shared, req).into(),
        ("/v2/logout", true, _) | ("/oidc/logout", true, _) | ("/oidc/logout", _, true) => {
            return endpoints::logout(shared, req).into()
        }
        ("/activate", true, _) | ("/activate", _, true) => {
            return endpoints::activate(shared, req).into()
        }
        ("/.well-known/openid-configuration" | "/.well-known/jwks.json", _, _) => "GET",
        ("/authorize", _, _) => "GET",
        ("/oauth/token" | "/oauth/device/code" | "/oauth/revoke", _, _) => "POST",
        ("/userinfo" | "/oidc/logout" | "/activate", _, _) => "GET, POST",
        ("/v2/logout", _, _) => "GET",
        _ => {
            return OAuthError::new("not_found", format!("No endpoint at {}", req.path))
                .with_status(404)
                .into_response(shared.flavor)
                .into()
        }
    };
    let mut resp = OAuthError::new(
        "invalid_request",
        format!("Method {} is not allowed on {}", req.method, req.path),
    )
    .with_status(405)
    .into_response(shared.flavor);
    resp.headers_mut()
        .insert("allow", HeaderValue::from_static(allowed));
    resp.into()
}

fn status_fault(f: &FaultSpec) -> Resp {
    let status = f.status.unwrap_or(503);
    let mut resp = match &f.body {
        Some(body) if body.trim_start().starts_with(['{', '[']) => {
            h::with_body(status, "application/json", body.clone())
        }
        Some(body) => h::with_body(status, "text/plain; charset=utf-8", body.clone()),
        None => h::empty(status),
    };
    if let Some(secs) = f.retry_after {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert("retry-after", v);
        }
    }
    resp
}

/// What a reverse proxy in front of a tenant answers when the tenant is down.
fn html_fault(status: u16) -> Resp {
    let reason = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let page = format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut resp = h::with_body(status, "text/html", page);
    resp.headers_mut()
        .insert("server", HeaderValue::from_static("nginx"));
    resp
}

/// Keeps the status and headers, cuts the body in half (Content-Length follows the cut, so
/// the client sees a complete response with malformed JSON).
fn truncate(resp: Resp) -> Resp {
    let (mut parts, body) = resp.into_parts();
    let full = futures_now(body);
    let half = full.slice(..full.len() / 2);
    parts.headers.remove(CONTENT_LENGTH);
    hyper::Response::from_parts(parts, http_body_util::Full::new(half))
}

/// The bytes of a `Full` body, which is always ready.
fn futures_now(body: http_body_util::Full<Bytes>) -> Bytes {
    use hyper::body::Body;
    let mut body = std::pin::pin!(body);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match body.as_mut().poll_frame(&mut cx) {
        std::task::Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}
