//! Parameters: the table a ground station reads and writes (PARAM_*), the
//! range check that refuses invalid values, and the settings a parameter
//! drives.

use mavlink_link::mav::{MavMessage, MavParamType, PARAM_VALUE_DATA};

use super::{Vehicle, VehicleConfig};

/// The parameter table of a new vehicle, from its configuration.
pub(super) fn default_params(cfg: &VehicleConfig) -> Vec<(&'static str, f32, MavParamType)> {
    use MavParamType::{
        MAV_PARAM_TYPE_INT8 as I8, MAV_PARAM_TYPE_INT16 as I16, MAV_PARAM_TYPE_INT32 as I32,
        MAV_PARAM_TYPE_REAL32 as F32,
    };
    vec![
        ("SYSID_THISMAV", f32::from(cfg.system_id), I16),
        // 1: RTL on ground-station loss (FS_OPTIONS may keep AUTO going).
        ("FS_GCS_ENABLE", 1.0, I8),
        ("FS_GCS_TIMEOUT", cfg.gcs_timeout_s as f32, F32),
        ("FS_OPTIONS", 0.0, I32),
        ("SRTL_POINTS", 300.0, I16),
        ("SRTL_ACCURACY", 2.0, F32),
        ("RTL_ALT", (cfg.rtl_alt_m * 100.0) as f32, I32),
        (
            "WPNAV_SPEED",
            (cfg.airframe.cruise_speed_mps * 100.0) as f32,
            F32,
        ),
        ("BATT_CAPACITY", cfg.airframe.capacity_mah as f32, I32),
        ("BATT_LOW_PCT", cfg.battery_low_pct as f32, F32),
        ("BATT_CRT_PCT", cfg.battery_critical_pct as f32, F32),
        ("FENCE_ENABLE", 1.0, I8),
    ]
}

impl Vehicle {
    pub(super) fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|(n, _, _)| *n == name)
    }

    /// A parameter's value (0 for a name this vehicle does not have).
    pub(super) fn param(&self, name: &str) -> f32 {
        self.param_index(name).map_or(0.0, |i| self.params[i].1)
    }

    /// Sets a parameter if the value is valid for it; an invalid value
    /// leaves it as it was (the PARAM_VALUE answer shows the value kept, so
    /// the ground station's read-back catches the refusal, as on ArduPilot).
    pub(super) fn set_param(&mut self, i: usize, v: f32) {
        let (name, _, ty) = self.params[i];
        let integer = !matches!(ty, MavParamType::MAV_PARAM_TYPE_REAL32);
        let range = match name {
            "FS_GCS_ENABLE" => 0.0..=7.0,
            "FS_OPTIONS" => 0.0..=65535.0,
            "FS_GCS_TIMEOUT" => 2.0..=120.0,
            "SRTL_POINTS" => 0.0..=500.0,
            "SRTL_ACCURACY" => 0.0..=10.0,
            "FENCE_ENABLE" => 0.0..=1.0,
            "SYSID_THISMAV" => 1.0..=255.0,
            _ => 0.0..=f32::MAX,
        };
        if !v.is_finite() || !range.contains(&v) || (integer && v.fract() != 0.0) {
            return;
        }
        self.params[i].1 = v;
        match name {
            "FS_GCS_TIMEOUT" => self.cfg.gcs_timeout_s = f64::from(v),
            "RTL_ALT" => self.cfg.rtl_alt_m = f64::from(v) / 100.0,
            "WPNAV_SPEED" => self.cfg.airframe.cruise_speed_mps = f64::from(v) / 100.0,
            "FENCE_ENABLE" => self.fence_enabled = v != 0.0,
            _ => {}
        }
    }

    pub(super) fn param_value(&self, i: usize) -> MavMessage {
        let (name, value, param_type) = self.params[i];
        MavMessage::PARAM_VALUE(PARAM_VALUE_DATA {
            param_value: value,
            param_count: self.params.len() as u16,
            param_index: i as u16,
            param_id: name.into(),
            param_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::vehicle::Vehicle;
    use crate::vehicle::testing::config;

    #[test]
    fn invalid_parameter_values_are_kept_out() {
        let mut v = Vehicle::new(config());
        for (name, bad) in [
            ("FS_GCS_ENABLE", 9.0),
            ("FS_GCS_ENABLE", 1.5),
            ("FS_OPTIONS", f32::NAN),
            ("SRTL_ACCURACY", f32::INFINITY),
            ("FS_GCS_TIMEOUT", 0.0),
        ] {
            let before = v.param(name);
            let i = v.param_index(name).unwrap_or_else(|| panic!("{name}"));
            v.set_param(i, bad);
            assert!(v.param(name) == before, "{name} = {bad} refused");
        }
    }
}
