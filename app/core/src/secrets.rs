//! The hub's encryption key and authenticated encryption of credentials at rest.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// File name of the generated key inside the data directory.
pub const KEY_FILE: &str = "secret.key";
const NONCE_LEN: usize = 24;

/// A 256-bit key. It has no `Display`, and its `Debug` prints nothing of the key.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("must be 32 bytes, written as 64 hex digits or in base64")]
    Malformed,
    #[error("could not read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("could not write {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

#[derive(Debug, thiserror::Error)]
#[error("the ciphertext could not be decrypted with this key")]
pub struct DecryptError;

/// Where the key came from, for the start-up log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    ExistingFile,
    GeneratedFile,
}

impl SecretKey {
    /// Reads a key written as 64 hex digits or as base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[i * 2..i * 2 + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| KeyError::Malformed)?
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .map_err(|_| KeyError::Malformed)?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        Ok(Self(key))
    }

    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    /// The key from `HUB_SECRET_KEY` when given, else the one kept in the data directory,
    /// generated (readable by the owner only) on first start.
    pub fn load_or_create(from_env: Option<&str>, data_dir: &Path) -> Result<(Self, KeySource), KeyError> {
        if let Some(text) = from_env {
            return Ok((Self::parse(text)?, KeySource::Environment));
        }
        let path = data_dir.join(KEY_FILE);
        let show = || path.display().to_string();
        match fs::read_to_string(&path) {
            Ok(text) => return Ok((Self::parse(&text)?, KeySource::ExistingFile)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(KeyError::Read { path: show(), source }),
        }
        let key = Self::generate();
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| KeyError::Write { path: show(), source })?;
        file.write_all(STANDARD.encode(key.0).as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(0o600)))
            .map_err(|source| KeyError::Write { path: show(), source })?;
        Ok((key, KeySource::GeneratedFile))
    }

    /// Encrypts with a fresh random nonce; the nonce is prepended to the ciphertext.
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce length cannot fail for in-memory buffers.
        let sealed = cipher.encrypt(XNonce::from_slice(&nonce), plaintext).unwrap_or_default();
        out.extend(sealed);
        out
    }

    pub fn decrypt(&self, sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        XChaCha20Poly1305::new((&self.0).into()).decrypt(XNonce::from_slice(nonce), body).map_err(|_| DecryptError)
    }
}

/// `value` sealed with what it is for and the time it was made, in URL-safe base64:
/// a message the hub puts in an address, which only the hub can read and only it
/// can have made. `purpose` (without a NUL) keeps one use's values from being opened
/// as another's: a form's typed values are never shown by a page that shows
/// failures, for one.
pub fn seal_stamped(key: &SecretKey, purpose: &str, value: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let mut plain = purpose.as_bytes().to_vec();
    plain.push(0);
    plain.extend_from_slice(&at.timestamp().to_be_bytes());
    plain.extend_from_slice(value.as_bytes());
    URL_SAFE_NO_PAD.encode(key.encrypt(&plain))
}

/// The value [`seal_stamped`] sealed in `sealed` for `purpose`, when it opens and is
/// at most `lifetime` old at `now`.
pub fn open_stamped(
    key: &SecretKey,
    purpose: &str,
    sealed: &str,
    now: chrono::DateTime<chrono::Utc>,
    lifetime: chrono::Duration,
) -> Option<String> {
    let plain = key.decrypt(&URL_SAFE_NO_PAD.decode(sealed).ok()?).ok()?;
    let rest = plain.strip_prefix(purpose.as_bytes())?.strip_prefix(&[0])?;
    let (stamp, value) = rest.split_at_checked(8)?;
    let at = chrono::DateTime::from_timestamp(i64::from_be_bytes(stamp.try_into().ok()?), 0)?;
    (at <= now && now - at <= lifetime).then(|| String::from_utf8(value.to_vec()).ok())?
}

/// A random token of 32 bytes, URL-safe, for sessions and links.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a token in hex: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A new Ed25519 key pair for a repository's deploy key, made with the `ssh-key`
/// crate (the RustCrypto implementation of the OpenSSH formats): the private half in
/// OpenSSH form (to seal), and the public half as one `authorized_keys` line with
/// `comment`.
pub fn deploy_key(comment: &str) -> Result<(String, String), String> {
    let mut key = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
        .map_err(|e| format!("cannot make a key: {e}"))?;
    key.set_comment(comment);
    let private = key.to_openssh(ssh_key::LineEnding::LF).map_err(|e| format!("cannot write the key: {e}"))?;
    let public = key.public_key().to_openssh().map_err(|e| format!("cannot write the key: {e}"))?;
    Ok((private.to_string(), public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_tampering() {
        let key = SecretKey::generate();
        let sealed = key.encrypt(b"api-key-123");
        assert!(!sealed.windows(11).any(|w| w == b"api-key-123"));
        assert_eq!(key.decrypt(&sealed).expect("decrypts"), b"api-key-123");
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(key.decrypt(&bad).is_err());
        assert!(SecretKey::generate().decrypt(&sealed).is_err());
    }

    #[test]
    fn parses_hex_and_base64_only_of_32_bytes() {
        let hex = "00".repeat(32);
        assert!(SecretKey::parse(&hex).is_ok());
        assert!(SecretKey::parse(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(SecretKey::parse(&URL_SAFE_NO_PAD.encode([7u8; 32])).is_ok());
        assert!(SecretKey::parse("short").is_err());
        assert!(SecretKey::parse(&STANDARD.encode([7u8; 31])).is_err());
    }

    #[test]
    fn generated_key_is_kept_owner_readable_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, src) = SecretKey::load_or_create(None, dir.path()).expect("created");
        assert_eq!(src, KeySource::GeneratedFile);
        let mode = fs::metadata(dir.path().join(KEY_FILE)).expect("exists").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (second, src) = SecretKey::load_or_create(None, dir.path()).expect("read");
        assert_eq!(src, KeySource::ExistingFile);
        assert_eq!(first.0, second.0);
        assert!(format!("{first:?}").len() < 20);
    }

    #[test]
    fn a_stamped_value_opens_only_for_its_purpose_and_while_fresh() {
        let key = SecretKey::generate();
        let at = chrono::Utc::now();
        let sealed = seal_stamped(&key, "form-error", "typed", at);
        let open = |purpose: &str, now| open_stamped(&key, purpose, &sealed, now, chrono::Duration::minutes(10));
        assert_eq!(open("form-error", at).as_deref(), Some("typed"));
        assert_eq!(open("connect-failure:x", at), None, "another use's value");
        assert_eq!(open("form-error", at + chrono::Duration::minutes(11)), None, "stale");
        assert_eq!(open("form-error", at - chrono::Duration::minutes(1)), None, "from the future");
        assert_eq!(
            open_stamped(&SecretKey::generate(), "form-error", &sealed, at, chrono::Duration::minutes(10)),
            None
        );
    }

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_ne!(random_token(), random_token());
    }
}
