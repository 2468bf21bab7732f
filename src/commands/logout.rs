//! `authcli logout`: delete sessions; `--revoke` also revokes the refresh token.
//!
//! Logged out already is not an error (exit 0, "not logged in" on stderr), with or without
//! `--all`. A session file that cannot be used is deleted by `logout --all` always, and by a
//! plain `logout` when it is the selected profile's current session (the only unusable file
//! that can be attributed: file names are hashes of the session key).

use super::error::Error;
use crate::cli::{LogoutArgs, ProviderArgs};
use crate::config::Profile;
use crate::http::{ClientAuth, HttpClient};
use crate::output;
use crate::session::{self};
use crate::store::{LoadOutcome, Session, Storage};

use super::runtime;

/// `authcli logout`.
pub fn logout(args: &LogoutArgs) -> Result<u8, Error> {
    let (wanted, profile, storage) = session::select(&args.session)?;
    let sessions: Vec<Session> = if args.all {
        let listed = storage.list()?;
        if listed.is_empty() {
            output::info("Not logged in: there are no stored sessions.");
            return Ok(0);
        }
        listed.into_iter().filter_map(|e| e.session.ok()).collect()
    } else {
        if delete_unusable_current(&storage, &wanted)? {
            return Ok(0);
        }
        match session::find(&storage, &wanted)? {
            Some(found) => vec![found],
            None => {
                output::info(&format!(
                    "Not logged in: no stored session matches (profile `{}`).",
                    wanted.profile
                ));
                let unusable = storage
                    .list()?
                    .iter()
                    .filter(|e| e.session.is_err())
                    .count();
                if unusable > 0 {
                    output::info(&format!(
                        "{unusable} unusable session file(s) remain: `authcli logout --all` deletes them."
                    ));
                }
                return Ok(0);
            }
        }
    };
    let mut revoke_failure = None;
    if args.revoke {
        let rt = runtime()?;
        for s in &sessions {
            if let Err(e) = rt.block_on(revoke(s, &args.session.provider, &profile)) {
                output::warn(&format!(
                    "could not revoke the refresh token at {}: {e}\n  the local session is deleted anyway; revoke it in the provider's dashboard if it matters",
                    s.key.issuer
                ));
                revoke_failure = Some(e);
            }
        }
    }
    if args.all {
        let n = storage.delete_all()?;
        output::info(&format!("Logged out: {n} session(s) deleted."));
    } else {
        for s in &sessions {
            storage.delete(&s.key)?;
            output::info(&format!(
                "Logged out of {} (client {}).",
                s.key.issuer, s.key.client_id
            ));
        }
    }
    match revoke_failure {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

/// Deletes the selected profile's current session when it is stored but unusable (corrupt,
/// readable by others…); `true` if it did.
fn delete_unusable_current(storage: &Storage, wanted: &session::Wanted) -> Result<bool, Error> {
    let Some(key) = storage
        .current(&wanted.profile)
        .filter(|k| wanted.matches(k))
    else {
        return Ok(false);
    };
    let LoadOutcome::Rejected { reason } = storage.load(&key)? else {
        return Ok(false);
    };
    storage.delete(&key)?;
    output::info(&format!(
        "Logged out of {} (client {}): deleted the unusable session ({reason}).",
        key.issuer, key.client_id
    ));
    Ok(true)
}

async fn revoke(session: &Session, args: &ProviderArgs, profile: &Profile) -> Result<(), Error> {
    let Some(refresh_token) = &session.refresh_token else {
        output::step("no refresh token to revoke");
        return Ok(());
    };
    let provider = session::provider_for(session, args, profile)?;
    let http = HttpClient::for_provider(&provider)?;
    let endpoints = session::endpoints_for(&http, session, &provider, false).await?;
    let url = endpoints
        .revocation
        .ok_or(crate::discovery::DiscoveryError::MissingEndpoint {
            what: "revocation endpoint",
            flag: "--revocation-url",
        })?;
    output::step(&format!("revoking the refresh token at {url}"));
    let form = [
        ("token", refresh_token.expose()),
        ("token_type_hint", "refresh_token"),
    ];
    http.post_empty_ok(
        "revocation endpoint",
        &url,
        &form,
        ClientAuth::None,
        &session.key.client_id,
    )
    .await?;
    output::info("Refresh token revoked at the provider.");
    Ok(())
}
