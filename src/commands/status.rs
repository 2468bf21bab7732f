//! `authcli status`: the stored sessions, never their token values.

use serde_json::{json, Value};

use super::error::Error;
use crate::cli::StatusArgs;
use crate::output;
use crate::session::{self};
use crate::store::Session;

use super::{print, wants_json};

/// `authcli status`.
pub fn status(args: &StatusArgs) -> Result<u8, Error> {
    let storage = session::open_storage(args.storage)?;
    let now = output::now_unix();
    let mut rows = Vec::new();
    for entry in storage.list()? {
        let current = |s: &Session| storage.current(&s.key.profile).as_ref() == Some(&s.key);
        // Where the session really lives (files after a keychain fallback), not the flag.
        let storage_name = entry.location;
        rows.push(match entry.session {
            Ok(s) => json!({
                "profile": s.key.profile,
                "issuer": s.key.issuer,
                "client_id": s.key.client_id,
                "audience": s.key.audience,
                "subject": s.subject,
                "scopes": s.key.scopes,
                "granted_scope": s.scope,
                "grant": s.grant,
                "expires_at": s.expires_at.map(output::rfc3339),
                "expired": !s.valid_for(0, now),
                "refreshable": s.refresh_token.is_some(),
                "current": current(&s),
                "storage": storage_name,
            }),
            Err(reason) => json!({ "path": entry.path, "error": reason, "storage": storage_name }),
        });
    }
    if wants_json(args.output) {
        let text = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
        print(&format!("{text}\n"))?;
    } else if rows.is_empty() {
        output::info("No stored sessions. Run `authcli login` to create one.");
    } else {
        let mut table = String::from("PROFILE   ISSUER                                   CLIENT               AUDIENCE                       SUBJECT              EXPIRES\n");
        for r in &rows {
            if let Some(err) = r.get("error").and_then(Value::as_str) {
                table.push_str(&format!("(unusable) {err}\n"));
                continue;
            }
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
            let expires = if r["expired"] == true {
                format!("{} (expired)", s("expires_at"))
            } else {
                s("expires_at")
            };
            table.push_str(&format!(
                "{:<9} {:<40} {:<20} {:<30} {:<20} {}\n",
                s("profile"),
                s("issuer"),
                s("client_id"),
                s("audience"),
                s("subject"),
                expires
            ));
        }
        print(&table)?;
    }
    Ok(0)
}
