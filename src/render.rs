//! Tokens as stdout shows them: the SPEC §5 formats (`-o json|token|id-token|header|env|
//! exec-credential`).
//!
//! This is the one place a token leaves its wrapper for stdout; the stderr printer
//! (`output`) never sees one.

use serde_json::{json, Value};

use crate::cli::OutputFormat;
use crate::flow::TokenSet;
use crate::output::rfc3339;

/// Quotes a value for a POSIX shell `export` line.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
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
            let obj = json!({
                "apiVersion": "client.authentication.k8s.io/v1",
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
}
