//! Sealing of what the shared store keeps: XChaCha20-Poly1305 with a fresh random 192-bit
//! nonce per value, the current key for sealing and the current or the previous key for
//! opening (key rotation). No I/O.
//!
//! A sealed value is `nonce (24 bytes) || ciphertext || tag (16 bytes)`. The caller's
//! associated data binds a value to where it is stored: a value copied under another key does
//! not open.

use std::fmt;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const NONCE_BYTES: usize = 24;
const KEY_BYTES: usize = 32;

/// A 256-bit sealing key. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey([u8; KEY_BYTES]);

impl SealKey {
    /// The key from its base64 text (standard alphabet, padding optional): exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<SealKey, String> {
        let text = text.trim();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| "is not base64 text".to_owned())?;
        let bytes: [u8; KEY_BYTES] = decoded.as_slice().try_into().map_err(|_| {
            format!(
                "holds {} bytes; it must hold 32 random bytes (e.g. `openssl rand -base64 32`)",
                decoded.len()
            )
        })?;
        Ok(SealKey(bytes))
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(***)")
    }
}

/// Seals with the current key; opens with the current or the previous one.
pub struct Sealer {
    current: XChaCha20Poly1305,
    previous: Option<XChaCha20Poly1305>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("previous_key", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

impl Sealer {
    pub fn new(current: &SealKey, previous: Option<&SealKey>) -> Sealer {
        let cipher = |key: &SealKey| XChaCha20Poly1305::new(&key.0.into());
        Sealer {
            current: cipher(current),
            previous: previous.map(cipher),
        }
    }

    /// `plaintext` sealed with the current key, bound to `associated`.
    pub fn seal(&self, associated: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let nonce = XNonce::from(nonce);
        let sealed = self
            .current
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: associated,
                },
            )
            .expect("XChaCha20-Poly1305 seals any message shorter than 256 GiB");
        let mut value = Vec::with_capacity(NONCE_BYTES + sealed.len());
        value.extend_from_slice(&nonce);
        value.extend_from_slice(&sealed);
        value
    }

    /// The plaintext of `value`, or `None` when neither key opens it (another key, an altered
    /// value, or a value that belongs under another key).
    pub fn open(&self, associated: &[u8], value: &[u8]) -> Option<Vec<u8>> {
        if value.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, sealed) = value.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).ok()?;
        let payload = || Payload {
            msg: sealed,
            aad: associated,
        };
        self.current
            .decrypt(&nonce, payload())
            .ok()
            .or_else(|| self.previous.as_ref()?.decrypt(&nonce, payload()).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SealKey {
        SealKey([byte; KEY_BYTES])
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        let text = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(SealKey::from_base64(&text), Ok(key(7)));
        assert_eq!(SealKey::from_base64(text.trim_end_matches('=')), Ok(key(7)));
        assert_eq!(
            SealKey::from_base64(&format!(" {text}\n")),
            Ok(key(7)),
            "a trailing newline from a file or a shell is fine"
        );
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        assert!(SealKey::from_base64(&short)
            .unwrap_err()
            .contains("holds 16 bytes"));
        assert_eq!(
            SealKey::from_base64("not base64!").unwrap_err(),
            "is not base64 text"
        );
        assert_eq!(format!("{:?}", key(7)), "SealKey(***)");
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_associated_data() {
        let sealer = Sealer::new(&key(1), None);
        let value = sealer.seal(b"here", b"the session");
        assert!(!value.windows(11).any(|w| w == b"the session"));
        assert_eq!(
            sealer.open(b"here", &value).as_deref(),
            Some(&b"the session"[..])
        );
        assert_eq!(sealer.open(b"elsewhere", &value), None);
        assert_eq!(Sealer::new(&key(2), None).open(b"here", &value), None);
        for at in [0, NONCE_BYTES, value.len() - 1] {
            let mut altered = value.clone();
            altered[at] ^= 1;
            assert_eq!(sealer.open(b"here", &altered), None, "byte {at} altered");
        }
        assert_eq!(sealer.open(b"here", &value[..NONCE_BYTES + 3]), None);
        assert_eq!(sealer.open(b"here", b""), None);
        assert_ne!(
            sealer.seal(b"here", b"the session"),
            value,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn rotation_opens_old_values_and_seals_new_ones_with_the_new_key() {
        let old = Sealer::new(&key(1), None);
        let sealed_before = old.seal(b"k", b"before");
        let rotated = Sealer::new(&key(2), Some(&key(1)));
        assert_eq!(
            rotated.open(b"k", &sealed_before).as_deref(),
            Some(&b"before"[..])
        );
        let sealed_after = rotated.seal(b"k", b"after");
        assert_eq!(
            old.open(b"k", &sealed_after),
            None,
            "sealed with the new key"
        );
        assert_eq!(
            Sealer::new(&key(2), None)
                .open(b"k", &sealed_after)
                .as_deref(),
            Some(&b"after"[..])
        );
    }
}
