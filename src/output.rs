//! Everything authcli prints: data on stdout, messages for people on stderr.
//!
//! stdout carries only what was asked for (tokens in one of the SPEC §5 formats); steps,
//! warnings and traces go to stderr through [`Printer`], which honours `-q`/`-v`/`-vv`.
//! Nothing here ever prints a secret unless the user asked for it on stdout; strings that come
//! from a provider are stripped of control characters before they reach a terminal.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::cli::OutputFormat;
use crate::flow::TokenSet;

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

fn emit(level: Verbosity, prefix: &str, msg: &str) {
    if verbosity() >= level {
        // A closed stderr is not worth failing a login over.
        let _ = writeln!(std::io::stderr().lock(), "{prefix}{msg}");
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

/// An error, always shown.
pub fn error(msg: &str) {
    emit(Verbosity::Quiet, "error: ", msg);
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

/// A response body with secret values redacted, for `-vv`. Non-JSON bodies are cut short.
pub fn redact_body(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => {
            let redacted: Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| {
                    let v = match (&v, SECRET_KEYS.contains(&k.as_str())) {
                        (Value::String(s), true) => Value::String(redact_value(s)),
                        (_, true) => Value::String("[redacted]".into()),
                        _ => v,
                    };
                    (k, v)
                })
                .collect();
            Value::Object(redacted).to_string()
        }
        Ok(other) => other.to_string(),
        Err(_) => {
            let cut: String = body.chars().take(200).collect();
            sanitize(&cut)
        }
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

/// Quotes a value for a POSIX shell `export` line.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The kubectl `ExecCredential` apiVersion used when kubectl did not say (run by hand).
pub const EXEC_CREDENTIAL_V1: &str = "client.authentication.k8s.io/v1";
/// The older apiVersion, still what many kubeconfigs name (kubectl ≥ 1.11).
pub const EXEC_CREDENTIAL_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// The apiVersion to answer kubectl with: the one kubectl sends in `KUBERNETES_EXEC_INFO`
/// (it rejects an answer in any other version), else v1.
pub fn exec_credential_api_version(exec_info: Option<&str>) -> Result<&'static str, String> {
    let Some(info) = exec_info.filter(|i| !i.trim().is_empty()) else {
        return Ok(EXEC_CREDENTIAL_V1);
    };
    let info: Value = serde_json::from_str(info).map_err(|e| {
        format!("KUBERNETES_EXEC_INFO is not JSON ({e}): it is set by kubectl; unset it when running authcli by hand")
    })?;
    match info.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v == EXEC_CREDENTIAL_V1 => Ok(EXEC_CREDENTIAL_V1),
        Some(v) if v == EXEC_CREDENTIAL_V1BETA1 => Ok(EXEC_CREDENTIAL_V1BETA1),
        other => Err(format!(
            "kubectl asked for ExecCredential apiVersion {}; authcli answers {EXEC_CREDENTIAL_V1} or {EXEC_CREDENTIAL_V1BETA1}: set one of them as the exec apiVersion in the kubeconfig",
            other.map_or_else(|| "(none)".to_string(), |v| format!("`{}`", sanitize(v)))
        )),
    }
}

/// Renders tokens in one of the SPEC §5 formats (the text that goes to stdout).
pub fn render_tokens(format: OutputFormat, tokens: &TokenSet) -> Result<String, String> {
    let access = tokens.access_token.expose();
    Ok(match format {
        OutputFormat::Json => {
            let mut obj = json!({
                "access_token": access,
                "token_type": tokens.token_type,
                "expires_in": tokens.expires_in,
                "expires_at": tokens.expires_at.map(rfc3339),
                "scope": tokens.scope,
            });
            if let Some(id) = &tokens.id_token {
                obj["id_token"] = Value::String(id.expose().to_string());
            }
            if let Some(rt) = &tokens.refresh_token {
                obj["refresh_token"] = Value::String(rt.expose().to_string());
            }
            format!(
                "{}\n",
                serde_json::to_string_pretty(&obj).map_err(|e| e.to_string())?
            )
        }
        OutputFormat::Token => format!("{access}\n"),
        OutputFormat::IdToken => match &tokens.id_token {
            Some(id) => format!("{}\n", id.expose()),
            None => {
                return Err(
                    "the provider issued no id_token: ask for the `openid` scope".to_string(),
                )
            }
        },
        OutputFormat::Header => format!("Authorization: Bearer {access}\n"),
        OutputFormat::Env => {
            let mut out = format!("export AUTHCLI_ACCESS_TOKEN={}\n", shell_quote(access));
            if let Some(id) = &tokens.id_token {
                out.push_str(&format!(
                    "export AUTHCLI_ID_TOKEN={}\n",
                    shell_quote(id.expose())
                ));
            }
            if let Some(rt) = &tokens.refresh_token {
                out.push_str(&format!(
                    "export AUTHCLI_REFRESH_TOKEN={}\n",
                    shell_quote(rt.expose())
                ));
            }
            out
        }
        OutputFormat::ExecCredential => {
            let mut status = json!({ "token": access });
            if let Some(at) = tokens.expires_at {
                status["expirationTimestamp"] = Value::String(rfc3339(at));
            }
            let exec_info = std::env::var("KUBERNETES_EXEC_INFO").ok();
            let obj = json!({
                "apiVersion": exec_credential_api_version(exec_info.as_deref())?,
                "kind": "ExecCredential",
                "status": status,
            });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&obj).map_err(|e| e.to_string())?
            )
        }
    })
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
    fn control_characters_are_stripped() {
        assert_eq!(sanitize("bad\u{1b}[31mred\r"), "bad [31mred ");
    }

    #[test]
    fn shell_quoting_survives_single_quotes() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn exec_credential_echoes_the_version_kubectl_sent() {
        let info = |v: &str| {
            format!(
                r#"{{"kind":"ExecCredential","apiVersion":"{v}","spec":{{"interactive":false}}}}"#
            )
        };
        assert_eq!(exec_credential_api_version(None), Ok(EXEC_CREDENTIAL_V1));
        assert_eq!(
            exec_credential_api_version(Some("")),
            Ok(EXEC_CREDENTIAL_V1)
        );
        for v in [EXEC_CREDENTIAL_V1, EXEC_CREDENTIAL_V1BETA1] {
            assert_eq!(exec_credential_api_version(Some(&info(v))), Ok(v));
        }
        let old = exec_credential_api_version(Some(&info("client.authentication.k8s.io/v1alpha1")));
        assert!(old.unwrap_err().contains("v1alpha1"));
        assert!(exec_credential_api_version(Some("{not json")).is_err());
        assert!(exec_credential_api_version(Some(r#"{"kind":"ExecCredential"}"#)).is_err());
    }

    #[test]
    fn rfc3339_is_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
