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
                // A client-credentials session is renewed by running its grant again.
                "refreshable": s.refresh_token.is_some()
                    || s.grant == crate::store::GrantKind::ClientCredentials,
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
        print(&table(&rows, now, output::colour_stdout()))?;
    }
    Ok(0)
}

/// The sessions for people: `*` marks each profile's current session; expiry is absolute and
/// relative ("in 23 h", "expired 5 min ago"); colour only when `colour`.
fn table(rows: &[Value], now: u64, colour: bool) -> String {
    use output::{paint, BOLD, DIM, GREEN, RED};
    let mut table = paint(
        BOLD,
        &format!(
            "  {:<9} {:<40} {:<20} {:<30} {:<20} EXPIRES",
            "PROFILE", "ISSUER", "CLIENT", "AUDIENCE", "SUBJECT"
        ),
        colour,
    );
    table.push('\n');
    for r in rows {
        if let Some(err) = r.get("error").and_then(Value::as_str) {
            table.push_str(&paint(RED, &format!("  (unusable) {err}"), colour));
            table.push('\n');
            continue;
        }
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
        let expires_at = r
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(|t| humantime::parse_rfc3339(t).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        let expires = match expires_at {
            Some(at) if r["expired"] == true => paint(
                RED,
                &format!(
                    "{} (expired {})",
                    s("expires_at"),
                    output::ago(now.saturating_sub(at))
                ),
                colour,
            ),
            Some(at) => paint(
                GREEN,
                &format!("{} ({})", s("expires_at"), output::relative(at, now)),
                colour,
            ),
            None => paint(DIM, "-", colour),
        };
        let mark = if r["current"] == true { "*" } else { " " };
        table.push_str(&format!(
            "{mark} {:<9} {:<40} {:<20} {:<30} {:<20} {}\n",
            s("profile"),
            s("issuer"),
            s("client_id"),
            s("audience"),
            s("subject"),
            expires
        ));
    }
    table.push_str("(* the current session of its profile)\n");
    table
}
