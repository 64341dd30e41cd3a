//! Separation in the dispatcher on the Haining scenario: two rescues from
//! one hangar along one way are kept apart by a layer or a later start.

use std::path::Path;

use chrono::{DateTime, Utc};
use dispatch_core::dispatch::{Input, Output, Report};
use dispatch_core::{Dispatcher, IncidentKind, LatLon, Scenario, config};

fn scenario() -> Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/haining.toml");
    config::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-28T13:00:00+08:00")
        .unwrap_or_else(|e| panic!("{e}"))
        .to_utc()
}

fn rescue(lat: f64, lon: f64) -> Report {
    Report {
        kind: IncidentKind::PersonInWater,
        position: LatLon::new(lat, lon),
        priority: None,
        auto_launch: true,
        patrol: None,
    }
}

fn assigned(out: &[Output]) -> Vec<dispatch_core::Assignment> {
    out.iter()
        .filter_map(|o| match o {
            Output::Assigned { assignment, .. } => Some((**assignment).clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn two_rescues_from_one_hangar_along_one_way_are_separated() {
    let s = scenario();
    let mut d = Dispatcher::new(s.world(), vec![]);
    let out = d
        .handle(
            at(),
            Input::ReportBatch(vec![rescue(30.347, 120.457), rescue(30.349, 120.4598)]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let a = assigned(&out);
    assert_eq!(a.len(), 2, "{out:?}");
    assert_eq!(a[0].chosen.drone.0, "yg-1");
    assert_eq!(a[1].chosen.drone.0, "yg-2");
    let (f0, f1) = (
        a[0].flight.clone().unwrap_or_else(|| panic!("a path")),
        a[1].flight.clone().unwrap_or_else(|| panic!("a path")),
    );
    assert_eq!(f0.altitude_m, 60.0);
    assert!(f0.note.is_empty());
    assert!(
        f1.altitude_m != 60.0 || f1.start_delay_s > 0.0,
        "the second flies the same way at the same height: {f1:?}"
    );
    assert!(f1.note.contains("yg-1"), "{}", f1.note);
    // The plans themselves keep the separation.
    assert!(f1.conflict_with(&f0, s.world().separation()).is_none());
    // A later start is in the ETA.
    assert!(a[1].chosen.eta_s >= a[0].chosen.eta_s + f1.start_delay_s - 30.0);
    assert_eq!(d.flights().len(), 2);
}

#[test]
fn without_layers_or_delay_the_second_rescue_waits_with_the_reason() {
    let mut s = scenario();
    s.separation.layers_m = vec![];
    s.separation.max_start_delay_s = 0.0;
    let mut d = Dispatcher::new(s.world(), vec![]);
    let out = d
        .handle(
            at(),
            Input::ReportBatch(vec![rescue(30.347, 120.457), rescue(30.349, 120.4598)]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(assigned(&out).len(), 1, "{out:?}");
    let why = out
        .iter()
        .find_map(|o| match o {
            Output::Queued { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(
        why.contains("no altitude layer free") && why.contains("yg-1"),
        "{why}"
    );
}
