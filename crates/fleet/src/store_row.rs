//! The event log's row format: what the `events` table's `body` column
//! holds, version [`LOG_FORMAT`]. It is its own type, converted from the
//! fleet's [`FleetEvent`]: a change inside the fleet changes the log only
//! through this conversion, knowingly. Version 1 is the JSON the fleet's
//! events had when the log was introduced, so logs written since load as
//! they are.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::{FleetEvent, ShareEntry, StillEntry, What};

/// The row format written now; a log with a higher one is refused.
pub const LOG_FORMAT: u32 = 1;

/// One event as the log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    pub t: DateTime<Utc>,
    #[serde(flatten)]
    pub what: RowWhat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RowWhat {
    Incident {
        incident: u64,
        status: String,
        note: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drone: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eta: Option<DateTime<Utc>>,
    },
    Eta {
        incident: u64,
        eta: DateTime<Utc>,
        note: String,
    },
    Drone {
        drone: String,
        state: String,
        note: String,
    },
    /// A dispatcher decision, as the dispatcher core describes it.
    Dispatch {
        output: serde_json::Value,
    },
    Link {
        drone: String,
        status: String,
    },
    Vehicle {
        drone: String,
        text: String,
    },
    Alert {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drone: Option<String>,
        severity: String,
        message: String,
    },
    Command {
        drone: String,
        command: String,
        ok: bool,
        detail: String,
    },
    Notice {
        message: String,
    },
    Zone {
        zone: String,
        change: String,
    },
    Airspace {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drone: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident: Option<u64>,
        step: String,
        aircraft: String,
        note: String,
    },
    /// A share link's story: its JSON is the fleet's [`ShareEntry`] as it is
    /// (added in format 1; older dispatchers never decode event bodies).
    Share(ShareEntry),
    /// A still kept as evidence (added in format 1 as well: a new kind of
    /// row, which older dispatchers pass over); its JPEG is in `stills`.
    Still(StillEntry),
}

/// The snake_case name serde gives a unit enum value (a status, a state).
fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(e) => format!("<{e}>"),
    }
}

impl From<&FleetEvent> for EventRow {
    fn from(e: &FleetEvent) -> Self {
        let what = match &e.what {
            What::Incident {
                incident,
                status,
                note,
                drone,
                eta,
            } => RowWhat::Incident {
                incident: incident.0,
                status: name(status),
                note: note.clone(),
                drone: drone.as_ref().map(|d| d.0.clone()),
                eta: *eta,
            },
            What::Eta {
                incident,
                eta,
                note,
            } => RowWhat::Eta {
                incident: incident.0,
                eta: *eta,
                note: note.clone(),
            },
            What::Drone { drone, state, note } => RowWhat::Drone {
                drone: drone.0.clone(),
                state: name(state),
                note: note.clone(),
            },
            What::Dispatch { output } => RowWhat::Dispatch {
                output: serde_json::to_value(output)
                    .unwrap_or_else(|e| serde_json::Value::String(format!("<{e}>"))),
            },
            What::Link { drone, status } => RowWhat::Link {
                drone: drone.0.clone(),
                status: status.clone(),
            },
            What::Vehicle { drone, text } => RowWhat::Vehicle {
                drone: drone.0.clone(),
                text: text.clone(),
            },
            What::Alert {
                drone,
                severity,
                message,
            } => RowWhat::Alert {
                drone: drone.as_ref().map(|d| d.0.clone()),
                severity: name(severity),
                message: message.clone(),
            },
            What::Command {
                drone,
                command,
                ok,
                detail,
            } => RowWhat::Command {
                drone: drone.0.clone(),
                command: command.clone(),
                ok: *ok,
                detail: detail.clone(),
            },
            What::Notice { message } => RowWhat::Notice {
                message: message.clone(),
            },
            What::Zone { zone, change } => RowWhat::Zone {
                zone: zone.0.clone(),
                change: change.clone(),
            },
            What::Airspace {
                drone,
                incident,
                step,
                aircraft,
                note,
            } => RowWhat::Airspace {
                drone: drone.as_ref().map(|d| d.0.clone()),
                incident: incident.map(|i| i.0),
                step: name(step),
                aircraft: aircraft.clone(),
                note: note.clone(),
            },
            What::Share(entry) => RowWhat::Share(entry.clone()),
            What::Still(entry) => RowWhat::Still(entry.clone()),
        };
        EventRow { t: e.t, what }
    }
}

impl EventRow {
    /// The row's kind and the incident and drone it names, for the indexes.
    pub fn keys(&self) -> (&'static str, Option<u64>, Option<String>) {
        match &self.what {
            RowWhat::Incident {
                incident, drone, ..
            } => ("incident", Some(*incident), drone.clone()),
            RowWhat::Eta { incident, .. } => ("eta", Some(*incident), None),
            RowWhat::Drone { drone, .. } => ("drone", None, Some(drone.clone())),
            RowWhat::Dispatch { output } => {
                // Every decision naming an incident; a preemption by the one it serves.
                let incident = output
                    .get("incident")
                    .or_else(|| output.get("to"))
                    .and_then(serde_json::Value::as_u64);
                ("dispatch", incident, None)
            }
            RowWhat::Link { drone, .. } => ("link", None, Some(drone.clone())),
            RowWhat::Vehicle { drone, .. } => ("vehicle", None, Some(drone.clone())),
            RowWhat::Alert { drone, .. } => ("alert", None, drone.clone()),
            RowWhat::Command { drone, .. } => ("command", None, Some(drone.clone())),
            RowWhat::Notice { .. } => ("notice", None, None),
            RowWhat::Zone { .. } => ("zone", None, None),
            RowWhat::Airspace {
                drone, incident, ..
            } => ("airspace", *incident, drone.clone()),
            // Not indexed by incident or drone: a share's openings (who
            // looked, from where) stay out of the incident's time line.
            RowWhat::Share(_) => ("share", None, None),
            RowWhat::Still(s) => ("still", s.incident.map(|i| i.0), Some(s.drone.0.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use dispatch_core::{DroneId, DroneState, IncidentId, IncidentStatus, ZoneId};

    use super::*;
    use crate::events::Severity;

    fn t() -> DateTime<Utc> {
        "2026-09-28T05:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Version 1 is the events' JSON as it was: every kind of event gives
    /// the same row, so logs written before the row had its own type load.
    #[test]
    fn version_1_rows_are_the_events_json_of_before() {
        let d = || DroneId("yg-1".into());
        let all = [
            What::Incident {
                incident: IncidentId(3),
                status: IncidentStatus::OnScene,
                note: "reported by the fleet".into(),
                drone: Some(d()),
                eta: Some(t()),
            },
            What::Drone {
                drone: d(),
                state: DroneState::EnRoute,
                note: "launched".into(),
            },
            What::Dispatch {
                output: dispatch_core::Output::Queued {
                    incident: IncidentId(4),
                    reason: "no drone".into(),
                },
            },
            What::Link {
                drone: d(),
                status: "lost".into(),
            },
            What::Vehicle {
                drone: d(),
                text: "Mode AUTO".into(),
            },
            What::Alert {
                drone: None,
                severity: Severity::Critical,
                message: "m".into(),
            },
            What::Zone {
                zone: ZoneId("z".into()),
                change: "added".into(),
            },
            What::Airspace {
                drone: Some(d()),
                incident: Some(IncidentId(3)),
                step: crate::events::AirspaceStep::LaunchHeld,
                aircraft: "CES5301".into(),
                note: "launch held".into(),
            },
            What::Share(crate::events::ShareEntry {
                share: 2,
                at: t(),
                change: crate::events::ShareChange::Created {
                    token_sha256: "ab".repeat(32),
                    incident: Some(IncidentId(3)),
                    drone: None,
                    expires_at: t(),
                    pin: Some(crate::events::PinDigest {
                        salt: "00".into(),
                        sha256: "11".into(),
                    }),
                    by: "desk".into(),
                },
            }),
            What::Share(crate::events::ShareEntry {
                share: 2,
                at: t(),
                change: crate::events::ShareChange::Opened {
                    address: Some("192.0.2.1".into()),
                    forwarded_for: None,
                    user_agent: None,
                },
            }),
        ];
        for what in all {
            let e = FleetEvent { t: t(), what };
            let row = EventRow::from(&e);
            let before = serde_json::to_value(&e).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                serde_json::to_value(&row).ok(),
                Some(before.clone()),
                "{e:?}"
            );
            // And a row of before reads back as a row.
            let back: EventRow = serde_json::from_value(before).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, row);
        }
    }

    #[test]
    fn a_row_names_its_incident_for_the_index() {
        let e = FleetEvent {
            t: t(),
            what: What::Dispatch {
                output: dispatch_core::Output::Preempted {
                    drone: DroneId("yg-1".into()),
                    from: IncidentId(1),
                    to: IncidentId(2),
                },
            },
        };
        assert_eq!(EventRow::from(&e).keys(), ("dispatch", Some(2), None));
    }
}
