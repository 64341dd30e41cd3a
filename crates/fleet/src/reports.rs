//! Case statistics from incident records and the event log: response times
//! per kind and hangar, and the daily summary. Pure functions: the server
//! feeds them what the log holds for the period asked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dispatch_core::{DroneState, IncidentRecord, IncidentStatus};
use serde::Serialize;

use crate::store::StoredEvent;

type Timestamp = DateTime<Utc>;

/// The stages whose time (from the report) is measured.
pub const STAGES: [&str; 4] = ["assign", "launch", "on_scene", "resolved"];

/// Seconds from the report to each stage the incident reached.
pub fn stage_times(r: &IncidentRecord) -> [Option<f64>; 4] {
    let t0 = r.incident.reported_at;
    let first = |pred: &dyn Fn(IncidentStatus) -> bool| {
        r.timeline
            .iter()
            .find(|e| pred(e.status))
            .map(|e| (e.at - t0).num_milliseconds() as f64 / 1000.0)
    };
    [
        first(&|s| matches!(s, IncidentStatus::Proposed | IncidentStatus::Assigned)),
        first(&|s| s == IncidentStatus::EnRoute),
        first(&|s| s == IncidentStatus::OnScene),
        first(&|s| s == IncidentStatus::Resolved),
    ]
}

/// Median and 90th percentile (nearest rank) of a stage in a group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageStats {
    pub n: usize,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
}

fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn stats(mut v: Vec<f64>) -> StageStats {
    v.sort_by(f64::total_cmp);
    StageStats {
        n: v.len(),
        median_s: nearest_rank(&v, 0.5),
        p90_s: nearest_rank(&v, 0.9),
    }
}

/// One group of the response-time report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseGroup {
    /// Incident kind, or `all`.
    pub kind: String,
    /// Hangar of the (last) assigned drone, `all`, or `none` (never assigned).
    pub hangar: String,
    pub incidents: usize,
    pub stages: BTreeMap<&'static str, StageStats>,
}

/// Response times grouped by kind and hangar, by kind, by hangar and overall.
pub fn response_times<'a>(
    records: impl IntoIterator<Item = &'a IncidentRecord>,
) -> Vec<ResponseGroup> {
    let mut groups: BTreeMap<(String, String), Vec<[Option<f64>; 4]>> = BTreeMap::new();
    for r in records {
        let kind = r.incident.kind.as_str().to_owned();
        let hangar = r
            .assignment
            .as_ref()
            .map_or_else(|| "none".to_owned(), |a| a.chosen.hangar.0.clone());
        let t = stage_times(r);
        for key in [
            (kind.clone(), hangar.clone()),
            (kind.clone(), "all".to_owned()),
            ("all".to_owned(), hangar),
            ("all".to_owned(), "all".to_owned()),
        ] {
            groups.entry(key).or_default().push(t);
        }
    }
    groups
        .into_iter()
        .map(|((kind, hangar), rows)| {
            let stages = STAGES
                .iter()
                .enumerate()
                .map(|(i, name)| (*name, stats(rows.iter().filter_map(|t| t[i]).collect())))
                .collect();
            ResponseGroup {
                kind,
                hangar,
                incidents: rows.len(),
                stages,
            }
        })
        .collect()
}

/// The report as CSV: one line per group and stage.
pub fn response_times_csv(groups: &[ResponseGroup]) -> String {
    let mut out = String::from("kind,hangar,incidents,stage,n,median_s,p90_s\n");
    let num = |v: Option<f64>| v.map_or_else(String::new, |x| format!("{x:.1}"));
    for g in groups {
        for (stage, s) in &g.stages {
            out.push_str(&format!(
                "{},{},{},{stage},{},{},{}\n",
                g.kind,
                g.hangar,
                g.incidents,
                s.n,
                num(s.median_s),
                num(s.p90_s)
            ));
        }
    }
    out
}

/// A day's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailySummary {
    pub from: Timestamp,
    pub to: Timestamp,
    pub incidents_reported: usize,
    /// Incidents by final (or current) status.
    pub incidents_by_status: BTreeMap<String, usize>,
    /// Sorties flown (incidents that reached en route), by kind.
    pub missions_by_kind: BTreeMap<String, usize>,
    /// Hours in the air per drone, from its state changes.
    pub flight_hours: BTreeMap<String, f64>,
    pub total_flight_hours: f64,
    pub alerts_by_severity: BTreeMap<String, usize>,
    /// The critical alerts' texts (the first 50).
    pub critical_alerts: Vec<String>,
}

fn airborne(state: DroneState) -> bool {
    matches!(
        state,
        DroneState::EnRoute | DroneState::OnScene | DroneState::Returning | DroneState::Landing
    )
}

/// The summary of `[from, to)` from the incidents reported then and the
/// drone and alert events of the period. A flight still going counts up to
/// `now` (or the end of the period, if earlier).
pub fn daily_summary(
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
    incidents: &[IncidentRecord],
    drone_events: &[StoredEvent],
    alerts: &[StoredEvent],
) -> DailySummary {
    let mut by_status = BTreeMap::new();
    let mut missions = BTreeMap::new();
    for r in incidents {
        *by_status
            .entry(r.incident.status.as_str().to_owned())
            .or_default() += 1;
        if r.timeline
            .iter()
            .any(|e| e.status == IncidentStatus::EnRoute)
        {
            *missions
                .entry(r.incident.kind.as_str().to_owned())
                .or_default() += 1;
        }
    }
    // Time in the air: from a drone's first airborne state to its next
    // state on the ground (or the end of the period).
    let mut since: BTreeMap<String, Timestamp> = BTreeMap::new();
    let mut hours: BTreeMap<String, f64> = BTreeMap::new();
    for e in drone_events {
        let (Some(drone), Some(state)) = (
            e.body.get("drone").and_then(|d| d.as_str()),
            e.body
                .get("state")
                .and_then(|s| serde_json::from_value::<DroneState>(s.clone()).ok()),
        ) else {
            continue;
        };
        hours.entry(drone.to_owned()).or_default();
        if airborne(state) {
            since.entry(drone.to_owned()).or_insert(e.t);
        } else if let Some(start) = since.remove(drone) {
            *hours.entry(drone.to_owned()).or_default() +=
                (e.t - start).num_milliseconds() as f64 / 3_600_000.0;
        }
    }
    let end = to.min(now);
    for (drone, start) in since {
        *hours.entry(drone).or_default() +=
            (end - start).num_milliseconds().max(0) as f64 / 3_600_000.0;
    }
    let mut alerts_by = BTreeMap::new();
    let mut critical = Vec::new();
    for a in alerts {
        let sev = a
            .body
            .get("severity")
            .and_then(|s| s.as_str())
            .unwrap_or("unknown");
        *alerts_by.entry(sev.to_owned()).or_default() += 1;
        if sev == "critical" && critical.len() < 50 {
            critical.push(
                a.body
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    let hours: BTreeMap<String, f64> = hours
        .into_iter()
        .map(|(d, h)| (d, (h * 100.0).round() / 100.0))
        .collect();
    DailySummary {
        from,
        to,
        incidents_reported: incidents.len(),
        incidents_by_status: by_status,
        missions_by_kind: missions,
        total_flight_hours: (hours.values().sum::<f64>() * 100.0).round() / 100.0,
        flight_hours: hours,
        alerts_by_severity: alerts_by,
        critical_alerts: critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flight_hours_count_from_take_off_to_the_ground_or_now() {
        let t = |m: i64| {
            DateTime::parse_from_rfc3339("2026-09-28T05:00:00Z")
                .map(|x| x.to_utc())
                .unwrap_or_default()
                + chrono::TimeDelta::minutes(m)
        };
        let ev = |m: i64, drone: &str, state: &str| StoredEvent {
            seq: m,
            t: t(m),
            event: "drone".into(),
            body: serde_json::json!({"event": "drone", "drone": drone, "state": state}),
        };
        let events = [
            ev(0, "a", "preflight"),
            ev(2, "a", "en_route"),
            ev(20, "a", "on_scene"),
            ev(32, "a", "returning"),
            ev(50, "a", "charging"),
            ev(40, "b", "en_route"),
        ];
        let alert = StoredEvent {
            seq: 99,
            t: t(5),
            event: "alert".into(),
            body: serde_json::json!({"severity": "critical", "message": "lost link"}),
        };
        let d = daily_summary(t(-300), t(1140), t(70), &[], &events, &[alert]);
        // a: 48 minutes in the air; b: still flying, 30 minutes by `now`.
        assert_eq!(d.flight_hours.get("a"), Some(&0.8));
        assert_eq!(d.flight_hours.get("b"), Some(&0.5));
        assert_eq!(d.total_flight_hours, 1.3);
        assert_eq!(d.alerts_by_severity.get("critical"), Some(&1));
        assert_eq!(d.critical_alerts, vec!["lost link".to_owned()]);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.5), Some(5.0));
        assert_eq!(nearest_rank(&v, 0.9), Some(9.0));
        assert_eq!(nearest_rank(&[7.0], 0.9), Some(7.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
        let s = stats(vec![30.0, 10.0, 20.0]);
        assert_eq!((s.n, s.median_s, s.p90_s), (3, Some(20.0), Some(30.0)));
    }
}
