//! Test data: incidents, sorties, zones, events and track points.

use chrono::{DateTime, Duration, Utc};
use dispatch_core::{
    ActiveWindow, CapabilitySet, DroneId, Incident, IncidentId, IncidentKind, IncidentRecord,
    IncidentStatus, LatLon, ZoneId, ZoneKind, dispatch::TimelineEntry,
};
use fleet::events::{FleetEvent, IncidentMeta, Severity, What};
use fleet::store::{Batch, Store, StoredSortie, StoredZone, TrackPoint};

use crate::backends::Backend;

pub(crate) fn t0() -> DateTime<Utc> {
    "2026-09-28T05:00:00Z"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn t(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

pub(crate) fn open(b: &dyn Backend) -> Box<dyn Store> {
    b.open().unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn commit(store: &mut dyn Store, batch: &Batch) {
    store.commit(batch).unwrap_or_else(|e| panic!("{e}"));
}

pub(crate) fn record(id: u64, reported: DateTime<Utc>, status: IncidentStatus) -> IncidentRecord {
    IncidentRecord {
        incident: Incident {
            id: IncidentId(id),
            kind: IncidentKind::PersonInWater,
            position: LatLon::new(30.347, 120.457 + id as f64 * 0.001),
            priority: 1,
            reported_at: reported,
            required: CapabilitySet::default(),
            status,
            drone: (status != IncidentStatus::Queued).then(|| DroneId("yg-1".into())),
            reason: None,
            patrol: None,
        },
        assignment: None,
        auto_launch: true,
        timeline: vec![TimelineEntry {
            at: reported,
            status,
            note: format!("now {}", status.as_str()),
        }],
    }
}

pub(crate) fn meta(ext: &str) -> IncidentMeta {
    IncidentMeta {
        note: Some("a man in the water by the spur dike".into()),
        source: Some("call-centre".into()),
        external_id: Some(ext.into()),
    }
}

pub(crate) fn sortie(drone: &str, incident: u64) -> StoredSortie {
    StoredSortie {
        drone: DroneId(drone.into()),
        incident: IncidentId(incident),
        system_id: 3,
        airborne_at_launch: false,
        predicted_eta_s: 181.5,
        on_scene_s: 300.0,
        start_boot_ms: Some(12_000),
        payload_confirmed: false,
    }
}

pub(crate) fn zone(id: &str) -> StoredZone {
    StoredZone {
        id: ZoneId(id.into()),
        name: format!("Zone {id}"),
        kind: ZoneKind::TemporaryClosure,
        rings: vec![vec![
            [120.70, 30.60],
            [120.72, 30.60],
            [120.72, 30.62],
            [120.70, 30.60],
        ]],
        floor_m: 0.0,
        ceiling_m: 120.0,
        window: ActiveWindow {
            from: Some(t(0)),
            until: None,
        },
        rescue_exempt: false,
    }
}

pub(crate) fn event(at: DateTime<Utc>, what: What) -> FleetEvent {
    FleetEvent { t: at, what }
}

pub(crate) fn incident_event(at: DateTime<Utc>, id: u64, status: IncidentStatus) -> FleetEvent {
    event(
        at,
        What::Incident {
            incident: IncidentId(id),
            status,
            note: format!("#{id} {}", status.as_str()),
            drone: None,
            eta: None,
        },
    )
}

pub(crate) fn alert(at: DateTime<Utc>, message: &str) -> FleetEvent {
    event(
        at,
        What::Alert {
            drone: Some(DroneId("yg-1".into())),
            severity: Severity::Warning,
            message: message.into(),
        },
    )
}

pub(crate) fn point(drone: &str, at: DateTime<Utc>, lat: f64, incident: Option<u64>) -> TrackPoint {
    TrackPoint {
        drone: DroneId(drone.into()),
        t: at,
        lat,
        lon: 120.457,
        alt_m: 42.5,
        incident: incident.map(IncidentId),
    }
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_else(|e| panic!("{e}"))
}
