//! A still on arrival: when the drone serving an incident arrives on
//! scene, the server keeps one frame of its camera as the first evidence.
//!
//! [`Arrivals`] decides, sans IO, from the fleet's events: once per
//! incident and drone (a drone that leaves and comes back to the same
//! scene is not taken again; another drone on the same incident is), and
//! forgets an incident once it is over. [`watch`] runs it on the fleet's
//! events and takes each still in its own task, so that a slow camera
//! holds up nothing else. A drone without a camera is passed over; any
//! other failure is a warning in the server's log.

use std::collections::HashSet;

use dispatch_core::{DroneId, IncidentId, IncidentStatus};
use fleet::{FleetEvent, What};
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;

/// Which arrivals call for a still.
#[derive(Debug, Default)]
pub struct Arrivals {
    taken: HashSet<(IncidentId, DroneId)>,
}

impl Arrivals {
    /// The still to take for this event, if any.
    pub fn handle(&mut self, e: &FleetEvent) -> Option<(IncidentId, DroneId)> {
        let What::Incident {
            incident,
            status,
            drone,
            ..
        } = &e.what
        else {
            return None;
        };
        match status {
            IncidentStatus::OnScene => {
                let d = drone.clone()?;
                self.taken
                    .insert((*incident, d.clone()))
                    .then_some((*incident, d))
            }
            s if s.is_terminal() => {
                self.taken.retain(|(i, _)| i != incident);
                None
            }
            _ => None,
        }
    }

    /// Pairs remembered (bounded by the incidents still open).
    pub fn len(&self) -> usize {
        self.taken.len()
    }

    pub fn is_empty(&self) -> bool {
        self.taken.is_empty()
    }
}

/// Takes a still at every arrival on scene until the fleet stops.
pub async fn watch(s: AppState) {
    let mut events = s.fleet.subscribe();
    let mut arrivals = Arrivals::default();
    loop {
        let e = match events.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("stills on arrival: {n} fleet events missed");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let Some((incident, drone)) = arrivals.handle(&e) else {
            continue;
        };
        let s = s.clone();
        tokio::spawn(async move {
            match super::keep(
                &s,
                Some(incident),
                &drone,
                None,
                fleet::StillTrigger::Arrival,
                "auto".to_owned(),
            )
            .await
            {
                Ok(still) => tracing::info!(
                    "still {} of incident {incident} from {drone} on arrival",
                    still.id
                ),
                Err(e) if e.code == "no_camera" => {}
                Err(e) => tracing::warn!(
                    "no still of incident {incident} from {drone} on arrival: {}",
                    e.message
                ),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(incident: u64, status: IncidentStatus, drone: Option<&str>) -> FleetEvent {
        FleetEvent {
            t: "2026-09-28T05:00:00Z"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            what: What::Incident {
                incident: IncidentId(incident),
                status,
                note: String::new(),
                drone: drone.map(|d| DroneId(d.into())),
                eta: None,
            },
        }
    }

    #[test]
    fn one_still_per_arrival_of_a_drone_on_its_incident() {
        let mut a = Arrivals::default();
        let pair = |i, d: &str| Some((IncidentId(i), DroneId(d.into())));
        assert_eq!(
            a.handle(&ev(1, IncidentStatus::EnRoute, Some("yg-1"))),
            None
        );
        assert_eq!(
            a.handle(&ev(1, IncidentStatus::OnScene, Some("yg-1"))),
            pair(1, "yg-1")
        );
        // The same arrival told again (an ETA, a restart's replay): not again.
        assert_eq!(
            a.handle(&ev(1, IncidentStatus::OnScene, Some("yg-1"))),
            None
        );
        // Another drone takes over and arrives: its own still.
        assert_eq!(
            a.handle(&ev(1, IncidentStatus::OnScene, Some("yg-2"))),
            pair(1, "yg-2")
        );
        // Another incident, the first drone again.
        assert_eq!(
            a.handle(&ev(2, IncidentStatus::OnScene, Some("yg-1"))),
            pair(2, "yg-1")
        );
        // On scene with no drone named: nothing to take it from.
        assert_eq!(a.handle(&ev(3, IncidentStatus::OnScene, None)), None);
        // An incident over is forgotten, the others kept.
        assert_eq!(
            a.handle(&ev(1, IncidentStatus::Resolved, Some("yg-2"))),
            None
        );
        assert_eq!(a.len(), 1);
        assert_eq!(a.handle(&ev(2, IncidentStatus::Cancelled, None)), None);
        assert!(a.is_empty());
    }
}
