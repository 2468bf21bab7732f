//! Everything authcli prints: data on stdout, messages for people on stderr.
//!
//! stdout carries only what was asked for (tokens in one of the SPEC §5 formats); steps,
//! warnings and traces go to stderr through [`Printer`], which honours `-q`/`-v`/`-vv`.
//! Nothing here ever prints a secret unless the user asked for it on stdout; strings that come
//! from a provider are stripped of control characters before they reach a terminal.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// How much goes to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet = 0,
    /// What a person needs to act.
    Normal = 1,
    /// `-v`: the steps.
    Steps = 2,
    /// `-vv`: every HTTP exchange, secrets redacted.
    Trace = 3,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

/// Sets the process-wide verbosity from `-q` and the `-v` count.
pub fn set_verbosity(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        (false, 1) => Verbosity::Steps,
        (false, _) => Verbosity::Trace,
    };
    VERBOSITY.store(level as u8, Ordering::Relaxed);
}

/// The current verbosity.
pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        2 => Verbosity::Steps,
        _ => Verbosity::Trace,
    }
}

/// Whether a [`progress`] line is on screen (a message first clears it).
static PROGRESS_SHOWN: AtomicBool = AtomicBool::new(false);

fn emit(level: Verbosity, prefix: &str, msg: &str) {
    use std::io::IsTerminal;
    if verbosity() >= level {
        let mut err = std::io::stderr().lock();
        let terminal = err.is_terminal();
        if terminal && PROGRESS_SHOWN.swap(false, Ordering::Relaxed) {
            let _ = write!(err, "\r\x1b[2K");
        }
        let prefix = match prefix {
            "error: " => paint(BOLD_RED, prefix, colour(terminal)),
            "warning: " => paint(BOLD_YELLOW, prefix, colour(terminal)),
            _ => prefix.to_string(),
        };
        // A closed stderr is not worth failing a login over.
        let _ = writeln!(err, "{prefix}{msg}");
    }
}

/// ANSI styles for [`paint`].
pub const BOLD: &str = "1";
pub const BOLD_RED: &str = "1;31";
pub const BOLD_YELLOW: &str = "1;33";
pub const GREEN: &str = "32";
pub const RED: &str = "31";
pub const DIM: &str = "2";

/// Whether to colour a stream: only a terminal, and never with `NO_COLOR` set (no-color.org).
pub fn colour(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether stdout gets colour (for tables).
pub fn colour_stdout() -> bool {
    use std::io::IsTerminal;
    colour(std::io::stdout().is_terminal())
}

/// `text` in an ANSI style when `on`, else as it is.
pub fn paint(style: &str, text: &str, on: bool) -> String {
    if on {
        format!("\x1b[{style}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// A line a person needs (shown unless `-q`).
pub fn info(msg: &str) {
    emit(Verbosity::Normal, "", msg);
}

/// A warning (shown unless `-q`).
pub fn warn(msg: &str) {
    emit(Verbosity::Normal, "warning: ", msg);
}

/// A warning shown even under `-q` (where tokens end up, e.g. a keychain fallback).
pub fn warn_always(msg: &str) {
    emit(Verbosity::Quiet, "warning: ", msg);
}

/// A step of the flow (`-v`).
pub fn step(msg: &str) {
    emit(Verbosity::Steps, "* ", msg);
}

/// An HTTP exchange line (`-vv`); callers pass already-redacted text.
pub fn trace(msg: &str) {
    emit(Verbosity::Trace, "> ", msg);
}

/// Whether `-vv` tracing is on (to skip building trace strings otherwise).
pub fn tracing() -> bool {
    verbosity() >= Verbosity::Trace
}

/// A library's own words for a failure, shown after our sentence only with `-v`:
/// `"\n  cause: …"`, or nothing.
pub fn cause(detail: &str) -> String {
    if verbosity() >= Verbosity::Steps && !detail.is_empty() {
        format!("\n  cause: {}", sanitize(detail).replace('\n', " "))
    } else {
        String::new()
    }
}

/// An error, always shown.
pub fn error(msg: &str) {
    emit(Verbosity::Quiet, "error: ", msg);
}

/// A one-line status that redraws itself (countdowns): stderr terminals only, never with `-q`.
pub fn progress(msg: &str) {
    use std::io::IsTerminal;
    if verbosity() >= Verbosity::Normal && verbosity() < Verbosity::Steps {
        let mut err = std::io::stderr().lock();
        if err.is_terminal() {
            let _ = write!(err, "\r\x1b[2K{msg}");
            let _ = err.flush();
            PROGRESS_SHOWN.store(true, Ordering::Relaxed);
        }
    }
}

/// Clears the [`progress`] line.
pub fn progress_done() {
    use std::io::IsTerminal;
    let mut err = std::io::stderr().lock();
    if err.is_terminal() && PROGRESS_SHOWN.swap(false, Ordering::Relaxed) {
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

/// `text` as a QR code in Unicode half blocks, for a terminal on stderr (not with `-q`).
pub fn qr_code(text: &str) -> Option<String> {
    use std::io::IsTerminal;
    if verbosity() < Verbosity::Normal || !std::io::stderr().is_terminal() {
        return None;
    }
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// Removes control characters (ANSI escapes, CR tricks) from text a provider supplied.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect()
}

/// Keys whose values are secrets in OAuth forms and JSON bodies.
pub const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "device_code",
    "password",
    "token",
    "state",
    "nonce",
    "code_challenge",
];

/// A secret as it may appear in a trace: a JWT keeps header and claims (useful, not replayable
/// without its signature); anything else is hidden.
pub fn redact_value(value: &str) -> String {
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() == 3 && parts.iter().all(|p| !p.is_empty()) && value.starts_with("ey") {
        format!("{}.{}.[signature redacted]", parts[0], parts[1])
    } else {
        "[redacted]".to_string()
    }
}

/// A form body with secret values redacted, for `-vv`.
pub fn redact_form(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| {
            if SECRET_KEYS.contains(k) {
                format!("{k}={}", redact_value(v))
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A response body with secret values redacted, for `-vv`, at any depth. A body that is not
/// JSON is never shown: it may be a form-encoded token response or an echo of the request.
pub fn redact_body(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(value) => redact_json(value).to_string(),
        Err(_) if body.trim().is_empty() => "(empty body)".to_string(),
        Err(_) => format!(
            "({} bytes of non-JSON body, not shown: it may hold a secret)",
            body.len()
        ),
    }
}

fn redact_json(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match (v, SECRET_KEYS.contains(&k.as_str())) {
                        (Value::String(s), true) => Value::String(redact_value(&s)),
                        (_, true) => Value::String("[redacted]".into()),
                        (v, false) => redact_json(v),
                    };
                    (k, v)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_json).collect()),
        other => other,
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Unix seconds as RFC 3339 (UTC).
pub fn rfc3339(unix: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(unix)).to_string()
}

/// A duration for people: "45 s", "5 min", "23 h", "3 days".
pub fn span(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        7200..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

/// "5 min ago".
pub fn ago(secs: u64) -> String {
    format!("{} ago", span(secs))
}

/// A moment relative to `now`: "in 23 h" or "5 min ago".
pub fn relative(at: u64, now: u64) -> String {
    if at == now {
        "now".into()
    } else if at > now {
        format!("in {}", span(at - now))
    } else {
        ago(now - at)
    }
}

/// Writes data to stdout. A closed pipe (`authcli token | head -c0`) is not an error.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_keeps_claims_but_loses_signature() {
        let shown = redact_value("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.SIGNATURE");
        assert_eq!(
            shown,
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.[signature redacted]"
        );
        assert_eq!(redact_value("opaque-secret"), "[redacted]");
    }

    #[test]
    fn forms_and_bodies_are_redacted() {
        let form = redact_form(&[("grant_type", "authorization_code"), ("code", "C0DE")]);
        assert_eq!(form, "grant_type=authorization_code&code=[redacted]");
        let body = redact_body(r#"{"access_token":"AT","refresh_token":"RT","expires_in":3}"#);
        assert!(!body.contains("\"AT\"") && !body.contains("RT"), "{body}");
        assert!(body.contains("expires_in"));
    }

    #[test]
    fn nested_secrets_are_redacted_and_non_json_is_never_shown() {
        let body = redact_body(
            r#"{"data":{"access_token":"NESTED1","list":[{"refresh_token":"NESTED2"}]},"ok":1}"#,
        );
        assert!(!body.contains("NESTED"), "{body}");
        assert!(body.contains("\"ok\":1"), "{body}");
        let form = redact_body("access_token=FORMSECRET&token_type=bearer");
        assert!(!form.contains("FORMSECRET"), "{form}");
        assert!(form.contains("not shown"), "{form}");
    }

    #[test]
    fn control_characters_are_stripped() {
        assert_eq!(sanitize("bad\u{1b}[31mred\r"), "bad [31mred ");
    }

    #[test]
    fn rfc3339_is_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
