//! Telemetry: the streamed messages and their rates (SET_MESSAGE_INTERVAL),
//! and building each message from the vehicle's state: its own, the wind
//! its anemometer reads, and the manned traffic its ADS-B receiver hears.

use std::collections::HashMap;

use mavlink_link::mav::{
    ATTITUDE_DATA, AUTOPILOT_VERSION_DATA, BATTERY_STATUS_DATA, EXTENDED_SYS_STATE_DATA,
    GLOBAL_POSITION_INT_DATA, GPS_RAW_INT_DATA, GpsFixType, HEARTBEAT_DATA, HOME_POSITION_DATA,
    MISSION_CURRENT_DATA, MavAutopilot, MavBatteryFunction, MavBatteryType, MavLandedState,
    MavMessage, MavModeFlag, MavProtocolCapability, MavState, MavSysStatusSensor, MavType,
    MavVtolState, MissionState, SYS_STATUS_DATA, VFR_HUD_DATA, WIND_DATA,
};

use super::{Dest, Mode, Out, Vehicle, VehicleConfig};
use crate::traffic::{Traffic, adsb};

const MSG_HEARTBEAT: u32 = 0;
const MSG_SYS_STATUS: u32 = 1;
const MSG_GPS_RAW_INT: u32 = 24;
const MSG_ATTITUDE: u32 = 30;
const MSG_GLOBAL_POSITION_INT: u32 = 33;
const MSG_MISSION_CURRENT: u32 = 42;
const MSG_VFR_HUD: u32 = 74;
const MSG_BATTERY_STATUS: u32 = 147;
const MSG_WIND: u32 = 168;
const MSG_AUTOPILOT_VERSION: u32 = 148;
const MSG_HOME_POSITION: u32 = 242;
const MSG_EXTENDED_SYS_STATE: u32 = 245;
/// Streamed as one message per aircraft in range (none to build on request).
const MSG_ADSB_VEHICLE: u32 = 246;

/// Messages this vehicle can stream, with default rates in Hz (0 = on request only).
pub(super) const STREAMS: [(u32, f64); 12] = [
    (MSG_HEARTBEAT, 1.0),
    (MSG_SYS_STATUS, 1.0),
    (MSG_GPS_RAW_INT, 1.0),
    (MSG_ATTITUDE, 4.0),
    (MSG_GLOBAL_POSITION_INT, 4.0),
    (MSG_MISSION_CURRENT, 1.0),
    (MSG_VFR_HUD, 2.0),
    (MSG_BATTERY_STATUS, 1.0),
    (MSG_WIND, 1.0),
    (MSG_HOME_POSITION, 0.2),
    (MSG_EXTENDED_SYS_STATE, 1.0),
    (MSG_ADSB_VEHICLE, 1.0),
];

/// Each stream's interval in seconds (`None`: off) for a new vehicle: the
/// configured position rate, and only the heartbeat besides it with
/// `minimal_streams`.
pub(super) fn default_rates(cfg: &VehicleConfig) -> HashMap<u32, Option<f64>> {
    let mut rates = HashMap::new();
    for (id, hz) in STREAMS {
        let hz = if id == MSG_GLOBAL_POSITION_INT {
            cfg.position_rate_hz
        } else if cfg.minimal_streams && id != MSG_HEARTBEAT {
            0.0
        } else {
            hz
        };
        rates.insert(id, (hz > 0.0).then(|| 1.0 / hz));
    }
    rates
}

impl Vehicle {
    pub(super) fn telemetry(&mut self, traffic: &Traffic, out: &mut Vec<Out>) {
        let t = self.sim_t;
        let mut due = Vec::new();
        for (&id, interval) in &self.rates {
            let Some(interval) = *interval else { continue };
            // Vehicles start their streams out of step (`stream_phase`), as
            // real ones booted at different moments do: a fleet on one
            // socket would otherwise send every once-a-second message in
            // the same instant.
            let next = self
                .next_due
                .get(&id)
                .copied()
                .unwrap_or(self.stream_phase * interval);
            if t >= next {
                due.push(id);
                // Catch up without bursts after a long step.
                let next = if t - next > interval {
                    t + interval
                } else {
                    next + interval
                };
                self.next_due.insert(id, next);
            }
        }
        due.sort_unstable();
        for id in due {
            if id == MSG_ADSB_VEHICLE {
                self.adsb_in(traffic, out);
            } else if let Some(m) = self.build(id) {
                out.push(Out {
                    dest: Dest::All,
                    msg: m,
                });
            }
        }
    }

    /// One ADSB_VEHICLE per manned aircraft within the receiver's range,
    /// as ArduPilot forwards its ADS-B In.
    fn adsb_in(&self, traffic: &Traffic, out: &mut Vec<Out>) {
        if traffic.is_empty() {
            return;
        }
        for c in traffic.contacts_at(self.sim_t) {
            if adsb::in_range(self.body.lat, self.body.lon, &c, self.cfg.adsb_range_m) {
                out.push(Out {
                    dest: Dest::All,
                    msg: adsb::adsb_vehicle(&c),
                });
            }
        }
    }

    fn time_boot_ms(&self) -> u32 {
        (self.sim_t * 1000.0) as u32
    }

    fn system_state(&self) -> MavState {
        if self.crashed || self.faults.motor_failed {
            MavState::MAV_STATE_EMERGENCY
        } else if self.gcs_failsafe
            || self.battery_low_done
            || self.faults.gps_lost
            || self.fence_breached
        {
            MavState::MAV_STATE_CRITICAL
        } else if self.armed {
            MavState::MAV_STATE_ACTIVE
        } else {
            MavState::MAV_STATE_STANDBY
        }
    }

    pub(super) fn mission_current(&self) -> MavMessage {
        let total = self.mission.len().saturating_sub(1) as u16;
        let state = if self.mission.len() < 2 {
            MissionState::MISSION_STATE_NO_MISSION
        } else if self.mission_done {
            MissionState::MISSION_STATE_COMPLETE
        } else if self.mode == Mode::Auto {
            MissionState::MISSION_STATE_ACTIVE
        } else {
            MissionState::MISSION_STATE_NOT_STARTED
        };
        MavMessage::MISSION_CURRENT(MISSION_CURRENT_DATA {
            seq: self.current,
            total,
            mission_state: state,
            mission_mode: u8::from(self.mode == Mode::Auto),
            ..Default::default()
        })
    }

    pub(super) fn autopilot_version(&self) -> MavMessage {
        MavMessage::AUTOPILOT_VERSION(AUTOPILOT_VERSION_DATA {
            capabilities: MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_MISSION_INT
                | MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_COMMAND_INT
                | MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
                | MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_MAVLINK2
                | MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_MISSION_FENCE
                | MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_MISSION_RALLY,
            uid: u64::from(self.cfg.system_id),
            // 4.5.0 official, as ArduPilot encodes it.
            flight_sw_version: 4 << 24 | 5 << 16 | 0xFF,
            vendor_id: 0,
            product_id: 0,
            ..Default::default()
        })
    }

    /// Builds message `id` from the current state, if this vehicle provides it.
    pub(super) fn build(&self, id: u32) -> Option<MavMessage> {
        let b = &self.body;
        let lat = (b.lat * 1e7) as i32;
        let lon = (b.lon * 1e7) as i32;
        let amsl_mm = ((self.cfg.home_amsl_m + b.alt) * 1000.0) as i32;
        let hdg_cd = (b.yaw_rad.to_degrees().rem_euclid(360.0) * 100.0) as u16;
        let gps_ok = !self.faults.gps_lost;
        Some(match id {
            MSG_HEARTBEAT => {
                let mut base = MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
                    | MavModeFlag::MAV_MODE_FLAG_STABILIZE_ENABLED;
                if self.armed {
                    base |= MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED;
                }
                if matches!(
                    self.mode,
                    Mode::Guided | Mode::Auto | Mode::Rtl | Mode::SmartRtl | Mode::Land
                ) {
                    base |= MavModeFlag::MAV_MODE_FLAG_GUIDED_ENABLED;
                }
                MavMessage::HEARTBEAT(HEARTBEAT_DATA {
                    custom_mode: self.mode as u32,
                    mavtype: MavType::MAV_TYPE_QUADROTOR,
                    autopilot: MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
                    base_mode: base,
                    system_status: self.system_state(),
                    mavlink_version: 3,
                })
            }
            MSG_GLOBAL_POSITION_INT => MavMessage::GLOBAL_POSITION_INT(GLOBAL_POSITION_INT_DATA {
                time_boot_ms: self.time_boot_ms(),
                lat,
                lon,
                alt: amsl_mm,
                relative_alt: (b.alt * 1000.0) as i32,
                vx: (b.vn * 100.0) as i16,
                vy: (b.ve * 100.0) as i16,
                vz: (b.vd * 100.0) as i16,
                hdg: hdg_cd,
            }),
            MSG_ATTITUDE => MavMessage::ATTITUDE(ATTITUDE_DATA {
                time_boot_ms: self.time_boot_ms(),
                roll: b.roll_rad as f32,
                pitch: b.pitch_rad as f32,
                yaw: b.yaw_rad as f32,
                ..Default::default()
            }),
            MSG_VFR_HUD => MavMessage::VFR_HUD(VFR_HUD_DATA {
                airspeed: if self.landed {
                    0.0
                } else {
                    b.airspeed(&self.cfg.wind) as f32
                },
                groundspeed: b.ground_speed() as f32,
                alt: (self.cfg.home_amsl_m + b.alt) as f32,
                climb: -b.vd as f32,
                heading: (b.yaw_rad.to_degrees().rem_euclid(360.0)) as i16,
                throttle: if self.armed && !self.landed { 55 } else { 0 },
            }),
            MSG_SYS_STATUS => {
                let sensors = MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_3D_GYRO
                    | MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_3D_ACCEL
                    | MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_GPS
                    | MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_BATTERY
                    | MavSysStatusSensor::MAV_SYS_STATUS_GEOFENCE;
                let mut health = sensors;
                if !gps_ok {
                    health.remove(MavSysStatusSensor::MAV_SYS_STATUS_SENSOR_GPS);
                }
                if self.fence_breached {
                    health.remove(MavSysStatusSensor::MAV_SYS_STATUS_GEOFENCE);
                }
                MavMessage::SYS_STATUS(SYS_STATUS_DATA {
                    onboard_control_sensors_present: sensors,
                    onboard_control_sensors_enabled: sensors,
                    onboard_control_sensors_health: health,
                    load: 300,
                    voltage_battery: (b.voltage(&self.cfg.airframe) * 1000.0) as u16,
                    current_battery: (b.current_a * 100.0) as i16,
                    battery_remaining: self.battery_pct().round() as i8,
                    ..Default::default()
                })
            }
            MSG_BATTERY_STATUS => {
                let mut voltages = [u16::MAX; 10];
                let cells = usize::from(self.cfg.airframe.cells).min(10);
                let v = b.voltage(&self.cfg.airframe) / cells as f64;
                for c in voltages.iter_mut().take(cells) {
                    *c = (v * 1000.0) as u16;
                }
                MavMessage::BATTERY_STATUS(BATTERY_STATUS_DATA {
                    current_consumed: b.consumed_mah as i32,
                    energy_consumed: -1,
                    temperature: i16::MAX,
                    voltages,
                    current_battery: (b.current_a * 100.0) as i16,
                    id: 0,
                    battery_function: MavBatteryFunction::MAV_BATTERY_FUNCTION_ALL,
                    mavtype: MavBatteryType::MAV_BATTERY_TYPE_LIPO,
                    battery_remaining: self.battery_pct().round() as i8,
                    ..Default::default()
                })
            }
            MSG_GPS_RAW_INT => MavMessage::GPS_RAW_INT(GPS_RAW_INT_DATA {
                time_usec: (self.sim_t * 1e6) as u64,
                lat: if gps_ok { lat } else { 0 },
                lon: if gps_ok { lon } else { 0 },
                alt: amsl_mm,
                eph: if gps_ok { 70 } else { u16::MAX },
                epv: if gps_ok { 110 } else { u16::MAX },
                vel: (b.ground_speed() * 100.0) as u16,
                cog: hdg_cd,
                fix_type: if gps_ok {
                    GpsFixType::GPS_FIX_TYPE_3D_FIX
                } else {
                    GpsFixType::GPS_FIX_TYPE_NO_FIX
                },
                satellites_visible: if gps_ok { 16 } else { 0 },
                ..Default::default()
            }),
            MSG_MISSION_CURRENT => self.mission_current(),
            MSG_EXTENDED_SYS_STATE => MavMessage::EXTENDED_SYS_STATE(EXTENDED_SYS_STATE_DATA {
                vtol_state: MavVtolState::MAV_VTOL_STATE_UNDEFINED,
                landed_state: if self.landed {
                    MavLandedState::MAV_LANDED_STATE_ON_GROUND
                } else if self.body.vd > 0.3
                    && matches!(self.mode, Mode::Land | Mode::Rtl | Mode::SmartRtl)
                {
                    MavLandedState::MAV_LANDED_STATE_LANDING
                } else if self.body.vd < -0.3 && self.body.alt < 5.0 {
                    MavLandedState::MAV_LANDED_STATE_TAKEOFF
                } else {
                    MavLandedState::MAV_LANDED_STATE_IN_AIR
                },
            }),
            MSG_HOME_POSITION => MavMessage::HOME_POSITION(HOME_POSITION_DATA {
                latitude: (self.cfg.home.0 * 1e7) as i32,
                longitude: (self.cfg.home.1 * 1e7) as i32,
                altitude: (self.cfg.home_amsl_m * 1000.0) as i32,
                q: [1.0, 0.0, 0.0, 0.0],
                time_usec: (self.sim_t * 1e6) as u64,
                ..Default::default()
            }),
            MSG_AUTOPILOT_VERSION => self.autopilot_version(),
            MSG_WIND => {
                // Where the wind comes from, as ArduPilot's WIND does (it
                // says -180..180; this says 0..360, the same directions).
                let (speed, from) = self.local_wind();
                MavMessage::WIND(WIND_DATA {
                    direction: from as f32,
                    speed: speed as f32,
                    // The wind model is horizontal.
                    speed_z: 0.0,
                })
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use mavlink_link::mav::{COMMAND_LONG_DATA, MavCmd, MavMessage};
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use crate::physics::Wind;
    use crate::traffic;
    use crate::vehicle::testing::config;
    use crate::vehicle::{Out, Vehicle, VehicleConfig};

    const TRAFFIC: &str = r#"
[[aircraft]]
icao = "7808A1"
callsign = "B7301"
emitter = "rotorcraft"
altitude_m = 150
speed_mps = 40
loop = true
waypoints = [[30.395, 120.50], [30.395, 120.60]]

[[aircraft]]
icao = "780ABC"
callsign = "FARAWAY"
altitude_m = 900
speed_mps = 55
waypoints = [[31.50, 121.50], [31.60, 121.60]]
"#;

    /// Steps `v` for `secs` of sim time; returns what it sent.
    fn run(v: &mut Vehicle, secs: f64, t: &traffic::Traffic) -> Vec<Out> {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut out = Vec::new();
        for _ in 0..(secs / 0.05).round() as usize {
            out.extend(v.step(0.0, 0.05, &mut rng, t));
        }
        out
    }

    fn winds(out: &[Out]) -> Vec<(f32, f32)> {
        out.iter()
            .filter_map(|o| match &o.msg {
                MavMessage::WIND(w) => Some((w.speed, w.direction)),
                _ => None,
            })
            .collect()
    }

    fn streaming() -> VehicleConfig {
        VehicleConfig {
            minimal_streams: false,
            wind: Wind {
                speed_mps: 6.0,
                from_deg: 90.0,
                gust_mps: 0.0,
            },
            ..config()
        }
    }

    #[test]
    fn a_docked_vehicle_reports_the_wind_once_a_second() {
        let mut v = Vehicle::new(streaming());
        let w = winds(&run(&mut v, 10.0, &traffic::Traffic::default()));
        assert_eq!(w.len(), 10, "{w:?}");
        for (speed, from) in &w {
            assert!(
                (speed - 6.0).abs() < 1e-4 && (from - 90.0).abs() < 1e-3,
                "{w:?}"
            );
        }
        v.set_wind(Wind {
            speed_mps: 11.0,
            from_deg: 225.0,
            gust_mps: 0.0,
        });
        let w = winds(&run(&mut v, 2.0, &traffic::Traffic::default()));
        assert!(
            w.iter()
                .all(|(s, f)| (s - 11.0).abs() < 1e-4 && (f - 225.0).abs() < 1e-3),
            "{w:?}"
        );
    }

    #[test]
    fn gusts_show_in_the_wind_reports() {
        let mut cfg = streaming();
        cfg.wind.gust_mps = 3.0;
        let mut v = Vehicle::new(cfg);
        let w = winds(&run(&mut v, 30.0, &traffic::Traffic::default()));
        let spread = w.iter().map(|(s, _)| *s).fold(f32::MIN, f32::max)
            - w.iter().map(|(s, _)| *s).fold(f32::MAX, f32::min);
        assert!(spread > 0.5, "{w:?}");
    }

    #[test]
    fn minimal_streams_send_no_wind_until_asked() {
        let mut v = Vehicle::new(config());
        assert!(winds(&run(&mut v, 5.0, &traffic::Traffic::default())).is_empty());
        let ask = MavMessage::COMMAND_LONG(COMMAND_LONG_DATA {
            target_system: 11,
            target_component: 1,
            command: MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL,
            param1: 168.0,
            param2: 500_000.0,
            ..Default::default()
        });
        v.handle(0.0, 1, (255, 190), &ask);
        assert_eq!(
            winds(&run(&mut v, 5.0, &traffic::Traffic::default())).len(),
            10
        );
    }

    #[test]
    fn forwards_the_traffic_its_receiver_hears() {
        let t = traffic::parse(TRAFFIC, "t.toml").expect("good traffic");
        let mut v = Vehicle::new(streaming());
        let out = run(&mut v, 5.0, &t);
        let heard: Vec<_> = out
            .iter()
            .filter_map(|o| match &o.msg {
                MavMessage::ADSB_VEHICLE(a) => Some(a.clone()),
                _ => None,
            })
            .collect();
        // The helicopter nearby, about once a second; not the aircraft 150 km away.
        assert!((4..=6).contains(&heard.len()), "{}", heard.len());
        assert!(heard.iter().all(|a| a.ICAO_address == 0x7808A1));
        // Flying east at 40 m/s along 30.395.
        let (first, last) = (&heard[0], &heard[heard.len() - 1]);
        assert!(last.lon > first.lon);
        assert!((first.lat - 303_950_000).abs() < 10);
        assert_eq!(first.hor_velocity, 4000);
        // Minimal streams: ArduPilot sends no ADS-B unasked.
        let mut quiet = Vehicle::new(config());
        assert!(
            !run(&mut quiet, 5.0, &t)
                .iter()
                .any(|o| matches!(o.msg, MavMessage::ADSB_VEHICLE(_)))
        );
    }
}
