//! What changes while the mock tenant runs: codes, refresh-token families, device codes,
//! issued access tokens, the mock clock, the random source and the request log.
//!
//! Everything here is plain data behind one mutex held for microseconds; nothing in this
//! module signs, blocks or does I/O, so the lock is never held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Everything the handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The address the server listens on, which every request's `Host` must name.
    pub addr: std::net::SocketAddr,
    pub tenant: super::tenant::TenantConfig,
    pub flavor: super::Flavor,
    /// `http://127.0.0.1:PORT/` (auth0 flavor) or without the slash (rfc flavor).
    pub issuer: String,
    /// `http://127.0.0.1:PORT`, for endpoint URLs.
    pub base: String,
    pub control_token: String,
    pub interactive: bool,
    pub verbose: u8,
    pub keys: Arc<super::keys::Keys>,
    pub clock: Clock,
    pub rng: Randomness,
    pub state: Mutex<State>,
    pub log: Mutex<RequestLog>,
    pub faults: Mutex<super::faults::FaultBook>,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the state is plain
/// data, and a test server that stops answering helps nobody.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An `/authorize` request waiting for the user's choices in interactive mode.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub csrf: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scope: Vec<String>,
    pub audience: Option<String>,
    pub code_challenge: Option<String>,
    /// Set once the user has picked an account.
    pub user_id: Option<String>,
    pub created_at: i64,
}

/// Time as the mock sees it: the wall clock plus what `POST /__mock/clock` added.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Milliseconds since the Unix epoch on the mock clock.
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        wall.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Seconds since the Unix epoch on the mock clock, as JWT claims want them.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    pub fn advance_secs(&self, secs: i64) {
        self.offset_ms
            .fetch_add(secs.saturating_mul(1000), Ordering::Relaxed);
    }

    pub fn offset_secs(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed) / 1000
    }

    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}

/// Random values for codes, tokens and ids: the OS CSPRNG, or a seeded generator (`--seed`)
/// so that runs with the same seed and the same request sequence give the same values.
#[derive(Debug)]
pub struct Randomness {
    seeded: Option<Mutex<rand::rngs::StdRng>>,
}

impl Randomness {
    pub fn new(seed: Option<u64>) -> Self {
        Randomness {
            // Offset from the key generator's seed so codes do not repeat key material.
            seeded: seed.map(|s| Mutex::new(rand::rngs::StdRng::seed_from_u64(s ^ 0x6d6f_636b))),
        }
    }

    pub fn bytes(&self, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        match &self.seeded {
            Some(rng) => match rng.lock() {
                Ok(mut rng) => rng.fill_bytes(&mut out),
                Err(poisoned) => poisoned.into_inner().fill_bytes(&mut out),
            },
            None => {
                let s = crate::secret::random_urlsafe(n);
                out = URL_SAFE_NO_PAD.decode(s).unwrap_or(out);
            }
        }
        out
    }

    /// `n` random bytes, base64url.
    pub fn token(&self, n: usize) -> String {
        URL_SAFE_NO_PAD.encode(self.bytes(n))
    }

    /// An Auth0-style user code: 8 letters from a vowel-free alphabet, `XXXX-XXXX`.
    pub fn user_code(&self) -> String {
        const BASE20: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
        let letters: String = self
            .bytes(8)
            .into_iter()
            .map(|b| char::from(BASE20[usize::from(b) % BASE20.len()]))
            .collect();
        format!("{}-{}", &letters[..4], &letters[4..])
    }
}

/// An issued authorization code, waiting for its exchange.
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    /// `None` when `/authorize` got no `redirect_uri`; then the exchange must not send one.
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub scope: Vec<String>,
    pub audience: Option<String>,
    pub nonce: Option<String>,
    pub user_id: String,
    pub sid: String,
    pub issued_at: i64,
}

/// What the token endpoint needs to mint tokens for a user.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub user_id: String,
    pub scope: Vec<String>,
    pub audience: Option<String>,
    pub sid: String,
}

/// A refresh-token family: one login's chain of rotated refresh tokens.
#[derive(Debug, Clone)]
pub struct Family {
    pub grant: Grant,
    pub rotation: bool,
    pub revoked: bool,
    /// Absolute end of the family (rotation does not extend it).
    pub expires_at: i64,
    /// The one refresh token that may be used now.
    pub current: String,
}

/// A device authorization in progress.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    pub client_id: String,
    pub scope: Vec<String>,
    pub audience: Option<String>,
    pub expires_at: i64,
    pub interval_secs: u64,
    pub last_poll_ms: Option<i64>,
    pub polls: u32,
    pub decision: DeviceDecision,
    /// `expired_token` is answered once, then `invalid_grant` (as Auth0 does).
    pub expiry_reported: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceDecision {
    Pending,
    Approved {
        user_id: String,
    },
    Denied,
    /// Tokens were issued; the device code is spent.
    Used,
}

/// An access token the mock issued to a user, for `/userinfo`.
#[derive(Debug, Clone)]
pub struct IssuedAccess {
    pub user_id: String,
    pub scope: Vec<String>,
    pub expires_at: i64,
}

/// All mutable protocol state.
#[derive(Debug, Default)]
pub struct State {
    pub codes: HashMap<String, AuthCode>,
    /// Codes already exchanged (or tried), with the family they started, for reuse handling.
    pub spent_codes: HashMap<String, Option<u64>>,
    pub families: HashMap<u64, Family>,
    /// Every refresh token ever issued → its family.
    pub refresh_tokens: HashMap<String, u64>,
    pub next_family: u64,
    pub devices: HashMap<String, DeviceAuth>,
    /// User code → device code.
    pub user_codes: HashMap<String, String>,
    pub access_tokens: HashMap<String, IssuedAccess>,
    /// Interactive mode: pending `/authorize` transactions by id.
    pub transactions: HashMap<String, Transaction>,
    /// `private_key_jwt`: `(client_id, jti)` of assertions already accepted → their `exp`,
    /// to refuse replays until they expire.
    pub assertion_jtis: HashMap<(String, String), i64>,
}

impl State {
    /// Revokes a family and forgets its access to refresh.
    pub fn revoke_family(&mut self, family: u64) {
        if let Some(f) = self.families.get_mut(&family) {
            f.revoked = true;
        }
    }
}

/// One request as the control API and `MockTenant::requests` report it. Secret values are
/// replaced by `"***"`; their keys stay, so a test can assert a parameter was sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Selected headers, lower-case names; `authorization` keeps its scheme (`Basic ***`).
    pub headers: BTreeMap<String, String>,
    /// `None` while in flight, or when a fault hung or dropped the connection.
    pub status: Option<u16>,
    /// The injected fault that answered this request, if any.
    pub fault: Option<String>,
    #[serde(skip)]
    pub(crate) seq: u64,
}

/// Parameter names whose values never appear in the log.
pub const SECRET_KEYS: &[&str] = &[
    "code",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "refresh_token",
    "access_token",
    "id_token",
    "id_token_hint",
    "token",
    "password",
    "device_code",
    "csrf",
    "mfa_token",
];

/// The masked value for `key`, or the value itself when it is not a secret.
pub fn mask(key: &str, value: &str) -> String {
    if SECRET_KEYS.contains(&key) {
        "***".into()
    } else {
        value.to_string()
    }
}

/// `Authorization: Basic abc` → `Basic ***`.
pub fn mask_authorization(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} ***"),
        None => "***".into(),
    }
}

/// The request log, in arrival order.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Vec<RecordedRequest>,
    next_seq: u64,
}

impl RequestLog {
    pub fn push(&mut self, mut entry: RecordedRequest) -> u64 {
        self.next_seq += 1;
        entry.seq = self.next_seq;
        self.entries.push(entry);
        self.next_seq
    }

    pub fn finish(&mut self, seq: u64, status: Option<u16>, fault: Option<&str>) {
        if let Some(e) = self.entries.iter_mut().rev().find(|e| e.seq == seq) {
            e.status = status;
            e.fault = fault.map(str::to_string);
        }
    }

    pub fn all(&self) -> Vec<RecordedRequest> {
        self.entries.clone()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_look_like_auth0s() {
        let code = Randomness::new(Some(7)).user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(code
            .chars()
            .all(|c| c == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(c)));
    }

    #[test]
    fn seeded_randomness_repeats_and_os_randomness_does_not() {
        assert_eq!(
            Randomness::new(Some(1)).token(16),
            Randomness::new(Some(1)).token(16)
        );
        assert_ne!(
            Randomness::new(None).token(16),
            Randomness::new(None).token(16)
        );
    }

    #[test]
    fn secrets_are_masked_and_other_values_kept() {
        assert_eq!(mask("code_verifier", "abc"), "***");
        assert_eq!(mask("state", "xyz"), "xyz");
        assert_eq!(mask_authorization("Basic Zm9vOmJhcg=="), "Basic ***");
    }
}
