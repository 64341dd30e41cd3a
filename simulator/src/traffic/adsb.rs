//! ADS-B In as ArduPilot forwards it: one `ADSB_VEHICLE` (246) per aircraft
//! the vehicle's receiver hears, from the vehicle's own system id.

use mavlink_link::mav::{
    ADSB_VEHICLE_DATA, AdsbAltitudeType, AdsbEmitterType, AdsbFlags, MavMessage,
};

use super::{Contact, Emitter};
use crate::physics::ne_offset;

/// Whether an aircraft at `c` is within `range_m` (horizontally) of a
/// receiver at `(lat, lon)`.
pub fn in_range(lat: f64, lon: f64, c: &Contact<'_>, range_m: f64) -> bool {
    let (n, e) = ne_offset(lat, lon, c.state.lat, c.state.lon);
    n.hypot(e) <= range_m
}

/// The ADSB_VEHICLE message for one aircraft. The report is fresh (the
/// playback knows the aircraft's state at this instant), so `tslc` is 0;
/// the altitude is geometric (GNSS), not barometric, and the message is
/// flagged `SIMULATED`, as ArduPilot's SITL traffic is.
pub fn adsb_vehicle(c: &Contact<'_>) -> MavMessage {
    let a = c.aircraft;
    let s = &c.state;
    let mut flags = AdsbFlags::ADSB_FLAGS_VALID_COORDS
        | AdsbFlags::ADSB_FLAGS_VALID_ALTITUDE
        | AdsbFlags::ADSB_FLAGS_VALID_HEADING
        | AdsbFlags::ADSB_FLAGS_VALID_VELOCITY
        | AdsbFlags::ADSB_FLAGS_VALID_CALLSIGN
        | AdsbFlags::ADSB_FLAGS_VERTICAL_VELOCITY_VALID
        | AdsbFlags::ADSB_FLAGS_SIMULATED;
    if a.squawk.is_some() {
        flags |= AdsbFlags::ADSB_FLAGS_VALID_SQUAWK;
    }
    MavMessage::ADSB_VEHICLE(ADSB_VEHICLE_DATA {
        ICAO_address: a.icao,
        lat: (s.lat * 1e7).round() as i32,
        lon: (s.lon * 1e7).round() as i32,
        altitude_type: AdsbAltitudeType::ADSB_ALTITUDE_TYPE_GEOMETRIC,
        altitude: (s.alt_m * 1000.0).round() as i32,
        heading: ((s.track_deg * 100.0).round() as u16) % 36_000,
        hor_velocity: (s.ground_speed_mps * 100.0).round().clamp(0.0, 65_534.0) as u16,
        ver_velocity: (s.vertical_mps * 100.0).round().clamp(-32_767.0, 32_766.0) as i16,
        callsign: a.callsign.as_str().into(),
        emitter_type: emitter_type(a.emitter),
        tslc: 0,
        flags,
        squawk: a.squawk.unwrap_or(0),
    })
}

fn emitter_type(e: Emitter) -> AdsbEmitterType {
    use AdsbEmitterType as T;
    match e {
        Emitter::NoInfo => T::ADSB_EMITTER_TYPE_NO_INFO,
        Emitter::Light => T::ADSB_EMITTER_TYPE_LIGHT,
        Emitter::Small => T::ADSB_EMITTER_TYPE_SMALL,
        Emitter::Large => T::ADSB_EMITTER_TYPE_LARGE,
        Emitter::HighVortexLarge => T::ADSB_EMITTER_TYPE_HIGH_VORTEX_LARGE,
        Emitter::Heavy => T::ADSB_EMITTER_TYPE_HEAVY,
        Emitter::HighlyManeuverable => T::ADSB_EMITTER_TYPE_HIGHLY_MANUV,
        Emitter::Rotorcraft => T::ADSB_EMITTER_TYPE_ROTOCRAFT,
        Emitter::Glider => T::ADSB_EMITTER_TYPE_GLIDER,
        Emitter::LighterThanAir => T::ADSB_EMITTER_TYPE_LIGHTER_AIR,
        Emitter::Parachute => T::ADSB_EMITTER_TYPE_PARACHUTE,
        Emitter::Ultralight => T::ADSB_EMITTER_TYPE_ULTRA_LIGHT,
        Emitter::Uav => T::ADSB_EMITTER_TYPE_UAV,
        Emitter::Space => T::ADSB_EMITTER_TYPE_SPACE,
        Emitter::EmergencySurface => T::ADSB_EMITTER_TYPE_EMERGENCY_SURFACE,
        Emitter::ServiceSurface => T::ADSB_EMITTER_TYPE_SERVICE_SURFACE,
        Emitter::PointObstacle => T::ADSB_EMITTER_TYPE_POINT_OBSTACLE,
    }
}

#[cfg(test)]
mod tests {
    use mavlink_link::codec::{decode_datagram, encode_v2};

    use super::*;
    use crate::traffic::Aircraft;
    use crate::traffic::motion::{Route, State, Waypoint};

    fn aircraft(squawk: Option<u16>) -> Aircraft {
        let w = |lat, lon| Waypoint {
            lat,
            lon,
            alt_m: 150.0,
        };
        Aircraft {
            icao: 0x7808A1,
            callsign: "B7301".into(),
            emitter: Emitter::Rotorcraft,
            squawk,
            speed_mps: 40.0,
            start_s: 0.0,
            route: Route::new(vec![w(30.40, 120.45), w(30.41, 120.55)], true),
        }
    }

    fn state() -> State {
        State {
            lat: 30.4012345,
            lon: 120.5123456,
            alt_m: 152.25,
            track_deg: 359.999,
            ground_speed_mps: 40.0,
            vertical_mps: -1.5,
        }
    }

    #[test]
    fn carries_the_aircraft_in_mavlink_units_and_survives_the_wire() {
        let a = aircraft(Some(7000));
        let msg = adsb_vehicle(&Contact {
            aircraft: &a,
            state: state(),
        });
        // Through the codec, as a ground station receives it.
        let bytes = encode_v2(11, 1, 0, &msg);
        let frames: Vec<_> = decode_datagram(&bytes).into_iter().collect();
        let [Ok(frame)] = frames.as_slice() else {
            panic!("{frames:?}")
        };
        let MavMessage::ADSB_VEHICLE(d) = &frame.message else {
            panic!("{:?}", frame.message)
        };
        assert_eq!(d.ICAO_address, 0x7808A1);
        assert_eq!((d.lat, d.lon), (304_012_345, 1_205_123_456));
        assert_eq!(d.altitude, 152_250);
        assert_eq!(
            d.altitude_type,
            AdsbAltitudeType::ADSB_ALTITUDE_TYPE_GEOMETRIC
        );
        assert_eq!(d.heading, 0, "359.999° rounds to north, not 36000");
        assert_eq!(d.hor_velocity, 4000);
        assert_eq!(d.ver_velocity, -150);
        assert_eq!(
            d.callsign.to_str().map(|s| s.trim_end_matches('\0')),
            Ok("B7301")
        );
        assert_eq!(d.emitter_type, AdsbEmitterType::ADSB_EMITTER_TYPE_ROTOCRAFT);
        assert_eq!(d.squawk, 7000);
        assert_eq!(d.tslc, 0);
        assert!(d.flags.contains(
            AdsbFlags::ADSB_FLAGS_VALID_COORDS
                | AdsbFlags::ADSB_FLAGS_VALID_ALTITUDE
                | AdsbFlags::ADSB_FLAGS_VALID_HEADING
                | AdsbFlags::ADSB_FLAGS_VALID_VELOCITY
                | AdsbFlags::ADSB_FLAGS_VALID_CALLSIGN
                | AdsbFlags::ADSB_FLAGS_VALID_SQUAWK
                | AdsbFlags::ADSB_FLAGS_VERTICAL_VELOCITY_VALID
        ));
        assert!(!d.flags.contains(AdsbFlags::ADSB_FLAGS_BARO_VALID));
    }

    #[test]
    fn no_squawk_no_squawk_flag() {
        let a = aircraft(None);
        let MavMessage::ADSB_VEHICLE(d) = adsb_vehicle(&Contact {
            aircraft: &a,
            state: state(),
        }) else {
            panic!("not ADSB_VEHICLE")
        };
        assert!(!d.flags.contains(AdsbFlags::ADSB_FLAGS_VALID_SQUAWK));
        assert!(d.flags.contains(AdsbFlags::ADSB_FLAGS_VALID_CALLSIGN));
        assert_eq!(d.squawk, 0);
    }

    #[test]
    fn range_is_horizontal_distance() {
        let a = aircraft(None);
        let c = Contact {
            aircraft: &a,
            state: state(),
        };
        // 0.36° of latitude is about 40 km.
        assert!(in_range(30.4012345 - 0.35, 120.5123456, &c, 40_000.0));
        assert!(!in_range(30.4012345 - 0.37, 120.5123456, &c, 40_000.0));
    }
}
