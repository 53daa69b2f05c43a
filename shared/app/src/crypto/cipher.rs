//! AES-256-GCM sealing of individual fields.
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use std::fmt;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("ciphertext is malformed or of an unknown version")]
    Malformed,
    #[error("ciphertext does not authenticate under this key, customer and field")]
    Unauthentic,
}

/// An unwrapped data key, ready to seal and open fields. Never printed.
#[derive(Clone)]
pub struct DataKey {
    cipher: Aes256Gcm,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<secret>)")
    }
}

fn aad(owner: &str, field: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(8 + owner.len() + field.len());
    a.extend_from_slice(b"cmp:v1\0");
    a.extend_from_slice(owner.as_bytes());
    a.push(0);
    a.extend_from_slice(field.as_bytes());
    a
}

impl DataKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        DataKey { cipher: Aes256Gcm::new(bytes.into()) }
    }

    /// Seals `plaintext` for `owner` (a customer id, or a system purpose) and `field`.
    /// Layout: version byte, 96-bit random nonce, ciphertext with the 128-bit tag.
    pub fn seal(&self, owner: &str, field: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = aad(owner, field);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad })
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, owner: &str, field: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(SealError::Malformed);
        }
        let aad = aad(owner, field);
        self.cipher
            .decrypt(Nonce::from_slice(&sealed[1..1 + NONCE_LEN]), Payload { msg: &sealed[1 + NONCE_LEN..], aad: &aad })
            .map_err(|_| SealError::Unauthentic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_fields_open_only_for_their_owner_and_field() {
        let k = DataKey::from_bytes(&[7u8; 32]);
        let sealed = k.seal("cus_a", "name", b"Zo\xc3\xab");
        assert_eq!(k.open("cus_a", "name", &sealed).unwrap(), b"Zo\xc3\xab");
        assert_eq!(k.open("cus_b", "name", &sealed), Err(SealError::Unauthentic));
        assert_eq!(k.open("cus_a", "emails", &sealed), Err(SealError::Unauthentic));
        assert_eq!(DataKey::from_bytes(&[8u8; 32]).open("cus_a", "name", &sealed), Err(SealError::Unauthentic));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(k.open("cus_a", "name", &tampered), Err(SealError::Unauthentic));
        assert_eq!(k.open("cus_a", "name", &sealed[..10]), Err(SealError::Malformed));
    }

    #[test]
    fn nonces_are_fresh() {
        let k = DataKey::from_bytes(&[1u8; 32]);
        assert_ne!(k.seal("o", "f", b"same"), k.seal("o", "f", b"same"));
    }
}
