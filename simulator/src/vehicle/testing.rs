//! The configuration unit tests build their vehicle from: a 15 m/s
//! airframe at `HOME`, no wind, a 5 s ground-station timeout, minimal streams.

use crate::physics::{Airframe, Wind};

use super::VehicleConfig;

pub(crate) const HOME: (f64, f64) = (30.40, 120.54);

pub(crate) fn config() -> VehicleConfig {
    VehicleConfig {
        system_id: 11,
        link: 0,
        name: "t".into(),
        home: HOME,
        home_amsl_m: 5.0,
        airframe: Airframe {
            cruise_speed_mps: 15.0,
            max_airspeed_mps: 20.0,
            climb_rate_mps: 5.0,
            descent_rate_mps: 3.0,
            accel_mps2: 3.0,
            vert_accel_mps2: 2.5,
            yaw_rate_dps: 90.0,
            endurance_min: 40.0,
            capacity_mah: 10_000.0,
            cells: 6,
        },
        adsb_range_m: 40_000.0,
        wind: Wind {
            speed_mps: 0.0,
            from_deg: 0.0,
            gust_mps: 0.0,
        },
        has_gripper: true,
        has_loudspeaker: false,
        camera: None,
        clips: Vec::new(),
        gcs_timeout_s: 5.0,
        battery_low_pct: 25.0,
        battery_critical_pct: 12.0,
        arm_min_battery_pct: 30.0,
        rtl_alt_m: 60.0,
        position_rate_hz: 4.0,
        charge_rate_pct_per_min: 0.0,
        minimal_streams: true,
        initial_battery_pct: 100.0,
        signing_key: None,
        allow_unsigned: false,
    }
}
