//! The parameter protocol on the handle's side: read, write with a
//! read-back check, and PX4's bytewise encoding of integer parameters.

use tokio::sync::oneshot;

use super::{LinkHandle, ParamError, Request};
use crate::mav::MavParamType;
use crate::modes::Autopilot;

/// A parameter as the vehicle reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamValue {
    /// The value as a number (decoded from the autopilot's encoding).
    pub value: f64,
    pub param_type: MavParamType,
}

impl LinkHandle {
    /// Reads a parameter (PARAM_REQUEST_READ, resent on silence).
    pub async fn param(&self, system_id: u8, name: &str) -> Result<ParamValue, ParamError> {
        let (raw, param_type) = self.param_request(system_id, name, None).await?;
        Ok(ParamValue {
            value: self.decode_param(system_id, param_type, raw),
            param_type,
        })
    }

    /// Sets a parameter and verifies it: reads it first (for its type and
    /// encoding), then [`LinkHandle::write_param`]. Returns the value the
    /// vehicle now holds.
    pub async fn set_param(
        &self,
        system_id: u8,
        name: &str,
        value: f64,
    ) -> Result<ParamValue, ParamError> {
        if !value.is_finite() {
            return Err(ParamError::BadValue(value));
        }
        let current = self.param(system_id, name).await?;
        self.write_param(system_id, name, value, current.param_type)
            .await
    }

    /// Sends PARAM_SET for a parameter of a known type and checks the
    /// PARAM_VALUE the vehicle answers with (the read-back).
    pub async fn write_param(
        &self,
        system_id: u8,
        name: &str,
        value: f64,
        param_type: MavParamType,
    ) -> Result<ParamValue, ParamError> {
        if !value.is_finite() {
            return Err(ParamError::BadValue(value));
        }
        let raw = self.encode_param(system_id, param_type, value);
        let (got_raw, param_type) = self
            .param_request(system_id, name, Some((raw, param_type)))
            .await?;
        let got = self.decode_param(system_id, param_type, got_raw);
        // f32 on the wire: compare at f32 precision.
        let tolerance = f64::from(f32::EPSILON) * 4.0 * value.abs().max(1.0);
        if (got - value).abs() > tolerance {
            return Err(ParamError::Mismatch {
                system_id,
                name: name.to_owned(),
                wanted: value,
                got,
            });
        }
        Ok(ParamValue {
            value: got,
            param_type,
        })
    }

    async fn param_request(
        &self,
        system_id: u8,
        name: &str,
        set: Option<(f32, MavParamType)>,
    ) -> Result<(f32, MavParamType), ParamError> {
        if name.is_empty() || name.len() > 16 || !name.is_ascii() {
            return Err(ParamError::BadName(name.to_owned()));
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Param {
                system_id,
                name: name.to_owned(),
                set,
                reply,
            })
            .await
            .map_err(|_| ParamError::Closed)?;
        rx.await.map_err(|_| ParamError::Closed)?
    }

    /// PX4 sends integer parameters bytewise in the float field; ArduPilot
    /// (and floats everywhere) send the number itself.
    fn bytewise(&self, system_id: u8, t: MavParamType) -> bool {
        let px4 = self
            .vehicle(system_id)
            .and_then(|v| v.autopilot)
            .is_some_and(|a| a == Autopilot::Px4);
        px4 && !matches!(
            t,
            MavParamType::MAV_PARAM_TYPE_REAL32 | MavParamType::MAV_PARAM_TYPE_REAL64
        )
    }

    fn decode_param(&self, system_id: u8, t: MavParamType, raw: f32) -> f64 {
        if !self.bytewise(system_id, t) {
            return f64::from(raw);
        }
        let bits = raw.to_bits();
        match t {
            MavParamType::MAV_PARAM_TYPE_UINT8 => f64::from(bits as u8),
            MavParamType::MAV_PARAM_TYPE_INT8 => f64::from(bits as u8 as i8),
            MavParamType::MAV_PARAM_TYPE_UINT16 => f64::from(bits as u16),
            MavParamType::MAV_PARAM_TYPE_INT16 => f64::from(bits as u16 as i16),
            MavParamType::MAV_PARAM_TYPE_UINT32 => f64::from(bits),
            _ => f64::from(bits as i32),
        }
    }

    fn encode_param(&self, system_id: u8, t: MavParamType, v: f64) -> f32 {
        if !self.bytewise(system_id, t) {
            return v as f32;
        }
        let bits = match t {
            MavParamType::MAV_PARAM_TYPE_UINT32 => v as u32,
            _ => (v as i32) as u32,
        };
        f32::from_bits(bits)
    }
}
