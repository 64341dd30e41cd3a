//! How a run ended: incidents by outcome, arrivals against their
//! prediction, and where every drone that flew ended.

use dispatch_core::{DroneId, DroneState, IncidentId, IncidentStatus, LatLon};
use mavlink_link::state::LinkStatus;
use serde::Serialize;

use super::duty::Duty;
use super::{AT_HANGAR_M, FleetCore};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub resolved: Vec<IncidentId>,
    pub failed: Vec<IncidentId>,
    pub open: Vec<IncidentId>,
    /// Predicted and flown (sim) seconds to the scene, per sortie that arrived.
    pub arrivals: Vec<Arrival>,
    /// Drones still out when the run ended (with their incident, if any).
    pub open_sorties: Vec<OpenSortie>,
    /// Every drone that flew (or was to fly), and where it ended.
    pub drones: Vec<DroneOutcome>,
    /// The run ended at its deadline, not because everything had ended.
    pub timed_out: bool,
}

impl Summary {
    /// Every incident resolved, every drone that flew back in its hangar, in time.
    pub fn all_home(&self) -> bool {
        self.failed.is_empty()
            && self.open.is_empty()
            && !self.timed_out
            && self.drones.iter().all(|d| d.home)
    }
}

/// Where a drone ended: its state, and whether that is home (on the ground
/// in its hangar: docked, charging, or out of service after a failed
/// launch). A drone that landed away is in maintenance ("needs recovery"),
/// one not heard is lost, one still flying is in the air.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DroneOutcome {
    pub drone: DroneId,
    pub state: DroneState,
    pub home: bool,
    pub position: LatLon,
    pub battery_pct: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenSortie {
    pub drone: DroneId,
    pub incident: Option<IncidentId>,
    pub status: Option<IncidentStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arrival {
    pub incident: IncidentId,
    pub drone: DroneId,
    pub predicted_eta_s: f64,
    pub actual_s: f64,
}

impl FleetCore {
    /// How the run stands: the watched incidents (`fly`'s), or every
    /// incident when `all`.
    pub fn summary(&self, all: bool) -> Summary {
        let ids: Vec<IncidentId> = if all {
            self.dispatcher.incidents().map(|r| r.incident.id).collect()
        } else {
            self.watched.clone()
        };
        let ids = &ids;
        let mut s = Summary {
            resolved: Vec::new(),
            failed: Vec::new(),
            open: Vec::new(),
            arrivals: self.arrivals.clone(),
            open_sorties: Vec::new(),
            drones: Vec::new(),
            timed_out: false,
        };
        for drone in &self.involved {
            let world = self.dispatcher.world();
            if let Some(d) = world.drone(drone) {
                // Home: on the ground in its hangar (docked, charging, or out
                // of service there after a failed launch).
                let in_hangar = world.hangar(&d.hangar).is_some_and(|h| {
                    dispatch_core::geodesy::distance_m(h.position, d.position) < AT_HANGAR_M
                });
                let grounded = matches!(
                    d.state,
                    DroneState::Docked | DroneState::Charging | DroneState::Maintenance
                );
                s.drones.push(DroneOutcome {
                    drone: drone.clone(),
                    state: d.state,
                    home: grounded && in_hangar,
                    position: d.position,
                    battery_pct: d.battery_pct,
                });
            }
        }
        for id in ids {
            match self.dispatcher.incident(*id).map(|r| r.incident.status) {
                Some(IncidentStatus::Resolved) => s.resolved.push(*id),
                Some(IncidentStatus::Failed | IncidentStatus::Cancelled) => s.failed.push(*id),
                Some(_) => s.open.push(*id),
                None => {}
            }
        }
        for (drone, duty) in &self.duties {
            let incident = match duty {
                Duty::Sortie(sortie) => Some(sortie.incident),
                Duty::Homing(_) => None,
                Duty::Idle | Duty::Charging => continue,
            };
            let status = incident
                .and_then(|i| self.dispatcher.incident(i))
                .map(|r| r.incident.status);
            s.open_sorties.push(OpenSortie {
                drone: drone.clone(),
                incident,
                status,
            });
        }
        s
    }

    /// Every watched incident ended, every drone home (or lost), no action in flight.
    pub fn done(&self) -> bool {
        let ids = &self.watched;
        let all_ended = ids.iter().all(|id| {
            self.dispatcher
                .incident(*id)
                .is_some_and(|r| r.incident.status.is_terminal())
        });
        // A drone flying home whose link is lost cannot be followed: it is in
        // the summary as lost, and the run does not wait for it.
        let mut sorties = false;
        let mut homing_heard = false;
        for (drone, duty) in &self.duties {
            match duty {
                Duty::Sortie(_) => sorties = true,
                Duty::Homing(_) => {
                    homing_heard |= self
                        .vehicle(drone)
                        .is_none_or(|v| v.link != LinkStatus::Lost)
                }
                Duty::Idle | Duty::Charging => {}
            }
        }
        all_ended && !sorties && !homing_heard && self.actions.is_empty()
    }
}
