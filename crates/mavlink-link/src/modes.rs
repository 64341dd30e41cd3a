//! Flight modes across autopilots: one vocabulary, two encodings.
//!
//! ArduCopter puts its mode number in `HEARTBEAT.custom_mode`; PX4 packs a
//! main mode and a sub mode as `main << 16 | sub << 24`. The dispatcher speaks
//! [`FlightMode`] and lets [`Autopilot`] do the encoding.

use std::fmt;

/// The modes the dispatch system uses or reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlightMode {
    Stabilize,
    AltHold,
    Auto,
    Guided,
    Loiter,
    Rtl,
    Land,
    Brake,
    /// ArduCopter's SmartRTL: back along the path flown, then land at home.
    SmartRtl,
    /// A mode this crate has no name for, with the raw custom mode.
    Other(u32),
}

impl fmt::Display for FlightMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlightMode::Stabilize => f.write_str("STABILIZE"),
            FlightMode::AltHold => f.write_str("ALT_HOLD"),
            FlightMode::Auto => f.write_str("AUTO"),
            FlightMode::Guided => f.write_str("GUIDED"),
            FlightMode::Loiter => f.write_str("LOITER"),
            FlightMode::Rtl => f.write_str("RTL"),
            FlightMode::Land => f.write_str("LAND"),
            FlightMode::Brake => f.write_str("BRAKE"),
            FlightMode::SmartRtl => f.write_str("SMART_RTL"),
            FlightMode::Other(n) => write!(f, "mode {n}"),
        }
    }
}

/// Autopilot families and their custom-mode encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Autopilot {
    ArduCopter,
    Px4,
}

const PX4_MAIN_ALTCTL: u32 = 2;
const PX4_MAIN_POSCTL: u32 = 3;
const PX4_MAIN_AUTO: u32 = 4;
const PX4_MAIN_OFFBOARD: u32 = 6;
const PX4_MAIN_STABILIZED: u32 = 7;
const PX4_AUTO_LOITER: u32 = 3;
const PX4_AUTO_MISSION: u32 = 4;
const PX4_AUTO_RTL: u32 = 5;
const PX4_AUTO_LAND: u32 = 6;

impl Autopilot {
    /// From HEARTBEAT.autopilot (MAV_AUTOPILOT: 3 ArduPilot, 12 PX4).
    pub fn from_mav_autopilot(id: u8) -> Option<Autopilot> {
        match id {
            3 => Some(Autopilot::ArduCopter),
            12 => Some(Autopilot::Px4),
            _ => None,
        }
    }

    /// The `custom_mode` that selects `mode`, or `None` if the autopilot has no such mode.
    pub fn encode(self, mode: FlightMode) -> Option<u32> {
        match self {
            Autopilot::ArduCopter => Some(match mode {
                FlightMode::Stabilize => 0,
                FlightMode::AltHold => 2,
                FlightMode::Auto => 3,
                FlightMode::Guided => 4,
                FlightMode::Loiter => 5,
                FlightMode::Rtl => 6,
                FlightMode::Land => 9,
                FlightMode::Brake => 17,
                FlightMode::SmartRtl => 21,
                FlightMode::Other(n) => n,
            }),
            Autopilot::Px4 => {
                let px4 = |main: u32, sub: u32| main << 16 | sub << 24;
                match mode {
                    FlightMode::Stabilize => Some(px4(PX4_MAIN_STABILIZED, 0)),
                    FlightMode::AltHold => Some(px4(PX4_MAIN_ALTCTL, 0)),
                    FlightMode::Auto => Some(px4(PX4_MAIN_AUTO, PX4_AUTO_MISSION)),
                    // PX4 flies external position targets in OFFBOARD; its
                    // "guided" reposition runs in AUTO.LOITER.
                    FlightMode::Guided => Some(px4(PX4_MAIN_AUTO, PX4_AUTO_LOITER)),
                    FlightMode::Loiter => Some(px4(PX4_MAIN_POSCTL, 0)),
                    FlightMode::Rtl => Some(px4(PX4_MAIN_AUTO, PX4_AUTO_RTL)),
                    FlightMode::Land => Some(px4(PX4_MAIN_AUTO, PX4_AUTO_LAND)),
                    FlightMode::Brake | FlightMode::SmartRtl => None,
                    FlightMode::Other(n) => Some(n),
                }
            }
        }
    }

    /// The mode a heartbeat's `custom_mode` reports.
    pub fn decode(self, custom_mode: u32) -> FlightMode {
        match self {
            Autopilot::ArduCopter => match custom_mode {
                0 => FlightMode::Stabilize,
                2 => FlightMode::AltHold,
                3 => FlightMode::Auto,
                4 => FlightMode::Guided,
                5 => FlightMode::Loiter,
                6 => FlightMode::Rtl,
                9 => FlightMode::Land,
                17 => FlightMode::Brake,
                21 => FlightMode::SmartRtl,
                n => FlightMode::Other(n),
            },
            Autopilot::Px4 => {
                let main = (custom_mode >> 16) & 0xFF;
                let sub = (custom_mode >> 24) & 0xFF;
                match (main, sub) {
                    (PX4_MAIN_STABILIZED, _) => FlightMode::Stabilize,
                    (PX4_MAIN_ALTCTL, _) => FlightMode::AltHold,
                    (PX4_MAIN_POSCTL, _) => FlightMode::Loiter,
                    (PX4_MAIN_OFFBOARD, _) => FlightMode::Guided,
                    (PX4_MAIN_AUTO, PX4_AUTO_MISSION) => FlightMode::Auto,
                    (PX4_MAIN_AUTO, PX4_AUTO_LOITER) => FlightMode::Guided,
                    (PX4_MAIN_AUTO, PX4_AUTO_RTL) => FlightMode::Rtl,
                    (PX4_MAIN_AUTO, PX4_AUTO_LAND) => FlightMode::Land,
                    _ => FlightMode::Other(custom_mode),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arducopter_numbers_follow_the_documentation() {
        let ac = Autopilot::ArduCopter;
        for (mode, n) in [
            (FlightMode::Stabilize, 0),
            (FlightMode::AltHold, 2),
            (FlightMode::Auto, 3),
            (FlightMode::Guided, 4),
            (FlightMode::Loiter, 5),
            (FlightMode::Rtl, 6),
            (FlightMode::Land, 9),
            (FlightMode::Brake, 17),
            (FlightMode::SmartRtl, 21),
        ] {
            assert_eq!(ac.encode(mode), Some(n));
            assert_eq!(ac.decode(n), mode);
        }
        assert_eq!(ac.decode(22), FlightMode::Other(22));
    }

    #[test]
    fn px4_packs_main_and_sub_mode() {
        let px4 = Autopilot::Px4;
        // AUTO (4) / MISSION (4): 4 << 16 | 4 << 24
        assert_eq!(px4.encode(FlightMode::Auto), Some(0x0404_0000));
        assert_eq!(px4.encode(FlightMode::Rtl), Some(0x0504_0000));
        assert_eq!(px4.encode(FlightMode::Land), Some(0x0604_0000));
        assert_eq!(px4.decode(0x0404_0000), FlightMode::Auto);
        assert_eq!(px4.decode(0x0006_0000), FlightMode::Guided);
        assert_eq!(px4.decode(0x0003_0000), FlightMode::Loiter);
        assert_eq!(px4.encode(FlightMode::Brake), None);
    }
}
