//! The JWKS cache: the issuer's signing keys, shared by `verify` and the id_token checks of
//! login and refresh (SPEC §9).
//!
//! One entry per JWKS URL under the cache directory (`$AUTHCLI_HOME/cache/jwks` when
//! `AUTHCLI_HOME` is set, else the platform cache dir): a hashed file name, mode 0600 in a
//! 0700 directory, written atomically (temp file, fsync, rename). An entry is fresh for the
//! answer's `Cache-Control: max-age`, at most a day. A token whose `kid` the cached set does
//! not list triggers one refetch, never more (a provider that rotates its key just before
//! signing still works, and a token with a made-up `kid` cannot make authcli hammer the
//! issuer). A stale entry is used only when the issuer cannot be reached, with a warning.
//! This module never decides whether a token is valid: `jwt` does.

use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::Header;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::http::{HttpClient, HttpError};
use crate::jwt::{self, JwtError};
use crate::output;

/// The longest an entry stays fresh, whatever the provider says.
pub const MAX_LIFETIME_SECS: u64 = 86_400;

/// Where a key set came from during this check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Fetched from the issuer just now.
    Fetched,
    /// A fresh cache entry.
    Cached,
    /// An expired cache entry, used because the issuer is unreachable.
    Stale,
}

/// A key set and where it came from.
#[derive(Debug, Clone)]
pub struct Jwks {
    pub set: JwkSet,
    pub origin: Origin,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    url: String,
    fetched_at: u64,
    expires_at: u64,
    jwks: Value,
}

/// The cache directory: `$AUTHCLI_HOME/cache/jwks`, else the platform cache dir.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("AUTHCLI_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home).join("cache").join("jwks"));
    }
    directories::ProjectDirs::from("", "", "authcli").map(|d| d.cache_dir().join("jwks"))
}

/// The entry's file: a hash of the URL, so no URL text reaches the file system.
fn entry_path(dir: &Path, url: &Url) -> PathBuf {
    let hex = crate::hex::sha256(url.as_str().as_bytes());
    dir.join(format!("{}.json", &hex[..32]))
}

/// Seconds an answer may be kept: `max-age` bounded to a day; `no-store`/`no-cache` or no
/// header mean "not fresh" (the copy is still kept for when the issuer is down).
pub fn max_age(cache_control: Option<&str>) -> u64 {
    let Some(cc) = cache_control else { return 0 };
    let mut age = 0;
    for directive in cc.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return 0;
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            age = v.trim_matches('"').parse::<u64>().unwrap_or(0);
        }
    }
    age.min(MAX_LIFETIME_SECS)
}

fn load(url: &Url) -> Option<Entry> {
    let path = entry_path(&cache_dir()?, url);
    let text = std::fs::read_to_string(&path).ok()?;
    let entry: Entry = serde_json::from_str(&text).ok()?;
    (entry.url == url.as_str()).then_some(entry)
}

fn save(url: &Url, doc: &Value, lifetime: u64, now: u64) {
    let Some(dir) = cache_dir() else { return };
    let entry = Entry {
        url: url.to_string(),
        fetched_at: now,
        expires_at: now.saturating_add(lifetime),
        jwks: doc.clone(),
    };
    prune(&dir);
    if let Err(e) = write_atomically(&dir, &entry_path(&dir, url), &entry) {
        output::step(&format!(
            "could not cache the JWKS in {}: {e}",
            dir.display()
        ));
    }
}

/// Entries untouched for a week belong to issuers no longer used (a mock tenant's random
/// port, an old tenant): drop them so the directory does not grow without bound.
fn prune(dir: &Path) {
    const UNUSED: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > UNUSED);
        if old && entry.path().extension().is_some_and(|x| x == "json") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn write_atomically(dir: &Path, path: &Path, entry: &Entry) -> std::io::Result<()> {
    use std::io::Write;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.{:x}.tmp",
        path.file_stem().and_then(|s| s.to_str()).unwrap_or("jwks"),
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(&serde_json::to_vec(entry).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The usable keys of a JWKS document (a `keys` array; unknown key types are skipped).
pub fn parse_set(source: &str, doc: &Value) -> Result<JwkSet, JwtError> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| JwtError::Jwks {
            url: source.to_string(),
            detail: "no `keys` array".into(),
        })?;
    let keys = keys
        .iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .collect();
    Ok(JwkSet { keys })
}

/// A JWKS (or a single JWK) from a file, for offline checks (`--jwks-file`); never cached.
pub fn from_file(path: &Path) -> Result<JwkSet, JwtError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| JwtError::Jwks {
        url: shown.clone(),
        detail: e.to_string(),
    })?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| JwtError::Jwks {
        url: shown.clone(),
        detail: format!("not JSON: {e}"),
    })?;
    if doc.get("kty").is_some() {
        let jwk: Jwk = serde_json::from_value(doc).map_err(|e| JwtError::Jwks {
            url: shown.clone(),
            detail: format!("not a JWK: {e}"),
        })?;
        return Ok(JwkSet { keys: vec![jwk] });
    }
    parse_set(&shown, &doc)
}

/// Fetches the JWKS now and caches it for its HTTP lifetime.
pub async fn fetch(http: &HttpClient, url: &Url) -> Result<Jwks, JwtError> {
    output::step(&format!("fetching the JWKS at {url}"));
    let now = output::now_unix();
    let raw = http.get_raw("JWKS", url).await?;
    if (300..400).contains(&raw.status) {
        return Err(JwtError::Jwks {
            url: url.to_string(),
            detail: format!("redirected (HTTP {}); pass the final URL", raw.status),
        });
    }
    let doc = crate::http::parse_json_body("JWKS", url, raw.status, &raw.body)?;
    let set = parse_set(url.as_str(), &doc)?;
    save(url, &doc, max_age(raw.header("cache-control")), now);
    Ok(Jwks {
        set,
        origin: Origin::Fetched,
    })
}

/// Whether a failed fetch means the issuer could not be reached (then a stale copy may do).
fn unreachable(e: &JwtError) -> bool {
    match e {
        JwtError::Http(HttpError::Unreachable { .. } | HttpError::Timeout { .. }) => true,
        JwtError::Http(HttpError::Status { status, .. }) => *status >= 500,
        _ => false,
    }
}

/// The key set for `url`: a fresh cache entry, else fetched; a stale entry only when the
/// issuer is unreachable.
pub async fn get(http: &HttpClient, url: &Url) -> Result<Jwks, JwtError> {
    let now = output::now_unix();
    let entry = load(url);
    if let Some(entry) = &entry {
        if entry.expires_at > now {
            if let Ok(set) = parse_set(url.as_str(), &entry.jwks) {
                output::step(&format!(
                    "using the cached JWKS of {url} (fresh for {} s more)",
                    entry.expires_at - now
                ));
                return Ok(Jwks {
                    set,
                    origin: Origin::Cached,
                });
            }
        }
    }
    match fetch(http, url).await {
        Ok(jwks) => Ok(jwks),
        Err(e) if unreachable(&e) => {
            let stale = entry.and_then(|entry| {
                parse_set(url.as_str(), &entry.jwks)
                    .ok()
                    .map(|set| (set, entry.fetched_at))
            });
            match stale {
                Some((set, fetched_at)) => {
                    output::warn(&format!(
                        "the JWKS at {url} cannot be fetched ({}); using the copy cached {} ago",
                        e.to_string().lines().next().unwrap_or_default(),
                        crate::output::ago(now.saturating_sub(fetched_at))
                    ));
                    Ok(Jwks {
                        set,
                        origin: Origin::Stale,
                    })
                }
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// The key for a token's header, from the cache or the issuer; an unknown `kid` in a set
/// that was not fetched during this check triggers exactly one refetch.
pub async fn key_for(
    http: &HttpClient,
    url: &Url,
    what: &'static str,
    header: &Header,
) -> Result<Jwk, JwtError> {
    let jwks = get(http, url).await?;
    match jwt::select_key(what, &jwks.set, header) {
        Ok(key) => Ok(key.clone()),
        Err(JwtError::UnknownKey { .. }) if jwks.origin != Origin::Fetched => {
            output::step("the token's key is not in the cached JWKS: fetching it once more");
            let again = fetch(http, url).await?;
            jwt::select_key(what, &again.set, header).cloned()
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_bounded_and_no_store_wins() {
        assert_eq!(max_age(Some("public, max-age=600")), 600);
        assert_eq!(max_age(Some("max-age=999999")), MAX_LIFETIME_SECS);
        assert_eq!(max_age(Some("no-store, max-age=60")), 0);
        assert_eq!(max_age(Some("public")), 0);
        assert_eq!(max_age(None), 0);
        assert_eq!(max_age(Some("max-age=junk")), 0);
    }

    #[test]
    fn entry_names_hide_the_url() {
        let url = Url::parse("https://tenant.example/.well-known/jwks.json").unwrap();
        let path = entry_path(Path::new("/x"), &url);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(name.len(), 32 + ".json".len());
        assert!(!name.contains("tenant"));
    }
}
