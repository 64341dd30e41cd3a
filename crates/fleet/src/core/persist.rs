//! What each step gives the durable log: the step's events, the incidents
//! the dispatcher changed (it tracks them, so nothing is rescanned), sorties
//! begun, changed or ended, run-time zone changes, track points and the
//! numbering. The runtime commits it (and keeps it if the log fails).

use std::collections::{BTreeMap, HashMap};

use dispatch_core::{Dispatcher, DroneId, IncidentId, Timestamp};
use mavlink_link::state::VehicleState;

use super::duty::Duty;
use crate::events::{FleetEvent, IncidentMeta};
use crate::store::{Batch, StoredSortie, TrackPoint, ZoneChange};

/// Track points are kept at most this often per drone (scenario seconds).
const TRACK_EVERY_S: i64 = 5;

#[derive(Debug, Default)]
pub(super) struct LogState {
    events: Vec<FleetEvent>,
    zones: Vec<ZoneChange>,
    track: Vec<TrackPoint>,
    /// Sorties as last given to the log.
    sorties: BTreeMap<DroneId, StoredSortie>,
    /// Sorties in the log at start-up, taken back as their drones are heard.
    recovered: BTreeMap<DroneId, StoredSortie>,
    track_at: HashMap<DroneId, Timestamp>,
    next_id: u64,
}

impl LogState {
    pub(super) fn event(&mut self, e: FleetEvent) {
        self.events.push(e);
    }

    pub(super) fn zone(&mut self, c: ZoneChange) {
        self.zones.push(c);
    }

    pub(super) fn recovered(&mut self, sorties: &[StoredSortie], next_id: u64) {
        self.sorties = sorties
            .iter()
            .map(|s| (s.drone.clone(), s.clone()))
            .collect();
        self.recovered = self.sorties.clone();
        self.next_id = next_id;
    }

    pub(super) fn take_recovered(&mut self, drone: &DroneId) -> Option<StoredSortie> {
        self.recovered.remove(drone)
    }

    /// A point for each drone in the air, at most every `TRACK_EVERY_S`.
    pub(super) fn track_points(
        &mut self,
        now: Timestamp,
        duties: &BTreeMap<DroneId, Duty>,
        vehicles: &HashMap<DroneId, VehicleState>,
    ) {
        for (drone, duty) in duties {
            let incident = match duty {
                Duty::Sortie(s) => Some(s.incident),
                Duty::Homing(_) => None,
                Duty::Idle | Duty::Charging => continue,
            };
            if self
                .track_at
                .get(drone)
                .is_some_and(|t| (now - *t).num_seconds() < TRACK_EVERY_S)
            {
                continue;
            }
            if let Some(v) = vehicles.get(drone)
                && (v.lat != 0.0 || v.lon != 0.0)
            {
                self.track_at.insert(drone.clone(), now);
                self.track.push(TrackPoint {
                    drone: drone.clone(),
                    t: now,
                    lat: v.lat,
                    lon: v.lon,
                    alt_m: v.rel_alt_m,
                    incident,
                });
            }
        }
    }

    /// What changed since the last batch, or None.
    pub(super) fn batch(
        &mut self,
        dispatcher: &mut Dispatcher,
        meta: &BTreeMap<IncidentId, IncidentMeta>,
        duties: &BTreeMap<DroneId, Duty>,
    ) -> Option<Batch> {
        let mut batch = Batch {
            events: std::mem::take(&mut self.events),
            zones: std::mem::take(&mut self.zones),
            track: std::mem::take(&mut self.track),
            next_incident_id: dispatcher.next_id(),
            ..Batch::default()
        };
        for id in dispatcher.take_changed() {
            if let Some(r) = dispatcher.incident(id) {
                let m = meta.get(&id).cloned().unwrap_or_default();
                batch.incidents.push((r.clone(), m));
            }
        }
        let mut live = BTreeMap::new();
        for (d, duty) in duties {
            if let Duty::Sortie(s) = duty {
                live.insert(
                    d.clone(),
                    StoredSortie {
                        drone: d.clone(),
                        incident: s.incident,
                        system_id: s.system_id,
                        airborne_at_launch: s.plan.airborne_at_launch,
                        predicted_eta_s: s.predicted_eta_s,
                        on_scene_s: s.on_scene_s,
                        start_boot_ms: s.start_boot_ms,
                        payload_confirmed: s.payload_confirmed,
                    },
                );
            }
        }
        for (d, s) in &live {
            if self.sorties.get(d) != Some(s) {
                batch.sorties.push((d.clone(), Some(s.clone())));
            }
        }
        for d in self.sorties.keys() {
            // A recovered sortie not yet taken back stays in the log.
            if !live.contains_key(d) && !self.recovered.contains_key(d) {
                batch.sorties.push((d.clone(), None));
            }
        }
        for (d, s) in &batch.sorties {
            match s {
                Some(s) => self.sorties.insert(d.clone(), s.clone()),
                None => self.sorties.remove(d),
            };
        }
        if batch.is_empty() && batch.next_incident_id == self.next_id {
            return None;
        }
        self.next_id = batch.next_incident_id;
        Some(batch)
    }
}
