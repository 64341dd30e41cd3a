//! The share link's secrets: the token (256 random bits from the operating
//! system's CSPRNG, as 64 hex digits), its SHA-256 (all that is kept), and
//! the PIN's salted SHA-256. Pure functions but for the two that draw
//! random bytes.

use fleet::PinDigest;
use sha2::{Digest, Sha256};

/// Length of a token in hex digits (32 bytes).
pub const TOKEN_HEX_LEN: usize = 64;

/// A new link token: 32 bytes from the OS's CSPRNG, hex.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)?;
    Ok(hex(&b))
}

/// Whether `s` looks like a token (64 lowercase hex digits): anything else
/// is not looked up at all.
pub fn is_token(s: &str) -> bool {
    s.len() == TOKEN_HEX_LEN && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// The SHA-256 of a token, hex: what the log and the book keep.
pub fn token_sha256(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A PIN as kept: a random 16-byte salt and SHA-256(salt ‖ PIN).
pub fn pin_digest(pin: &str) -> Result<PinDigest, getrandom::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)?;
    let salt = hex(&salt);
    Ok(PinDigest {
        sha256: salted(&salt, pin),
        salt,
    })
}

/// Whether `pin` is the PIN behind `d` (compared in constant time).
pub fn pin_matches(d: &PinDigest, pin: &str) -> bool {
    let got = salted(&d.salt, pin);
    got.len() == d.sha256.len()
        && got
            .bytes()
            .zip(d.sha256.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn salted(salt: &str, pin: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(pin.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_hex_digits_and_differ_and_only_their_hash_is_kept() {
        let a = new_token().unwrap_or_else(|e| panic!("{e}"));
        let b = new_token().unwrap_or_else(|e| panic!("{e}"));
        assert!(is_token(&a) && is_token(&b) && a != b);
        assert!(!is_token("abc") && !is_token(&a.to_uppercase()));
        // The SHA-256 of "abc", as every implementation gives it.
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(token_sha256(&a), a);
    }

    #[test]
    fn a_pin_is_salted_and_checked() {
        let d = pin_digest("4711").unwrap_or_else(|e| panic!("{e}"));
        let e = pin_digest("4711").unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(d.sha256, e.sha256, "a salt of its own");
        assert!(pin_matches(&d, "4711"));
        assert!(!pin_matches(&d, "4712") && !pin_matches(&d, ""));
    }
}
