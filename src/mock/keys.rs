//! Signing keys and RS256 JWTs for the mock tenant.
//!
//! Keys are RSA-2048 pairs held as parsed `aws_lc_rs::rsa::KeyPair`s, so signing never
//! re-parses a key and never goes through the `rsa` crate (RUSTSEC-2023-0071). Generating two
//! keys takes longer than the 50 ms start-up budget, so it happens on a background thread and
//! anything that signs or publishes keys awaits the result through a `watch` channel.
//! The set always has a current key (signs) and a next key (published in advance, as Auth0
//! does); after a rotation the old current key stays published as the previous key.

use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::MockError;

/// One RSA key with its JWK and `kid`.
pub struct SigningKey {
    pub kid: String,
    pair: KeyPair,
    pub jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.kid)
    }
}

impl SigningKey {
    /// Wraps a parsed key; the `kid` is the RFC 7638 thumbprint, so it is stable per key.
    pub fn new(pair: KeyPair) -> Self {
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        // RFC 7638 §3.2: members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let jwk = json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e});
        SigningKey { kid, pair, jwk }
    }

    /// A fresh RSA-2048 key from aws-lc's generator.
    pub fn generate() -> Result<Self, MockError> {
        KeyPair::generate(KeySize::Rsa2048)
            .map(Self::new)
            .map_err(|_| MockError::KeyGeneration("RSA key generation failed".into()))
    }

    /// Parses a PEM private key: PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let (label, der) = pem_decode(pem)?;
        let pair = match label.as_str() {
            "PRIVATE KEY" => KeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => KeyPair::from_der(&der),
            other => return Err(format!("expected an RSA private key, found `{other}`")),
        }
        .map_err(|e| format!("not a usable RSA private key ({e})"))?;
        if pair.public_modulus_len() < 256 {
            return Err("the RSA key is shorter than 2048 bits".into());
        }
        Ok(Self::new(pair))
    }

    /// PKCS#8 DER, for tests that want to check signatures with other libraries.
    pub fn pkcs8_der(&self) -> Option<Vec<u8>> {
        self.pair
            .as_der()
            .ok()
            .map(|d: aws_lc_rs::encoding::Pkcs8V1Der<'_>| d.as_ref().to_vec())
    }

    /// The public key as SPKI PEM (what an attacker would use as an HMAC secret).
    pub fn public_pem(&self) -> Result<String, String> {
        use aws_lc_rs::encoding::PublicKeyX509Der;
        let der: PublicKeyX509Der<'static> = self
            .pair
            .public_key()
            .as_der()
            .map_err(|_| "the public key has no DER form".to_string())?;
        let body = STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(chunk));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        Ok(pem)
    }

    /// Signs `header.payload` with RS256 and returns the compact JWT.
    pub fn sign(&self, header: &Value, claims: &Value) -> Result<String, MockError> {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| MockError::KeyGeneration("RSA signing failed".into()))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// Strips PEM armour: `(label, DER bytes)`.
fn pem_decode(pem: &str) -> Result<(String, Vec<u8>), String> {
    let mut label = None;
    let mut body = String::new();
    for line in pem.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            label = Some(rest.trim_end_matches('-').to_string());
        } else if line.starts_with("-----END ") {
            break;
        } else if label.is_some() {
            body.push_str(line);
        }
    }
    let label = label.ok_or("no `-----BEGIN …-----` line: not a PEM file")?;
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("the PEM body is not base64 ({e})"))?;
    Ok((label, der))
}

/// The published keys: `current` signs; `next` and `previous` are only published.
#[derive(Debug, Clone)]
pub struct KeySet {
    pub current: Arc<SigningKey>,
    pub next: Option<Arc<SigningKey>>,
    pub previous: Option<Arc<SigningKey>>,
}

impl KeySet {
    /// The JWKS document.
    pub fn jwks(&self) -> Value {
        let keys: Vec<&Value> = [
            Some(&self.current),
            self.next.as_ref(),
            self.previous.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|k| &k.jwk)
        .collect();
        json!({ "keys": keys })
    }
}

/// Where key generation stands.
#[derive(Debug, Clone)]
pub enum KeyState {
    Pending,
    Ready(Arc<KeySet>),
    Failed(String),
}

/// The key set as seen by the server: handlers await it, rotation replaces it.
pub struct Keys {
    tx: watch::Sender<KeyState>,
    /// The generator: with the start-up thread until it finishes, then here for rotations
    /// (a seeded generator must continue its own sequence to stay deterministic).
    source: Mutex<SourceSlot>,
}

enum SourceSlot {
    Generating(std::thread::JoinHandle<KeySource>),
    Idle(KeySource),
    Lost,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({:?})", &*self.tx.borrow())
    }
}

/// A source of new keys: the OS generator, or a seeded one for `--seed`.
pub type KeySource = Box<dyn FnMut() -> Result<SigningKey, MockError> + Send>;

impl Keys {
    /// Starts generating on a background thread; `fixed` (from `--signing-key`) becomes the
    /// current key, else one is generated. A next key is always generated.
    pub fn spawn(fixed: Option<SigningKey>, mut source: KeySource) -> Result<Arc<Keys>, MockError> {
        let (tx, _) = watch::channel(KeyState::Pending);
        let tx_thread = tx.clone();
        let handle = std::thread::Builder::new()
            .name("mock-keygen".into())
            .spawn(move || {
                let generate = || {
                    let current = match fixed {
                        Some(k) => k,
                        None => source()?,
                    };
                    let next = source()?;
                    Ok::<_, MockError>(KeySet {
                        current: Arc::new(current),
                        next: Some(Arc::new(next)),
                        previous: None,
                    })
                };
                tx_thread.send_replace(match generate() {
                    Ok(set) => KeyState::Ready(Arc::new(set)),
                    Err(e) => KeyState::Failed(e.to_string()),
                });
                source
            })
            .map_err(|e| MockError::KeyGeneration(format!("could not start a thread: {e}")))?;
        Ok(Arc::new(Keys {
            tx,
            source: Mutex::new(SourceSlot::Generating(handle)),
        }))
    }

    /// The key set, waiting for the first generation to finish.
    pub async fn ready(&self) -> Result<Arc<KeySet>, String> {
        let mut rx = self.tx.subscribe();
        let state = rx
            .wait_for(|s| !matches!(s, KeyState::Pending))
            .await
            .map_err(|_| "key generation stopped".to_string())?;
        match &*state {
            KeyState::Ready(set) => Ok(Arc::clone(set)),
            KeyState::Failed(e) => Err(e.clone()),
            KeyState::Pending => Err("key generation stopped".into()),
        }
    }

    /// Rotation without notice: a brand-new key becomes current at once (it was never in
    /// the JWKS before), current becomes previous, next stays.
    pub fn rotate_unannounced_blocking(&self) -> Result<Arc<KeySet>, MockError> {
        self.replace_with(|old, new_key| KeySet {
            current: Arc::new(new_key),
            next: old.next.clone(),
            previous: Some(Arc::clone(&old.current)),
        })
    }

    /// Rotation, blocking while a key is generated: next becomes current, current becomes
    /// previous, and a new next key is published.
    pub fn rotate_blocking(&self) -> Result<Arc<KeySet>, MockError> {
        self.replace_with(|old, new_next| KeySet {
            current: old.next.clone().unwrap_or_else(|| Arc::clone(&old.current)),
            next: Some(Arc::new(new_next)),
            previous: Some(Arc::clone(&old.current)),
        })
    }

    /// Generates one key and builds the new set from the old one and it.
    fn replace_with(
        &self,
        build: impl FnOnce(&KeySet, SigningKey) -> KeySet,
    ) -> Result<Arc<KeySet>, MockError> {
        let mut slot = self
            .source
            .lock()
            .map_err(|_| MockError::KeyGeneration("key generator poisoned".into()))?;
        let mut source = match std::mem::replace(&mut *slot, SourceSlot::Lost) {
            SourceSlot::Generating(handle) => handle
                .join()
                .map_err(|_| MockError::KeyGeneration("key generator panicked".into()))?,
            SourceSlot::Idle(source) => source,
            SourceSlot::Lost => {
                return Err(MockError::KeyGeneration("key generator unavailable".into()))
            }
        };
        let new_next = source();
        *slot = SourceSlot::Idle(source);
        let new_next = new_next?;
        let old = match &*self.tx.borrow() {
            KeyState::Ready(set) => Arc::clone(set),
            KeyState::Failed(e) => return Err(MockError::KeyGeneration(e.clone())),
            KeyState::Pending => {
                return Err(MockError::KeyGeneration("keys not generated yet".into()))
            }
        };
        let set = Arc::new(build(&old, new_next));
        self.tx.send_replace(KeyState::Ready(Arc::clone(&set)));
        Ok(set)
    }
}

/// Fixed RSA-2048 test keys for `--seed`: public knowledge, like the built-in client secret.
/// A table instead of seeded generation keeps seeded starts instant and needs no
/// pure-Rust RSA generator (slow in debug builds); the seed picks where the sequence starts.
const SEED_KEYS: &str = include_str!("seed-keys.pem");

/// The PEM blocks of a bundle, in order.
fn pem_blocks(bundle: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in bundle.lines() {
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END ") {
            blocks.push(std::mem::take(&mut current));
        }
    }
    blocks
}

/// The generator for new keys: aws-lc's from the OS RNG, or with a seed the fixed test keys
/// in a seed-determined order.
pub fn key_source(seed: Option<u64>) -> KeySource {
    let Some(seed) = seed else {
        return Box::new(SigningKey::generate);
    };
    let blocks = pem_blocks(SEED_KEYS);
    let len = blocks.len().max(1) as u64;
    let mut index = seed % len;
    Box::new(move || {
        let pem = blocks
            .get(usize::try_from(index % len).unwrap_or(0))
            .ok_or_else(|| MockError::KeyGeneration("no built-in seed keys".into()))?;
        index += 1;
        SigningKey::from_pem(pem).map_err(MockError::KeyGeneration)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_sources_repeat_and_differ_by_seed() {
        let kid = |seed, n| {
            let mut source = key_source(Some(seed));
            let mut kid = String::new();
            for _ in 0..n {
                kid = source().map(|k| k.kid).unwrap_or_default();
            }
            kid
        };
        assert_eq!(pem_blocks(SEED_KEYS).len(), 6);
        assert_eq!(kid(1, 1), kid(1, 1));
        assert_ne!(kid(1, 1), kid(2, 1));
        assert_eq!(kid(1, 2), kid(2, 1));
    }

    #[test]
    fn signatures_verify_with_the_published_key() {
        let key = key_source(Some(0))().map_err(|e| e.to_string());
        let key = key.as_ref().map_err(Clone::clone);
        let Ok(key) = key else {
            panic!("seed key loads");
        };
        let jwt = key
            .sign(
                &json!({"alg": "RS256", "kid": key.kid}),
                &json!({"sub": "x"}),
            )
            .unwrap_or_default();
        let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
            key.jwk["n"].as_str().unwrap_or_default(),
            key.jwk["e"].as_str().unwrap_or_default(),
        );
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let ok = decoding
            .ok()
            .map(|d| jsonwebtoken::decode::<Value>(&jwt, &d, &v).is_ok());
        assert_eq!(ok, Some(true));
    }
}
