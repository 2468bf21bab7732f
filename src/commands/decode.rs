//! `authcli decode [TOKEN|-]`: a JWT's header and claims, with no verification (SPEC §2).
//!
//! It says so every time: decoding shows what a token claims, not whether it is genuine.
//! Opaque tokens, JWEs and garbage get a one-line explanation and exit 1, never a panic.
//! Times (`iat`, `exp`, `nbf`, `auth_time`) are also shown as RFC 3339 and, on a terminal,
//! relative to now.

use std::io::{IsTerminal, Read};

use serde_json::{json, Map, Value};

use super::error::Error;
use crate::cli::{DecodeArgs, ReportFormat};
use crate::exit::ExitCode;
use crate::jwt;
use crate::output;

/// Claims that hold Unix times.
pub const TIME_CLAIMS: [&str; 4] = ["iat", "exp", "nbf", "auth_time"];

/// Why a token could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("this is an opaque token, not a JWT: only the provider can read it (Auth0 issues these when no audience is asked for: log in with --audience API to get a JWT)")]
    Opaque,
    #[error("this is an encrypted JWT (JWE, five parts): its claims can only be read with the recipient's private key")]
    Jwe,
    #[error("this is not a JWT: {0}")]
    NotJwt(String),
    #[error("no token given: pass it as an argument, or pipe it in with `-`")]
    Empty,
    #[error("could not read the token from stdin: {0}")]
    Stdin(std::io::Error),
}

impl DecodeError {
    /// Exit code of SPEC §7: a token that is not a readable JWT is "other error" (1).
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Other
    }
}

/// Reads a token from stdin (the first non-empty line; surrounding whitespace dropped).
pub fn read_stdin_token() -> Result<String, DecodeError> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .take(1024 * 1024)
        .read_to_string(&mut text)
        .map_err(DecodeError::Stdin)?;
    let token = text.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    if token.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(token.to_string())
}

/// The token from the argument, or stdin for `-` or no argument.
fn token_from(arg: Option<&str>) -> Result<String, DecodeError> {
    match arg {
        Some("-") | None => read_stdin_token(),
        Some(t) if t.trim().is_empty() => Err(DecodeError::Empty),
        Some(t) => Ok(t.trim().to_string()),
    }
}

/// What a string looks like before any JSON is parsed.
pub fn shape(token: &str) -> Result<(), DecodeError> {
    let token = token.trim();
    let parts = token.split('.').count();
    let token_chars = token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b));
    match parts {
        3 => Ok(()),
        5 if token_chars => Err(DecodeError::Jwe),
        1 if token_chars && token.len() >= 16 => Err(DecodeError::Opaque),
        n => Err(DecodeError::NotJwt(format!(
            "a JWT has three dot-separated base64url parts, this has {n}{}",
            if token_chars {
                ""
            } else {
                " and characters no token uses"
            }
        ))),
    }
}

/// Header and claims, or why not.
pub fn decode(token: &str) -> Result<(Value, Value), DecodeError> {
    shape(token)?;
    jwt::decode_unverified("token", token).map_err(|e| match e {
        jwt::JwtError::Malformed { detail, .. } => DecodeError::NotJwt(detail),
        other => DecodeError::NotJwt(other.to_string()),
    })
}

/// `{"unix": …, "rfc3339": …, "relative": …}` for each time claim present.
pub fn times(claims: &Value, now: u64) -> Map<String, Value> {
    let mut out = Map::new();
    for name in TIME_CLAIMS {
        if let Some(at) = claims.get(name).and_then(Value::as_u64) {
            out.insert(
                name.to_string(),
                json!({
                    "unix": at,
                    "rfc3339": output::rfc3339(at),
                    "relative": time_note(name, at, now),
                }),
            );
        }
    }
    out
}

/// "expired 5 min ago", "in 23 h", …
fn time_note(name: &str, at: u64, now: u64) -> String {
    match name {
        "exp" if at <= now => format!("expired {}", output::ago(now - at)),
        "exp" => format!("expires in {}", output::span(at - now)),
        "nbf" if at > now => format!("not valid for {} more", output::span(at - now)),
        _ => output::relative(at, now),
    }
}

/// Header and claims as an aligned table; times with RFC 3339 and relative notes.
pub fn table(header: &Value, claims: &Value, now: u64) -> String {
    let mut text = String::new();
    let mut section = |title: &str, value: &Value, with_times: bool| {
        text.push_str(title);
        text.push('\n');
        if let Value::Object(map) = value {
            let width = map.keys().map(String::len).max().unwrap_or(0).max(3);
            for (k, v) in map {
                let shown = match v {
                    Value::String(s) => s.clone(),
                    Value::Array(items) if items.iter().all(Value::is_string) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" "),
                    other => other.to_string(),
                };
                let mut line = format!("  {k:<width$}  {}", output::sanitize(&shown));
                if with_times && TIME_CLAIMS.contains(&k.as_str()) {
                    if let Some(at) = v.as_u64() {
                        line.push_str(&format!(
                            "  {}  ({})",
                            output::rfc3339(at),
                            time_note(k, at, now)
                        ));
                    }
                }
                text.push_str(&line);
                text.push('\n');
            }
        }
    };
    section("HEADER", header, false);
    section("CLAIMS", claims, true);
    text
}

fn wants_json(format: Option<ReportFormat>) -> bool {
    match format {
        Some(ReportFormat::Json) => true,
        Some(ReportFormat::Table) => false,
        None => !std::io::stdout().is_terminal(),
    }
}

/// `authcli decode`.
pub fn run(args: &DecodeArgs) -> Result<u8, Error> {
    let token = token_from(args.token.as_deref())?;
    let (header, claims) = decode(&token)?;
    let now = output::now_unix();
    output::info("Not verified: this shows what the token claims, not whether it is genuine (use `authcli verify`).");
    let text = if wants_json(args.output) {
        let doc = json!({
            "verified": false,
            "header": header,
            "claims": claims,
            "times": times(&claims, now),
        });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )
    } else {
        table(&header, &claims, now)
    };
    output::write_stdout(&text).map_err(|source| Error::Output {
        what: "stdout",
        source,
    })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_told_apart() {
        assert!(matches!(shape("a.b.c.d.e"), Err(DecodeError::Jwe)));
        assert!(matches!(
            shape("Zx8kQ2aLr7Vn0pWm5tYs"),
            Err(DecodeError::Opaque)
        ));
        assert!(matches!(shape("héllo wörld"), Err(DecodeError::NotJwt(_))));
        assert!(matches!(decode("a.b.c"), Err(DecodeError::NotJwt(_))));
        assert!(shape("x.y.z").is_ok());
    }

    #[test]
    fn expiry_is_described_both_ways() {
        assert_eq!(time_note("exp", 100, 400), "expired 5 min ago");
        assert_eq!(time_note("exp", 100 + 23 * 3600, 100), "expires in 23 h");
    }
}
