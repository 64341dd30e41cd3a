//! ADSB_VEHICLE (246): manned traffic a vehicle's ADS-B In receiver hears
//! and forwards (ArduPilot does, from `ADSB_TYPE` receivers), decoded into
//! plain units with MAVLink's validity flags and "invalid" sentinels
//! applied, so that nothing beyond this crate knows the message.

use crate::mav::{ADSB_VEHICLE_DATA, AdsbFlags};

/// One aircraft as a vehicle reports it; a field its flags mark invalid is None.
#[derive(Debug, Clone, PartialEq)]
pub struct AdsbReport {
    /// The 24-bit ICAO address.
    pub icao: u32,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Altitude above mean sea level, metres.
    pub alt_m: Option<f64>,
    /// Course over ground, degrees.
    pub heading_deg: Option<f64>,
    pub ground_speed_mps: Option<f64>,
    /// Positive up.
    pub vertical_mps: Option<f64>,
    pub callsign: Option<String>,
    /// ADSB_EMITTER_TYPE.
    pub emitter_type: u8,
    /// Seconds since the receiver last heard the aircraft.
    pub tslc_s: u8,
    pub squawk: Option<u16>,
    /// The autopilot marked it simulated (`ADSB_FLAGS_SIMULATED`).
    pub simulated: bool,
}

impl AdsbReport {
    pub fn decode(m: &ADSB_VEHICLE_DATA) -> AdsbReport {
        let f = m.flags;
        let coords = f.contains(AdsbFlags::ADSB_FLAGS_VALID_COORDS)
            && m.lat != i32::MAX
            && m.lon != i32::MAX;
        let alt = f.contains(AdsbFlags::ADSB_FLAGS_VALID_ALTITUDE) && m.altitude != i32::MAX;
        let heading = f.contains(AdsbFlags::ADSB_FLAGS_VALID_HEADING) && m.heading != u16::MAX;
        let velocity =
            f.contains(AdsbFlags::ADSB_FLAGS_VALID_VELOCITY) && m.hor_velocity != u16::MAX;
        let vertical =
            f.contains(AdsbFlags::ADSB_FLAGS_VERTICAL_VELOCITY_VALID) && m.ver_velocity != i16::MAX;
        let callsign = f
            .contains(AdsbFlags::ADSB_FLAGS_VALID_CALLSIGN)
            .then(|| m.callsign.to_str().unwrap_or("").trim().to_owned())
            .filter(|c| !c.is_empty());
        AdsbReport {
            icao: m.ICAO_address,
            lat: coords.then(|| f64::from(m.lat) / 1e7),
            lon: coords.then(|| f64::from(m.lon) / 1e7),
            alt_m: alt.then(|| f64::from(m.altitude) / 1000.0),
            heading_deg: heading.then(|| f64::from(m.heading) / 100.0),
            ground_speed_mps: velocity.then(|| f64::from(m.hor_velocity) / 100.0),
            vertical_mps: vertical.then(|| f64::from(m.ver_velocity) / 100.0),
            callsign,
            emitter_type: m.emitter_type as u8,
            tslc_s: m.tslc,
            squawk: f
                .contains(AdsbFlags::ADSB_FLAGS_VALID_SQUAWK)
                .then_some(m.squawk),
            simulated: f.contains(AdsbFlags::ADSB_FLAGS_SIMULATED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mav::{AdsbAltitudeType, AdsbEmitterType};

    fn msg(flags: AdsbFlags) -> ADSB_VEHICLE_DATA {
        ADSB_VEHICLE_DATA {
            ICAO_address: 0x780A3B,
            lat: 303_500_000,
            lon: 1_204_500_000,
            altitude: 304_800,
            heading: 9_000,
            hor_velocity: 6_000,
            ver_velocity: -300,
            flags,
            squawk: 7000,
            altitude_type: AdsbAltitudeType::ADSB_ALTITUDE_TYPE_GEOMETRIC,
            callsign: "CES5301".into(),
            emitter_type: AdsbEmitterType::ADSB_EMITTER_TYPE_LARGE,
            tslc: 1,
        }
    }

    #[test]
    fn valid_fields_are_decoded_in_plain_units() {
        let all = AdsbFlags::ADSB_FLAGS_VALID_COORDS
            | AdsbFlags::ADSB_FLAGS_VALID_ALTITUDE
            | AdsbFlags::ADSB_FLAGS_VALID_HEADING
            | AdsbFlags::ADSB_FLAGS_VALID_VELOCITY
            | AdsbFlags::ADSB_FLAGS_VALID_CALLSIGN
            | AdsbFlags::ADSB_FLAGS_VERTICAL_VELOCITY_VALID;
        let r = AdsbReport::decode(&msg(all));
        assert_eq!(r.icao, 0x780A3B);
        assert_eq!(r.lat, Some(30.35));
        assert_eq!(r.lon, Some(120.45));
        assert_eq!(r.alt_m, Some(304.8));
        assert_eq!(r.heading_deg, Some(90.0));
        assert_eq!(r.ground_speed_mps, Some(60.0));
        assert_eq!(r.vertical_mps, Some(-3.0));
        assert_eq!(r.callsign.as_deref(), Some("CES5301"));
        assert_eq!(r.emitter_type, 3);
        assert_eq!(r.squawk, None);
        assert!(!r.simulated);
    }

    #[test]
    fn fields_not_flagged_valid_or_at_their_sentinel_are_none() {
        let r = AdsbReport::decode(&msg(AdsbFlags::empty()));
        assert_eq!(
            (r.lat, r.alt_m, r.heading_deg, r.ground_speed_mps),
            (None, None, None, None)
        );
        assert_eq!((r.vertical_mps, r.callsign), (None, None));
        let mut m = msg(AdsbFlags::ADSB_FLAGS_VALID_COORDS | AdsbFlags::ADSB_FLAGS_VALID_ALTITUDE);
        m.lat = i32::MAX;
        m.altitude = i32::MAX;
        let r = AdsbReport::decode(&m);
        assert_eq!((r.lat, r.lon, r.alt_m), (None, None, None));
    }

    #[test]
    fn only_configured_vehicles_bound_to_their_address_forward_traffic() {
        use crate::codec::encode_v2;
        use crate::mav::MavMessage;
        use crate::state::{Fleet, Ingested};
        let mut fleet = Fleet::new([11]);
        let home: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap_or_else(|e| panic!("{e}"));
        let other: std::net::SocketAddr =
            "127.0.0.1:6000".parse().unwrap_or_else(|e| panic!("{e}"));
        let frame = |sysid: u8, seq: u8| {
            encode_v2(
                sysid,
                1,
                seq,
                &MavMessage::ADSB_VEHICLE(msg(AdsbFlags::ADSB_FLAGS_VALID_COORDS)),
            )
        };
        let mut out = Ingested::default();
        fleet.ingest_from(&frame(11, 0), Some(home), 1.0, &mut out);
        assert_eq!(out.traffic.len(), 1);
        assert_eq!(out.traffic[0].0, 11);
        assert_eq!(out.traffic[0].1.icao, 0x780A3B);
        // An unconfigured system, or the vehicle's id from another address: not trusted.
        let mut out = Ingested::default();
        fleet.ingest_from(&frame(42, 1), Some(home), 1.1, &mut out);
        fleet.ingest_from(&frame(11, 2), Some(other), 1.2, &mut out);
        assert!(out.traffic.is_empty());
    }
}
