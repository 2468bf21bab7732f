//! Tokens as stdout shows them: the SPEC §5 formats (`-o json|token|id-token|header|env|
//! exec-credential`).
//!
//! This is the one place a token leaves its wrapper for stdout; the stderr printer
//! (`output`) never sees one.

use serde_json::{json, Value};

use crate::cli::OutputFormat;
use crate::flow::TokenSet;
use crate::output::{rfc3339, sanitize};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
