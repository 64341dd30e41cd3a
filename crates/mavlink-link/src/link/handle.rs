//! [`LinkHandle`], the cloneable handle on a running link: snapshots of the
//! vehicle table, events, commands (and the mode and arming commands built on
//! them) and mission uploads, each a request to the link task with a
//! `oneshot` reply. Parameters are in `params`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::{Command, CommandError, LinkEvent, Request, UploadError};
use crate::mav::{MISSION_ITEM_INT_DATA, MavCmd, MavMissionResult, MavMissionType};
use crate::modes::{Autopilot, FlightMode};
use crate::state::{Fleet, LinkTimeouts, VehicleState};

/// Handle on a running link. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LinkHandle {
    pub(super) tx: mpsc::Sender<Request>,
    pub(super) events: broadcast::Sender<LinkEvent>,
    pub(super) fleet: Arc<Mutex<Fleet>>,
    pub(super) local: Option<SocketAddr>,
    /// The latest telemetry change sequence number (see [`VehicleState::changed_seq`]).
    pub(super) telemetry: watch::Receiver<u64>,
    /// The instant the link clock counts from.
    pub(super) start: Instant,
    pub(super) timeouts: LinkTimeouts,
    pub(super) upload_attempts: u32,
}

impl LinkHandle {
    /// The local socket address (for `udpin` with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LinkEvent> {
        self.events.subscribe()
    }

    /// Wakes when telemetry changed; the value is the latest change sequence number.
    pub fn telemetry_changes(&self) -> watch::Receiver<u64> {
        self.telemetry.clone()
    }

    /// Seconds on the link clock now (the clock of `last_heartbeat` and `changed_at`).
    pub fn link_time(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The link-health timeouts in force.
    pub fn timeouts(&self) -> LinkTimeouts {
        self.timeouts
    }

    /// The wall-clock instant of a link-clock time (as in `changed_at`).
    pub fn instant_of(&self, link_t: f64) -> Instant {
        self.start + Duration::from_secs_f64(link_t.max(0.0))
    }

    /// Every vehicle whose telemetry changed after `since`, with the latest sequence number.
    pub fn changed_since(&self, since: u64) -> (u64, Vec<VehicleState>) {
        let fleet = self.fleet.lock().unwrap_or_else(PoisonError::into_inner);
        (fleet.seq(), fleet.changed_since(since).cloned().collect())
    }

    /// A snapshot of one vehicle.
    pub fn vehicle(&self, system_id: u8) -> Option<VehicleState> {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(system_id)
            .cloned()
    }

    /// Binds a vehicle to `addr` for good (configuration, or an admin
    /// resolving a contest): heard only from there, sent to only there.
    /// False for a system id that is not configured.
    pub fn bind(&self, system_id: u8, addr: SocketAddr) -> bool {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pin(system_id, addr)
    }

    /// Frame counters (including frames from unknown systems).
    pub fn counters(&self) -> crate::state::IngestCounters {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counters
            .clone()
    }

    pub async fn command(&self, system_id: u8, command: Command) -> Result<(), CommandError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Command {
                system_id,
                command,
                reply,
            })
            .await
            .map_err(|_| CommandError::Closed)?;
        rx.await.map_err(|_| CommandError::Closed)?
    }

    pub async fn command_long(
        &self,
        system_id: u8,
        command: MavCmd,
        params: [f32; 7],
    ) -> Result<(), CommandError> {
        self.command(system_id, Command::Long { command, params })
            .await
    }

    pub async fn set_mode(&self, system_id: u8, mode: FlightMode) -> Result<(), CommandError> {
        let ap = self
            .vehicle(system_id)
            .ok_or(CommandError::UnknownVehicle(system_id))?
            .autopilot
            .unwrap_or(Autopilot::ArduCopter);
        let custom = ap
            .encode(mode)
            .ok_or(CommandError::NoSuchMode { system_id, mode })?;
        let (main, sub) = match ap {
            // PX4 takes main and sub mode as separate params.
            Autopilot::Px4 => (
                ((custom >> 16) & 0xFF) as f32,
                ((custom >> 24) & 0xFF) as f32,
            ),
            Autopilot::ArduCopter => (custom as f32, 0.0),
        };
        self.command_long(
            system_id,
            MavCmd::MAV_CMD_DO_SET_MODE,
            [1.0, main, sub, 0.0, 0.0, 0.0, 0.0],
        )
        .await
    }

    pub async fn arm(&self, system_id: u8, arm: bool) -> Result<(), CommandError> {
        let p1 = if arm { 1.0 } else { 0.0 };
        self.command_long(
            system_id,
            MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [p1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        )
        .await
    }

    pub async fn upload(
        &self,
        system_id: u8,
        kind: MavMissionType,
        items: Vec<MISSION_ITEM_INT_DATA>,
    ) -> Result<(), UploadError> {
        // On a lossy link a vehicle gives an upload up after seconds without
        // an item (ArduPilot: 8 s), and we give up on a silent vehicle: both
        // start the whole transfer again, up to `upload_attempts` times. A
        // refusal (a bad item, no space) is final.
        let mut attempt = 1;
        loop {
            let (reply, rx) = oneshot::channel();
            self.tx
                .send(Request::Upload {
                    system_id,
                    kind,
                    items: items.clone(),
                    reply,
                })
                .await
                .map_err(|_| UploadError::Closed)?;
            let r = rx.await.map_err(|_| UploadError::Closed)?;
            let again = matches!(
                r,
                Err(UploadError::Timeout { .. })
                    | Err(UploadError::Rejected {
                        result: MavMissionResult::MAV_MISSION_OPERATION_CANCELLED,
                        ..
                    })
            );
            if !again || attempt >= self.upload_attempts {
                return r;
            }
            tracing::info!(
                system_id,
                ?kind,
                attempt,
                "upload interrupted ({r:?}); starting it again"
            );
            attempt += 1;
        }
    }
}
