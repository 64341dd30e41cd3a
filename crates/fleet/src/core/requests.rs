//! Requests: one handler per API operation, each answered by its
//! [`Reply`]. Changes are answered in the step that made them, after the
//! step's persist (the runtime turns the answer into a storage error if the
//! log refused it). Operator commands are answered when the vehicle has.

use dispatch_core::model::{Capability, IncidentKind, IncidentStatus};
use dispatch_core::{DroneId, DroneState, IncidentId, Input, Report};
use mavlink_link::link::{Command, CommandError};
use mavlink_link::mav::{MavCmd, MavFrame};
use mavlink_link::modes::FlightMode;
use mavlink_link::state::LinkStatus;

use super::FleetCore;
use super::duty::{Pending, PendingKind};
use super::protocol::{
    Action, DroneCommand, Effect, NewIncident, Reply, Request, RequestId, ServiceError, Step,
};
use crate::events::{IncidentMeta, Severity};
use crate::mission;
use crate::views::{DroneView, HangarView, IncidentView, ReportOutcome, Snapshot, drone_view_at};

impl FleetCore {
    pub(super) fn request(&mut self, id: RequestId, request: Request) {
        let reply = match request {
            Request::Snapshot => Reply::Snapshot(Box::new(self.snapshot())),
            Request::Report(new) => Reply::Report(self.report_incident(new)),
            Request::Incident(i) => Reply::Incident(
                self.incident_view(i)
                    .ok_or(ServiceError::UnknownIncident(i)),
            ),
            Request::Incidents => Reply::Incidents(self.incident_views()),
            Request::Launch(i) => Reply::Incident(
                self.input(Input::Launch(i))
                    .map_err(ServiceError::from)
                    .and_then(|_| {
                        self.incident_view(i)
                            .ok_or(ServiceError::UnknownIncident(i))
                    }),
            ),
            Request::LaunchAnyway(i) => Reply::Incident(self.launch_anyway(i).and_then(|_| {
                self.incident_view(i)
                    .ok_or(ServiceError::UnknownIncident(i))
            })),
            Request::Traffic => Reply::Traffic(Box::new(self.traffic_view())),
            Request::Cancel { incident, reason } => {
                Reply::Incident(self.end_incident(incident, IncidentStatus::Cancelled, reason))
            }
            Request::Resolve { incident, note } => {
                Reply::Incident(self.end_incident(incident, IncidentStatus::Resolved, note))
            }
            Request::Reassign { incident, reason } => {
                Reply::Incident(self.reassign_incident(incident, reason))
            }
            Request::UpsertZone(z) => Reply::Zone(
                self.input(Input::UpsertZone(z))
                    .map(|_| ())
                    .map_err(ServiceError::from),
            ),
            Request::RemoveZone(z) => Reply::Zone(
                self.input(Input::RemoveZone(z))
                    .map(|_| ())
                    .map_err(ServiceError::from),
            ),
            Request::Command { drone, command } => {
                match self.operator_command(id, &drone, &command) {
                    // Answered when the vehicle has answered.
                    Ok(()) => return,
                    Err(e) => Reply::Command(Err(e)),
                }
            }
            Request::Bind { drone, address } => {
                if self.dispatcher.world().drone(&drone).is_none() {
                    Reply::Command(Err(ServiceError::UnknownDrone(drone)))
                } else {
                    self.new_action(
                        Pending {
                            drone: drone.clone(),
                            what: PendingKind::Bind {
                                request: Some(id),
                                address,
                            },
                        },
                        Action::Bind { drone, address },
                    );
                    return;
                }
            }
            Request::Feed(input) => Reply::Fed(match self.input(input) {
                Ok(_) => Ok(()),
                Err(e) => {
                    // An alert too, as the fleet's own refused input is.
                    self.refused(&e);
                    Err(e.into())
                }
            }),
            Request::Weather(reports) => Reply::Fed(self.weather(reports)),
            Request::Wind => Reply::Wind(Box::new(self.wind_view())),
            Request::Share(entry) => {
                self.event(crate::events::What::Share(entry));
                Reply::Fed(Ok(()))
            }
            Request::Still(entry) => Reply::Fed(self.still(entry)),
            Request::Stop => {
                self.stopping = true;
                Reply::Stopping
            }
        };
        self.out.push(Effect::Reply { to: id, reply });
    }

    /// Logs a still, if its drone and incident are known.
    fn still(&mut self, entry: crate::events::StillEntry) -> Result<(), ServiceError> {
        if self.dispatcher.world().drone(&entry.drone).is_none() {
            return Err(ServiceError::UnknownDrone(entry.drone));
        }
        if let Some(i) = entry.incident
            && self.dispatcher.incident(i).is_none()
        {
            return Err(ServiceError::UnknownIncident(i));
        }
        self.event(crate::events::What::Still(entry));
        Ok(())
    }

    /// Checks an operator command and starts it; the answer (and the event)
    /// follow the vehicle's answer.
    fn operator_command(
        &mut self,
        request: RequestId,
        drone: &DroneId,
        cmd: &DroneCommand,
    ) -> Result<(), ServiceError> {
        let (_, steps) = self.command_steps(drone, cmd)?;
        // An operator's command replaces a hold before the way home: the
        // drone is theirs now, and the hold's end must not send it on.
        if self.home_holds.remove(drone).is_some() {
            self.command_event(
                drone,
                "home_hold",
                true,
                "hold before its way home ended by an operator's command".into(),
            );
        }
        let mode = match cmd {
            DroneCommand::Rtl => Some(Some(FlightMode::Rtl)),
            DroneCommand::Land => Some(Some(FlightMode::Land)),
            DroneCommand::Hold => Some(Some(FlightMode::Loiter)),
            // DO_REPOSITION flies in GUIDED.
            DroneCommand::Goto { .. } => Some(Some(FlightMode::Guided)),
            DroneCommand::Resume => Some(None),
            DroneCommand::DropPayload | DroneCommand::Loudspeaker { .. } => None,
        };
        // Tolerated by the watchdog while the command is in flight; made the
        // sortie's operator mode only once the vehicle accepts it.
        if let Some(Some(m)) = mode
            && let Some(s) = self.sortie_mut(drone)
        {
            s.pending_mode = Some(m);
        }
        self.command_event(drone, cmd.name(), true, "sent".into());
        self.new_action(
            Pending {
                drone: drone.clone(),
                what: PendingKind::Operator {
                    request,
                    name: cmd.name(),
                    mode,
                },
            },
            Action::Operator {
                drone: drone.clone(),
                steps,
            },
        );
        Ok(())
    }

    /// The vehicle answered an operator command: an event (an alert if it
    /// refused), the sortie's operator mode, and the answer to the request.
    pub(super) fn on_operator_done(
        &mut self,
        drone: &DroneId,
        request: RequestId,
        name: &'static str,
        mode: Option<Option<FlightMode>>,
        r: Result<(), CommandError>,
    ) {
        if let Some(s) = self.sortie_mut(drone) {
            s.pending_mode = None;
            if r.is_ok()
                && let Some(m) = mode
            {
                s.operator_mode = m;
            }
        }
        let reply = match r {
            Ok(()) => {
                self.command_event(drone, name, true, "accepted by the vehicle".into());
                Ok(format!("{name} accepted by the vehicle"))
            }
            Err(e) => {
                self.command_event(drone, name, false, e.to_string());
                self.alert(
                    Some(drone),
                    Severity::Warning,
                    format!("operator command {name} not carried out: {e}"),
                );
                Err(ServiceError::Vehicle(e))
            }
        };
        self.out.push(Effect::Reply {
            to: request,
            reply: Reply::Command(reply),
        });
    }

    /// The vehicle and what to send it for an operator command, after checking
    /// that the command makes sense for the drone now.
    fn command_steps(
        &mut self,
        drone: &DroneId,
        cmd: &DroneCommand,
    ) -> Result<(u8, Vec<Step>), ServiceError> {
        let v = self.vehicle(drone).cloned();
        let d = self
            .dispatcher
            .world()
            .drone(drone)
            .cloned()
            .ok_or_else(|| ServiceError::UnknownDrone(drone.clone()))?;
        if v.as_ref().is_none_or(|v| v.link == LinkStatus::Unknown) {
            return Err(ServiceError::Conflict(format!(
                "drone {drone} (system {}) has never been heard on the link",
                d.system_id
            )));
        }
        if self.contested.contains_key(drone) {
            return Err(ServiceError::Conflict(format!(
                "drone {drone} is claimed from two addresses: nothing is sent to it until an admin binds it to one (POST /api/drones/{drone}/bind) or the other claims stop"
            )));
        }
        let airborne = v
            .as_ref()
            .is_some_and(|v| v.armed && v.landed != Some(true));
        let needs_air = |what: &str| {
            if airborne {
                Ok(())
            } else {
                Err(ServiceError::Conflict(format!(
                    "drone {drone} is not flying: cannot {what}"
                )))
            }
        };
        let steps = match cmd {
            DroneCommand::Rtl => {
                needs_air("return to launch")?;
                vec![Step::Mode(FlightMode::Rtl)]
            }
            DroneCommand::Land => {
                needs_air("land")?;
                vec![Step::Mode(FlightMode::Land)]
            }
            DroneCommand::Hold => {
                needs_air("hold")?;
                vec![Step::Mode(FlightMode::Loiter)]
            }
            DroneCommand::Resume => {
                needs_air("resume its mission")?;
                vec![Step::Mode(FlightMode::Auto)]
            }
            DroneCommand::Goto { position, alt_m } => {
                needs_air("go to a point")?;
                self.dispatcher
                    .world()
                    .check_position(*position)
                    .map_err(|e| ServiceError::Invalid(e.to_string()))?;
                let alt = alt_m.unwrap_or(self.dispatcher.world().params().cruise_altitude_m);
                vec![Step::Command(Command::Int {
                    command: MavCmd::MAV_CMD_DO_REPOSITION,
                    frame: MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT,
                    params: [-1.0, 1.0, 0.0, f32::NAN],
                    x: (position.lat * 1e7).round() as i32,
                    y: (position.lon * 1e7).round() as i32,
                    z: alt as f32,
                })]
            }
            DroneCommand::DropPayload => {
                if !d.capabilities.contains(Capability::Lifebuoy) {
                    return Err(ServiceError::Conflict(format!(
                        "drone {drone} carries no droppable payload"
                    )));
                }
                vec![Step::Command(Command::Long {
                    command: MavCmd::MAV_CMD_DO_GRIPPER,
                    params: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                })]
            }
            DroneCommand::Loudspeaker { kind } => {
                if !d.capabilities.contains(Capability::Loudspeaker) {
                    return Err(ServiceError::Conflict(format!(
                        "drone {drone} has no loudspeaker"
                    )));
                }
                let kind = kind
                    .or(d.task.map(|t| t.kind))
                    .unwrap_or(IncidentKind::SpectatorInDangerZone);
                vec![Step::Command(Command::Long {
                    command: MavCmd::MAV_CMD_USER_1,
                    params: [mission::clip(kind), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                })]
            }
        };
        let _ = airborne;
        Ok((d.system_id, steps))
    }

    fn report_incident(&mut self, new: NewIncident) -> Result<ReportOutcome, ServiceError> {
        let key = match (&new.source, &new.external_id) {
            (Some(s), Some(e)) => Some((s.clone(), e.clone())),
            (None, Some(_)) => {
                return Err(ServiceError::Invalid(
                    "external_id needs a source (the system that reported it)".into(),
                ));
            }
            _ => None,
        };
        if let Some(id) = key.as_ref().and_then(|k| self.external.get(k)).copied() {
            let incident = self
                .incident_view(id)
                .ok_or(ServiceError::UnknownIncident(id))?;
            return Ok(ReportOutcome {
                created: false,
                incident,
            });
        }
        let auto_launch = self
            .scenario
            .auto_launch
            .get(&new.kind)
            .copied()
            .unwrap_or(true);
        let id = self
            .input(Input::Report(Report {
                kind: new.kind,
                position: new.position,
                priority: None,
                auto_launch,
                patrol: None,
            }))?
            .first()
            .copied()
            .ok_or_else(|| ServiceError::Conflict("the incident was not opened".into()))?;
        self.meta.insert(
            id,
            IncidentMeta {
                note: new.note,
                source: new.source,
                external_id: new.external_id,
            },
        );
        if let Some(k) = key {
            self.external.insert(k, id);
        }
        let incident = self
            .incident_view(id)
            .ok_or(ServiceError::UnknownIncident(id))?;
        Ok(ReportOutcome {
            created: true,
            incident,
        })
    }

    fn end_incident(
        &mut self,
        id: IncidentId,
        status: IncidentStatus,
        note: String,
    ) -> Result<IncidentView, ServiceError> {
        let drone = self.sortie_of(id);
        self.input(match status {
            IncidentStatus::Resolved => Input::Progress {
                incident: id,
                status,
            },
            _ => Input::Cancel {
                incident: id,
                reason: note,
            },
        })?;
        if let Some(d) = drone {
            self.call_off(&d, &format!("incident {id} {status} by a dispatcher"));
        }
        self.incident_view(id)
            .ok_or(ServiceError::UnknownIncident(id))
    }

    fn reassign_incident(
        &mut self,
        id: IncidentId,
        reason: String,
    ) -> Result<IncidentView, ServiceError> {
        let drone = self.sortie_of(id);
        self.input(Input::Requeue {
            incident: id,
            reason: format!("reassigned by a dispatcher: {reason}"),
        })?;
        if let Some(d) = drone
            && self.sortie(&d).map(|s| s.incident) == Some(id)
        {
            self.call_off(&d, &format!("incident {id} reassigned"));
        }
        self.incident_view(id)
            .ok_or(ServiceError::UnknownIncident(id))
    }

    pub(super) fn incident_view(&self, id: IncidentId) -> Option<IncidentView> {
        let r = self.dispatcher.incident(id)?;
        Some(IncidentView {
            incident: r.incident.clone(),
            eta: r.eta(),
            auto_launch: r.auto_launch,
            assignment: r.assignment.clone(),
            meta: self.meta.get(&id).cloned().unwrap_or_default(),
            timeline: r.timeline.clone(),
        })
    }

    fn incident_views(&self) -> Vec<IncidentView> {
        self.dispatcher
            .incidents()
            .filter_map(|r| self.incident_view(r.incident.id))
            .collect()
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        let world = self.dispatcher.world();
        let drones: Vec<DroneView> = world
            .drones()
            .iter()
            .map(|d| drone_view_at(d, self.vehicle(&d.id), self.link_time, &self.timeouts))
            .collect();
        let hangars = world
            .hangars()
            .iter()
            .map(|h| HangarView {
                hangar: h.clone(),
                drones: world
                    .drones()
                    .iter()
                    .filter(|d| {
                        d.hangar == h.id
                            && matches!(d.state, DroneState::Docked | DroneState::Charging)
                    })
                    .map(|d| d.id.clone())
                    .collect(),
            })
            .collect();
        Snapshot {
            time: self.now,
            scenario: self.scenario.name.clone(),
            region: world.region(),
            hangars,
            drones,
            zones: world.zones().cloned().collect(),
            incidents: self.incident_views(),
            queue: self.dispatcher.queue(),
        }
    }
}
