//! MAVLink frames in and out of datagrams, with every rejected byte accounted for.
//!
//! The `mavlink` crate's readers skip what they cannot parse without saying
//! so. A dispatcher must not drop input silently, so this decoder splits a
//! datagram into frames itself, checks each CRC with the dialect's CRC_EXTRA,
//! and returns a typed error for every frame (or run of bytes) it rejects;
//! callers count and log them.

use std::fmt;

use mavlink::dialects::ardupilotmega::MavMessage;
use mavlink::{MAVLinkV2MessageRaw, MavHeader, MavlinkVersion, Message as _};

const STX_V1: u8 = 0xFE;
const STX_V2: u8 = 0xFD;
const SIGNED_FLAG: u8 = 0x01;
const SIGNATURE_LEN: usize = 13;

/// A decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub version: MavlinkVersion,
    pub system_id: u8,
    pub component_id: u8,
    pub sequence: u8,
    pub message: MavMessage,
    /// Where the frame lies in the datagram (for signature checks).
    pub span: std::ops::Range<usize>,
    /// Whether it carries a MAVLink 2 signature (not verified here).
    pub signed: bool,
}

/// Why bytes of a datagram were rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Bytes before a start marker, or a lone marker that starts no frame.
    Garbage { bytes: usize },
    /// A frame announced more bytes than the datagram holds.
    Truncated { needed: usize, available: usize },
    /// Checksum mismatch: corrupted, or a message this dialect defines differently.
    BadCrc { message_id: u32, system_id: u8 },
    /// A message id this dialect does not know (its CRC cannot be checked).
    UnknownMessage { message_id: u32, system_id: u8 },
    /// MAVLink 2 incompatibility flags this implementation does not know:
    /// the frame cannot be read safely and must be dropped.
    UnsupportedFlags { flags: u8, system_id: u8 },
    /// The payload does not decode (e.g. an enum value out of range).
    BadPayload {
        message_id: u32,
        system_id: u8,
        reason: String,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Garbage { bytes } => write!(f, "{bytes} byte(s) outside any MAVLink frame"),
            FrameError::Truncated { needed, available } => {
                write!(
                    f,
                    "truncated frame: needs {needed} bytes, datagram has {available}"
                )
            }
            FrameError::BadCrc {
                message_id,
                system_id,
            } => {
                write!(
                    f,
                    "bad checksum on message {message_id} from system {system_id}"
                )
            }
            FrameError::UnknownMessage {
                message_id,
                system_id,
            } => {
                write!(f, "unknown message id {message_id} from system {system_id}")
            }
            FrameError::UnsupportedFlags { flags, system_id } => write!(
                f,
                "unsupported incompatibility flags {flags:#04x} from system {system_id}"
            ),
            FrameError::BadPayload {
                message_id,
                system_id,
                reason,
            } => write!(
                f,
                "undecodable message {message_id} from system {system_id}: {reason}"
            ),
        }
    }
}

/// Decodes every frame of a datagram (MAVLink 1 or 2). Signed MAVLink 2
/// frames are decoded; their signature is checked by [`crate::signing`].
pub fn decode_datagram(buf: &[u8]) -> Vec<Result<Frame, FrameError>> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut garbage = 0;
    while i < buf.len() {
        let stx = buf[i];
        if stx != STX_V1 && stx != STX_V2 {
            garbage += 1;
            i += 1;
            continue;
        }
        if garbage > 0 {
            out.push(Err(FrameError::Garbage { bytes: garbage }));
            garbage = 0;
        }
        let rest = &buf[i..];
        match decode_one(rest) {
            Ok((mut frame, used)) => {
                frame.span = i..i + used;
                out.push(Ok(frame));
                i += used;
            }
            Err((e, used)) => {
                out.push(Err(e));
                i += used;
            }
        }
    }
    if garbage > 0 {
        out.push(Err(FrameError::Garbage { bytes: garbage }));
    }
    out
}

/// Decodes the frame at the start of `b`; on error, how many bytes to skip.
fn decode_one(b: &[u8]) -> Result<(Frame, usize), (FrameError, usize)> {
    let v2 = b[0] == STX_V2;
    let header_len = if v2 { 10 } else { 6 };
    if b.len() < header_len {
        return Err((
            FrameError::Truncated {
                needed: header_len + 2,
                available: b.len(),
            },
            b.len(),
        ));
    }
    let len = b[1] as usize;
    let (seq, sys, comp, msgid, signed) = if v2 {
        let msgid = u32::from(b[7]) | u32::from(b[8]) << 8 | u32::from(b[9]) << 16;
        (b[4], b[5], b[6], msgid, b[2] & SIGNED_FLAG != 0)
    } else {
        (b[2], b[3], b[4], u32::from(b[5]), false)
    };
    let total = header_len + len + 2 + if signed { SIGNATURE_LEN } else { 0 };
    if b.len() < total {
        // Not a frame after all, or cut short: resynchronise on the next byte.
        return Err((
            FrameError::Truncated {
                needed: total,
                available: b.len(),
            },
            1,
        ));
    }
    if v2 && b[2] & !SIGNED_FLAG != 0 {
        return Err((
            FrameError::UnsupportedFlags {
                flags: b[2],
                system_id: sys,
            },
            total,
        ));
    }
    if MavMessage::default_message_from_id(msgid).is_none() {
        return Err((
            FrameError::UnknownMessage {
                message_id: msgid,
                system_id: sys,
            },
            total,
        ));
    }
    let crc_end = header_len + len;
    let crc = mavlink::calculate_crc(&b[1..crc_end], MavMessage::extra_crc(msgid));
    let got = u16::from_le_bytes([b[crc_end], b[crc_end + 1]]);
    if crc != got {
        return Err((
            FrameError::BadCrc {
                message_id: msgid,
                system_id: sys,
            },
            1,
        ));
    }
    let version = if v2 {
        MavlinkVersion::V2
    } else {
        MavlinkVersion::V1
    };
    match MavMessage::parse(version, msgid, &b[header_len..crc_end]) {
        Ok(message) => Ok((
            Frame {
                version,
                system_id: sys,
                component_id: comp,
                sequence: seq,
                message,
                span: 0..total,
                signed,
            },
            total,
        )),
        Err(e) => Err((
            FrameError::BadPayload {
                message_id: msgid,
                system_id: sys,
                reason: e.to_string(),
            },
            total,
        )),
    }
}

/// Encodes one MAVLink 2 frame.
pub fn encode_v2(system_id: u8, component_id: u8, sequence: u8, message: &MavMessage) -> Vec<u8> {
    let mut raw = MAVLinkV2MessageRaw::new();
    raw.serialize_message(
        MavHeader {
            system_id: system_id.into(),
            component_id,
            sequence,
        },
        message,
    );
    raw.raw_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use mavlink::dialects::ardupilotmega::{
        HEARTBEAT_DATA, MavAutopilot, MavModeFlag, MavState, MavType,
    };

    use super::*;

    fn heartbeat() -> MavMessage {
        MavMessage::HEARTBEAT(HEARTBEAT_DATA {
            custom_mode: 4,
            mavtype: MavType::MAV_TYPE_QUADROTOR,
            autopilot: MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
            base_mode: MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
            system_status: MavState::MAV_STATE_STANDBY,
            mavlink_version: 3,
        })
    }

    #[test]
    fn round_trips_and_splits_concatenated_frames() {
        let mut dg = encode_v2(11, 1, 7, &heartbeat());
        dg.extend(encode_v2(12, 1, 8, &heartbeat()));
        let frames = decode_datagram(&dg);
        assert_eq!(frames.len(), 2);
        let f = frames[1].as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((f.system_id, f.component_id, f.sequence), (12, 1, 8));
        assert_eq!(f.message, heartbeat());
    }

    #[test]
    fn corrupted_bytes_are_reported_not_dropped() {
        let good = encode_v2(11, 1, 7, &heartbeat());
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 3] ^= 0xFF; // flip a payload byte
        let mut dg = vec![0x00, 0x11];
        dg.extend(&bad);
        dg.extend(&good);
        let results = decode_datagram(&dg);
        assert_eq!(results[0], Err(FrameError::Garbage { bytes: 2 }));
        assert_eq!(
            results[1],
            Err(FrameError::BadCrc {
                message_id: 0,
                system_id: 11
            })
        );
        // Resynchronises and still finds the good frame after the bad one.
        assert!(
            results
                .iter()
                .any(|r| r.as_ref().is_ok_and(|f| f.sequence == 7))
        );
    }

    #[test]
    fn truncated_and_unknown_frames_are_typed_errors() {
        let good = encode_v2(11, 1, 7, &heartbeat());
        let results = decode_datagram(&good[..good.len() - 4]);
        assert!(matches!(results[0], Err(FrameError::Truncated { .. })));
        // Message id 0xFFFFFF does not exist.
        let mut unknown = good.clone();
        unknown[7] = 0xFF;
        unknown[8] = 0xFF;
        unknown[9] = 0xFF;
        let results = decode_datagram(&unknown);
        assert_eq!(
            results[0],
            Err(FrameError::UnknownMessage {
                message_id: 0xFF_FFFF,
                system_id: 11
            })
        );
    }
}
