//! One function per subcommand: wire config, flows, the session store and output together.
//!
//! Commands that can be answered from the session store (`token` on a cache hit, `status`)
//! stay synchronous; an async runtime and an HTTP client are started only when a command has
//! to talk to the provider.

pub mod decode;
pub mod demo;
pub mod doctor;
pub mod error;
pub mod exec;
pub mod login;
pub mod logout;
pub mod refresh;
pub mod status;
pub mod token;
pub mod userinfo;
pub mod verify;

pub use demo::demo;
pub use exec::exec;
pub use login::login;
pub use logout::logout;
pub use refresh::refresh;
pub use status::status;
pub use token::token;
pub use userinfo::userinfo;

use std::io::IsTerminal;

use crate::cli::{OutputFormat, ProviderArgs, ReportFormat};
use crate::config::Profile;
use crate::flow::TokenSet;
use crate::output;
use crate::session::{self, Renewed, Wanted};
use crate::store::{LoadOutcome, Session, Storage};
use error::Error;

/// A small single-threaded runtime: the client does one thing at a time.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    output::trace("starting the async runtime");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Output {
            what: "the async runtime",
            source: e,
        })
}

pub(crate) fn print_tokens(format: OutputFormat, tokens: &TokenSet) -> Result<(), Error> {
    if format == OutputFormat::IdToken && tokens.id_token.is_none() {
        return Err(Error::NoIdToken);
    }
    let text = crate::render::render_tokens(format, tokens).map_err(Error::Format)?;
    print(&text)
}

pub(crate) fn print(text: &str) -> Result<(), Error> {
    output::write_stdout(text).map_err(|source| Error::Output {
        what: "stdout",
        source,
    })
}

/// Prints what a login or refresh obtained. On a terminal with no `-o` (SPEC §5), stderr also
/// says who signed in, at which tenant, until when, and where the session is kept, and stdout
/// leaves the refresh token out (it is stored; an explicit `-o json` prints everything).
pub(crate) fn print_obtained(
    format: Option<OutputFormat>,
    tokens: &TokenSet,
    issuer: &str,
    client_id: &str,
    kept: &str,
) -> Result<(), Error> {
    let Some(format) =
        format.or_else(|| (!std::io::stderr().is_terminal()).then_some(OutputFormat::Json))
    else {
        let mut shown = tokens.clone();
        let withheld = shown.refresh_token.take().is_some();
        output::info(&signed_in_summary(
            tokens,
            issuer,
            client_id,
            kept,
            withheld,
            output::now_unix(),
        ));
        return print_tokens(OutputFormat::Json, &shown);
    };
    print_tokens(format, tokens)
}

/// The lines [`print_obtained`] shows on a terminal.
fn signed_in_summary(
    tokens: &TokenSet,
    issuer: &str,
    client_id: &str,
    kept: &str,
    withheld: bool,
    now: u64,
) -> String {
    let claims = tokens.id_claims.clone().or_else(|| {
        let id = tokens.id_token.as_ref()?;
        crate::jwt::decode_unverified("id_token", id.expose())
            .ok()
            .map(|(_, claims)| claims)
    });
    let claim = |name: &str| {
        claims
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty())
            .map(output::sanitize)
    };
    let who = match (claim("email"), claim("name"), claim("sub")) {
        (Some(email), Some(name), Some(sub)) if name != email => format!("{email} ({name}, {sub})"),
        (Some(email), _, Some(sub)) => format!("{email} ({sub})"),
        (None, Some(name), Some(sub)) => format!("{name} ({sub})"),
        (_, _, Some(sub)) => sub,
        _ => format!(
            "client {} (no id_token, so no user)",
            output::sanitize(client_id)
        ),
    };
    let until = match tokens.expires_at {
        Some(at) => format!(
            "valid until {} ({})",
            output::rfc3339(at),
            output::relative(at, now)
        ),
        None => "valid for as long as the provider allows (it gave no lifetime)".into(),
    };
    let mut text = format!("Signed in as {who} at {issuer}\nAccess token {until}\nSession: {kept}");
    if withheld {
        text.push_str("\nThe refresh token is stored, not printed (-o json prints everything).");
    }
    text
}

/// Where a session is kept, in words, for the signed-in summary.
pub(crate) fn place_of(storage: &Storage, key: &crate::store::SessionKey) -> String {
    match storage {
        Storage::File(files) => files.session_path(key).display().to_string(),
        // Where it really went: a keychain that did not answer falls back to files.
        Storage::Keyring(keyring) => match keyring.location(key) {
            Some(crate::store::StorageKind::Keyring) => "the OS keychain".into(),
            _ => keyring.files().session_path(key).display().to_string(),
        },
        Storage::None => "not stored (--storage none)".into(),
    }
}

/// JSON unless stdout is a terminal (then a table), or as asked.
pub(crate) fn wants_json(format: Option<ReportFormat>) -> bool {
    match format {
        Some(ReportFormat::Json) => true,
        Some(ReportFormat::Table) => false,
        None => !std::io::stdout().is_terminal(),
    }
}

/// Returns a session whose access token stays valid `min_ttl` more seconds, renewing it under
/// its lock if needed. The cache hit returns before any runtime or HTTP client exists.
pub(crate) fn valid_session(
    storage: &Storage,
    wanted: &Wanted,
    profile: &Profile,
    provider_args: &ProviderArgs,
    min_ttl: u64,
    force: bool,
) -> Result<Session, Error> {
    let seen = session::require(storage, wanted)?;
    let now = output::now_unix();
    if !force && seen.valid_for(min_ttl, now) {
        return Ok(seen);
    }
    // Slow path. One process refreshes; the others wait here, then find its result.
    let _lock = storage.lock(&seen.key)?;
    let current = match storage.load(&seen.key)? {
        LoadOutcome::Found(current) => current,
        _ => seen.clone(),
    };
    let rotated_meanwhile = current.access_token != seen.access_token;
    if current.valid_for(min_ttl, now) && (!force || rotated_meanwhile) {
        output::step("another process renewed the session meanwhile");
        return Ok(current);
    }
    let provider = session::provider_for(&current, provider_args, profile)?;
    let renewed = runtime()?.block_on(session::renew(storage, &current, &provider))?;
    match renewed {
        Renewed::Refreshed(fresh) => {
            session::save(storage, &fresh)?;
            Ok(fresh)
        }
        Renewed::Adopted(stored) => Ok(stored),
    }
}

/// The session a command's options select, renewed if it must be.
pub(crate) fn selected_session(
    args: &crate::cli::SessionArgs,
    min_ttl: u64,
    force: bool,
) -> Result<(Session, Profile), Error> {
    let (wanted, profile, storage) = session::select(args)?;
    let session = valid_session(&storage, &wanted, &profile, &args.provider, min_ttl, force)?;
    Ok((session, profile))
}
