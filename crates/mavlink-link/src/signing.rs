//! MAVLink 2 message signing (<https://mavlink.io/en/guide/message_signing.html>).
//!
//! A signed frame carries 13 more bytes: the sender's link id, a 48-bit
//! timestamp (10 µs units since 2015-01-01) and the first 6 bytes of
//! SHA-256(secret key, frame, link id, timestamp). The `mavlink` crate
//! computes the hash; this module decides what to accept and says why it
//! refused, so that both the dispatcher and the simulator can count every
//! refusal by kind instead of dropping frames silently.
//!
//! Replay protection follows the protocol: per stream (link id, system id,
//! component id) a timestamp must grow; a stream never seen before is
//! refused when its timestamp is more than a minute behind the newest one
//! accepted (or behind this machine's clock).

use std::collections::HashMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use mavlink::MAVLinkV2MessageRaw;

/// Start of the signing epoch (2015-01-01T00:00:00Z), Unix seconds.
const EPOCH_2015_S: u64 = 1_420_070_400;
/// How far behind the newest timestamp a new stream may start (one minute, in 10 µs units).
const NEW_STREAM_SLACK: u64 = 60 * 100_000;
/// Bytes a signature adds to a frame.
pub const SIGNATURE_LEN: usize = 13;
const MAX_FRAME: usize = 280;
/// Streams remembered before the table is trimmed (an attacker spraying
/// system/component/link ids must not grow memory without bound).
const MAX_STREAMS: usize = 4096;

/// A 32-byte signing key. Never printed: `Debug` shows only that it exists.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 hexadecimal digits. The error never repeats the input.
    pub fn from_hex(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.len() != 64 {
            return Err(format!(
                "a signing key is 64 hexadecimal digits (32 bytes); this one has {} characters",
                s.len()
            ));
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            };
            match (hex(chunk[0]), hex(chunk[1])) {
                (Some(h), Some(l)) => out[i] = h << 4 | l,
                _ => {
                    return Err(format!(
                        "a signing key is 64 hexadecimal digits; character {} is not one",
                        2 * i + usize::from(hex(chunk[0]).is_some()) + 1
                    ));
                }
            }
        }
        Ok(Self(out))
    }

    fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Why a frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignError {
    /// Signing is required and the frame carries no signature (or is MAVLink 1).
    Unsigned,
    /// No key is configured for the system id the frame claims.
    UnknownLink { system_id: u8, link_id: u8 },
    /// The signature does not match the key.
    BadSignature { system_id: u8, link_id: u8 },
    /// The timestamp is not newer than the last one of its stream, or a new
    /// stream starts more than a minute in the past.
    Replayed { system_id: u8, link_id: u8 },
}

impl SignError {
    /// A short name for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            SignError::Unsigned => "unsigned",
            SignError::UnknownLink { .. } => "unknown_link",
            SignError::BadSignature { .. } => "bad_signature",
            SignError::Replayed { .. } => "replayed",
        }
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Unsigned => f.write_str("unsigned frame refused: signing is required"),
            SignError::UnknownLink { system_id, link_id } => write!(
                f,
                "signed frame from system {system_id} (link id {link_id}) refused: no key for that system"
            ),
            SignError::BadSignature { system_id, link_id } => write!(
                f,
                "frame from system {system_id} (link id {link_id}) refused: wrong signature (key mismatch or forgery)"
            ),
            SignError::Replayed { system_id, link_id } => write!(
                f,
                "frame from system {system_id} (link id {link_id}) refused: replayed or stale signature timestamp"
            ),
        }
    }
}

/// Now on the signing clock (10 µs units since 2015-01-01).
pub fn now_timestamp() -> u64 {
    let us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    let since = us.saturating_sub(u128::from(EPOCH_2015_S) * 1_000_000) / 10;
    u64::try_from(since).unwrap_or(u64::MAX) & 0xFFFF_FFFF_FFFF
}

/// The signature parts of a signed frame (`frame` is the whole frame, signature included).
struct Parts {
    link_id: u8,
    timestamp: u64,
}

fn parts(frame: &[u8]) -> Option<Parts> {
    if frame.len() < 12 + SIGNATURE_LEN || frame[0] != 0xFD || frame[2] & 0x01 == 0 {
        return None;
    }
    let s = frame.len() - SIGNATURE_LEN;
    let mut ts = [0u8; 8];
    ts[..6].copy_from_slice(&frame[s + 1..s + 7]);
    Some(Parts {
        link_id: frame[s],
        timestamp: u64::from_le_bytes(ts),
    })
}

fn signature_of(key: &SecretKey, frame: &[u8]) -> Option<[u8; 6]> {
    let mut buf = MAVLinkV2MessageRaw::new().into_inner();
    buf.get_mut(..frame.len())?.copy_from_slice(frame);
    let raw = MAVLinkV2MessageRaw::from_bytes_unparsed(buf);
    let mut sig = [0u8; 6];
    raw.calculate_signature(key.bytes(), &mut sig);
    Some(sig)
}

/// Keys of a node: one per peer system id, and a default for the others.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    pub default: Option<SecretKey>,
    pub per_system: HashMap<u8, SecretKey>,
    /// Accept unsigned frames (legacy vehicles, migration). Signed frames
    /// are still verified.
    pub allow_unsigned: bool,
}

impl Keyring {
    /// One key for every link.
    pub fn single(key: SecretKey) -> Self {
        Self {
            default: Some(key),
            ..Self::default()
        }
    }

    pub fn key_for(&self, system_id: u8) -> Option<&SecretKey> {
        self.per_system.get(&system_id).or(self.default.as_ref())
    }

    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.per_system.is_empty()
    }
}

/// What a verified frame was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Signed {
        link_id: u8,
    },
    /// Unsigned, accepted because the keyring allows it.
    Unsigned,
}

/// Checks incoming frames against a keyring, with replay state.
#[derive(Debug, Default, Clone)]
pub struct Verifier {
    pub keys: Keyring,
    streams: HashMap<(u8, u8, u8), u64>,
    newest: u64,
    /// Refusals by [`SignError::kind`].
    pub refused: HashMap<&'static str, u64>,
    pub accepted_signed: u64,
}

impl Verifier {
    pub fn new(keys: Keyring) -> Self {
        Self {
            keys,
            ..Self::default()
        }
    }

    /// Verifies one whole frame (as decoded from the wire) claiming `system_id`/`component_id`.
    pub fn verify(
        &mut self,
        frame: &[u8],
        system_id: u8,
        component_id: u8,
    ) -> Result<Verified, SignError> {
        let key = self.keys.key_for(system_id).cloned();
        let r = self.check(frame, system_id, component_id, key);
        match &r {
            Ok(Verified::Signed { .. }) => self.accepted_signed += 1,
            Ok(Verified::Unsigned) => {}
            Err(e) => *self.refused.entry(e.kind()).or_default() += 1,
        }
        r
    }

    fn check(
        &mut self,
        frame: &[u8],
        system_id: u8,
        component_id: u8,
        key: Option<SecretKey>,
    ) -> Result<Verified, SignError> {
        let Some(p) = parts(frame) else {
            return if self.keys.allow_unsigned {
                Ok(Verified::Unsigned)
            } else {
                Err(SignError::Unsigned)
            };
        };
        let link_id = p.link_id;
        let Some(key) = key else {
            return Err(SignError::UnknownLink { system_id, link_id });
        };
        let (body, sig) = frame.split_at(frame.len() - 6);
        if signature_of(&key, body).is_none_or(|s| s != sig) {
            return Err(SignError::BadSignature { system_id, link_id });
        }
        let stream = (link_id, system_id, component_id);
        let newest = self.newest.max(now_timestamp());
        match self.streams.get(&stream) {
            Some(&last) if p.timestamp <= last => {
                return Err(SignError::Replayed { system_id, link_id });
            }
            None if p.timestamp + NEW_STREAM_SLACK < newest => {
                return Err(SignError::Replayed { system_id, link_id });
            }
            _ => {}
        }
        if self.streams.len() >= MAX_STREAMS && !self.streams.contains_key(&stream) {
            // Keep the busiest-looking half: the newest timestamps.
            let mut ts: Vec<u64> = self.streams.values().copied().collect();
            ts.sort_unstable();
            let cut = ts[ts.len() / 2];
            self.streams.retain(|_, t| *t >= cut);
        }
        self.streams.insert(stream, p.timestamp);
        self.newest = self.newest.max(p.timestamp);
        Ok(Verified::Signed { link_id })
    }
}

/// Signs outgoing frames: monotonic timestamps, one link id.
#[derive(Debug, Clone)]
pub struct Signer {
    pub link_id: u8,
    last: u64,
}

impl Signer {
    pub fn new(link_id: u8) -> Self {
        Self { link_id, last: 0 }
    }

    /// Signs an encoded unsigned MAVLink 2 frame: sets the signed flag,
    /// recomputes the CRC (the flag is in the header it covers) and appends
    /// link id, timestamp and signature. MAVLink 1 frames are returned as they are.
    pub fn sign(&mut self, key: &SecretKey, frame: &[u8], extra_crc: u8) -> Vec<u8> {
        if frame.len() < 12 || frame[0] != 0xFD || frame.len() + SIGNATURE_LEN > MAX_FRAME {
            return frame.to_vec();
        }
        let crc_at = frame.len() - 2;
        let mut out = Vec::with_capacity(frame.len() + SIGNATURE_LEN);
        out.extend_from_slice(&frame[..crc_at]);
        out[2] |= 0x01;
        let crc = mavlink::calculate_crc(&out[1..], extra_crc);
        out.extend_from_slice(&crc.to_le_bytes());
        self.last = (self.last + 1).max(now_timestamp());
        out.push(self.link_id);
        out.extend_from_slice(&self.last.to_le_bytes()[..6]);
        let sig = signature_of(key, &out).unwrap_or([0; 6]);
        out.extend_from_slice(&sig);
        out
    }
}

#[cfg(test)]
mod tests {
    use mavlink::Message as _;

    use super::*;
    use crate::codec::{decode_datagram, encode_v2};
    use crate::mav::{COMMAND_LONG_DATA, MavCmd, MavMessage};

    fn cmd() -> MavMessage {
        MavMessage::COMMAND_LONG(COMMAND_LONG_DATA {
            command: MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            param1: 1.0,
            target_system: 11,
            target_component: 1,
            ..Default::default()
        })
    }

    fn signed(signer: &mut Signer, key: &SecretKey) -> Vec<u8> {
        let m = cmd();
        signer.sign(
            key,
            &encode_v2(255, 190, 0, &m),
            MavMessage::extra_crc(m.message_id()),
        )
    }

    fn key(b: u8) -> SecretKey {
        SecretKey::new([b; 32])
    }

    #[test]
    fn signed_frames_decode_and_verify_once() {
        let k = key(7);
        let mut s = Signer::new(3);
        let f = signed(&mut s, &k);
        let frames = decode_datagram(&f);
        let fr = frames[0].as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fr.message, cmd());
        let mut v = Verifier::new(Keyring::single(k));
        assert_eq!(v.verify(&f, 255, 190), Ok(Verified::Signed { link_id: 3 }));
        // The same frame again is a replay.
        assert_eq!(
            v.verify(&f, 255, 190),
            Err(SignError::Replayed {
                system_id: 255,
                link_id: 3
            })
        );
        assert_eq!(v.refused.get("replayed"), Some(&1));
    }

    #[test]
    fn wrong_key_unsigned_and_unknown_system_are_refused() {
        let mut s = Signer::new(0);
        let f = signed(&mut s, &key(1));
        let mut v = Verifier::new(Keyring::single(key(2)));
        assert!(matches!(
            v.verify(&f, 255, 190),
            Err(SignError::BadSignature { .. })
        ));
        let plain = encode_v2(255, 190, 0, &cmd());
        assert_eq!(v.verify(&plain, 255, 190), Err(SignError::Unsigned));
        let mut only_11 = Verifier::new(Keyring {
            per_system: HashMap::from([(11, key(1))]),
            ..Keyring::default()
        });
        assert!(matches!(
            only_11.verify(&f, 255, 190),
            Err(SignError::UnknownLink { system_id: 255, .. })
        ));
        // A flipped signature bit.
        let mut bad = signed(&mut s, &key(2));
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(matches!(
            v.verify(&bad, 255, 190),
            Err(SignError::BadSignature { .. })
        ));
        // Unsigned frames pass only when allowed.
        v.keys.allow_unsigned = true;
        assert_eq!(v.verify(&plain, 255, 190), Ok(Verified::Unsigned));
    }

    #[test]
    fn stale_new_streams_are_replays_and_timestamps_grow() {
        let k = key(9);
        let mut s = Signer::new(0);
        let a = signed(&mut s, &k);
        let b = signed(&mut s, &k);
        let ta = parts(&a).map(|p| p.timestamp).unwrap_or(0);
        let tb = parts(&b).map(|p| p.timestamp).unwrap_or(0);
        assert!(tb > ta);
        let mut v = Verifier::new(Keyring::single(k.clone()));
        assert!(v.verify(&b, 255, 190).is_ok());
        assert!(matches!(
            v.verify(&a, 255, 190),
            Err(SignError::Replayed { .. })
        ));
        // A new stream (other link id) two minutes in the past.
        let mut old = Signer::new(5);
        let m = cmd();
        let mut f = old.sign(&k, &encode_v2(255, 190, 0, &m), MavMessage::extra_crc(76));
        let s0 = f.len() - SIGNATURE_LEN;
        let past = (now_timestamp() - 120 * 100_000).to_le_bytes();
        f[s0 + 1..s0 + 7].copy_from_slice(&past[..6]);
        let n = f.len();
        let sig = signature_of(&k, &f[..n - 6]).unwrap_or([0; 6]);
        f[n - 6..].copy_from_slice(&sig);
        assert!(matches!(
            v.verify(&f, 255, 190),
            Err(SignError::Replayed { link_id: 5, .. })
        ));
    }

    #[test]
    fn keys_parse_from_hex_and_never_print() {
        let k = SecretKey::from_hex(&"ab".repeat(32)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(k.bytes(), &[0xAB; 32]);
        assert_eq!(format!("{k:?}"), "SecretKey(<redacted>)");
        let e = SecretKey::from_hex("zz").err().unwrap_or_default();
        assert!(e.contains("64 hexadecimal"), "{e}");
        let e = SecretKey::from_hex(&format!("{}g", "a".repeat(63)))
            .err()
            .unwrap_or_default();
        assert!(e.contains("character 64"), "{e}");
        assert!(!e.contains("aaaa"));
    }
}
