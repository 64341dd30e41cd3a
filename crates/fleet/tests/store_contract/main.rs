//! What every event log must do, written once and run against both: the
//! SQLite log (a file in a temporary folder) and the PostgreSQL log (a
//! fresh database per test, see `common`).

mod backends;
#[path = "../common/mod.rs"]
mod common;
mod data;

use chrono::{DateTime, Duration, Utc};
use dispatch_core::{DroneId, DroneState, IncidentId, IncidentStatus, Output, ZoneId};
use fleet::events::What;
use fleet::store::{Batch, StoreError, TrackPoint, ZoneChange};

use backends::Backend;
use data::*;

/// Each contract, once per backend.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(&crate::backends::Sqlite::new()) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(&crate::backends::Pg::new()) })*
        }
    };
}

contract!(
    a_restart_gets_back_incidents_sorties_zones_and_the_numbering,
    an_incidents_events_come_back_in_order,
    a_track_is_queried_by_time_range,
    incidents_are_found_by_when_they_were_reported,
    events_are_found_by_kind_and_time,
    the_reader_sees_what_was_committed_and_writes_nothing,
    a_batch_that_fails_halfway_leaves_nothing,
    a_reopened_log_keeps_its_data,
    a_newer_row_format_is_refused,
    a_bad_row_is_an_error_not_a_panic,
    it_is_used_from_inside_the_tokio_runtime,
    a_still_keeps_its_picture_beside_its_event,
);

fn a_restart_gets_back_incidents_sorties_zones_and_the_numbering(b: &dyn Backend) {
    {
        let mut store = open(b);
        let empty = store.recover().unwrap_or_else(|e| panic!("{e}"));
        assert!(empty.incidents.is_empty() && empty.sorties.is_empty() && empty.zones.is_empty());
        assert_eq!((empty.next_incident_id, empty.last_event_at), (1, None));
        commit(
            &mut *store,
            &Batch {
                events: vec![
                    incident_event(t(1), 1, IncidentStatus::Queued),
                    incident_event(t(2), 2, IncidentStatus::Queued),
                ],
                incidents: vec![
                    (record(1, t(1), IncidentStatus::Queued), meta("call-1")),
                    (record(2, t(2), IncidentStatus::Queued), meta("call-2")),
                ],
                // Texts in byte order, as SQLite orders them: "B" before "a".
                sorties: vec![
                    (DroneId("a-1".into()), Some(sortie("a-1", 2))),
                    (DroneId("B-1".into()), Some(sortie("B-1", 1))),
                    (DroneId("c-1".into()), Some(sortie("c-1", 1))),
                ],
                zones: vec![
                    ZoneChange::Upsert { zone: zone("z1") },
                    ZoneChange::Upsert { zone: zone("z2") },
                ],
                track: vec![],
                next_incident_id: 3,
            },
        );
        // A later step: #1 en route, a sortie ended, a zone removed; an
        // older numbering (a stale batch) never goes back.
        commit(
            &mut *store,
            &Batch {
                events: vec![incident_event(t(9), 1, IncidentStatus::EnRoute)],
                incidents: vec![(record(1, t(1), IncidentStatus::EnRoute), meta("call-1"))],
                sorties: vec![(DroneId("c-1".into()), None)],
                zones: vec![ZoneChange::Remove {
                    id: ZoneId("z1".into()),
                }],
                track: vec![],
                next_incident_id: 2,
            },
        );
    }
    let mut store = open(b);
    let r = store.recover().unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<_> = r
        .incidents
        .iter()
        .map(|(rec, m)| {
            (
                rec.incident.id.0,
                rec.incident.status,
                m.external_id.clone(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            (1, IncidentStatus::EnRoute, Some("call-1".into())),
            (2, IncidentStatus::Queued, Some("call-2".into())),
        ]
    );
    // Whole records, field for field, and the intake metadata (the
    // idempotency keys: source and external id).
    assert_eq!(
        json(&r.incidents[0].0),
        json(&record(1, t(1), IncidentStatus::EnRoute))
    );
    assert_eq!(r.incidents[1].1, meta("call-2"));
    assert_eq!(r.sorties, vec![sortie("B-1", 1), sortie("a-1", 2)]);
    assert_eq!(
        r.zones,
        vec![
            ZoneChange::Upsert { zone: zone("z1") },
            ZoneChange::Upsert { zone: zone("z2") },
            ZoneChange::Remove {
                id: ZoneId("z1".into())
            },
        ]
    );
    assert_eq!(r.next_incident_id, 3);
    assert_eq!(r.last_event_at, Some(t(9)));
}

fn an_incidents_events_come_back_in_order(b: &dyn Backend) {
    let mut store = open(b);
    let first = vec![
        incident_event(t(5), 1, IncidentStatus::Queued),
        incident_event(t(5), 2, IncidentStatus::Queued),
        event(
            t(6),
            What::Dispatch {
                output: Output::Queued {
                    incident: IncidentId(1),
                    reason: "no drone free".into(),
                },
            },
        ),
        alert(t(6), "not about an incident"),
    ];
    // A later batch with an earlier time: the log's order is the order of
    // writing, not of the clock.
    let second = vec![
        incident_event(t(4), 1, IncidentStatus::Assigned),
        incident_event(t(7), 1, IncidentStatus::EnRoute),
    ];
    for events in [first.clone(), second.clone()] {
        commit(
            &mut *store,
            &Batch {
                events,
                next_incident_id: 3,
                ..Batch::default()
            },
        );
    }
    let got = store
        .incident_events(IncidentId(1))
        .unwrap_or_else(|e| panic!("{e}"));
    let want = [&first[0], &first[2], &second[0], &second[1]];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.t, w.t);
        assert_eq!(g.body, json(&fleet::store_row::EventRow::from(w)));
    }
    let kinds: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["incident", "dispatch", "incident", "incident"]);
    assert!(got.windows(2).all(|w| w[0].seq < w[1].seq));
    let two = store
        .incident_events(IncidentId(2))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(two.len(), 1);
    assert!(
        store
            .incident_events(IncidentId(99))
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}

fn a_track_is_queried_by_time_range(b: &dyn Backend) {
    let mut store = open(b);
    let mut track: Vec<TrackPoint> = (0..5)
        .map(|i| point("yg-1", t(10 + i), 30.3 + i as f64 * 0.001, Some(1)))
        .collect();
    track.push(point("yg-2", t(12), 30.4, None));
    // Times are kept to the millisecond.
    track.push(point(
        "yg-3",
        t(0) + Duration::microseconds(123_456),
        30.5,
        None,
    ));
    commit(
        &mut *store,
        &Batch {
            track: track.clone(),
            next_incident_id: 1,
            ..Batch::default()
        },
    );
    let yg1 = DroneId("yg-1".into());
    // Both ends inclusive, in time order.
    let got = store
        .track(&yg1, t(11), t(13))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, track[1..4].to_vec());
    // Open ends (times no database holds) give everything.
    let all = store
        .track(&yg1, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all, track[..5].to_vec());
    let yg2 = store
        .track(&DroneId("yg-2".into()), t(0), t(60))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(yg2, vec![track[5].clone()]);
    let yg3 = store
        .track(&DroneId("yg-3".into()), t(0), t(1))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        yg3.iter().map(|p| p.t).collect::<Vec<_>>(),
        vec![t(0) + Duration::milliseconds(123)]
    );
    assert!(
        store
            .track(&yg1, t(20), t(30))
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}

fn incidents_are_found_by_when_they_were_reported(b: &dyn Backend) {
    let mut store = open(b);
    commit(
        &mut *store,
        &Batch {
            incidents: (1..=3)
                .map(|i| {
                    (
                        record(i, t(i as i64 * 60), IncidentStatus::Queued),
                        meta(&format!("c{i}")),
                    )
                })
                .collect(),
            next_incident_id: 4,
            ..Batch::default()
        },
    );
    // #1 resolved later: found by when it was reported, in its new state.
    commit(
        &mut *store,
        &Batch {
            incidents: vec![(record(1, t(60), IncidentStatus::Resolved), meta("c1"))],
            next_incident_id: 4,
            ..Batch::default()
        },
    );
    let got = store
        .incidents_reported(t(60), t(180))
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<_> = got
        .iter()
        .map(|r| (r.record.incident.id.0, r.record.incident.status))
        .collect();
    // [from, to): #3, reported at `to`, is not in.
    assert_eq!(
        ids,
        vec![(1, IncidentStatus::Resolved), (2, IncidentStatus::Queued)]
    );
    assert_eq!(got[1].meta, meta("c2"));
    let all = store
        .incidents_reported(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.len(), 3);
}

fn events_are_found_by_kind_and_time(b: &dyn Backend) {
    let mut store = open(b);
    let events = vec![
        alert(t(1), "early"),
        event(
            t(2),
            What::Drone {
                drone: DroneId("yg-1".into()),
                state: DroneState::EnRoute,
                note: "launched".into(),
            },
        ),
        event(
            t(3),
            What::Notice {
                message: "n".into(),
            },
        ),
        alert(t(4), "in range"),
        alert(t(5), "at the end: out"),
    ];
    commit(
        &mut *store,
        &Batch {
            events: events.clone(),
            next_incident_id: 1,
            ..Batch::default()
        },
    );
    let got = store
        .events_between(&["alert", "notice"], t(2), t(5))
        .unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<(&str, DateTime<Utc>)> = got.iter().map(|e| (e.event.as_str(), e.t)).collect();
    assert_eq!(kinds, vec![("notice", t(3)), ("alert", t(4))]);
    assert_eq!(got[1].body["message"], "in range");
    let drones = store
        .events_between(&["drone"], t(0), t(60))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(drones.len(), 1);
    assert_eq!(drones[0].body["state"], "en_route");
    assert!(
        store
            .events_between(&[], t(0), t(60))
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}

fn the_reader_sees_what_was_committed_and_writes_nothing(b: &dyn Backend) {
    let mut store = open(b);
    commit(&mut *store, &Batch::default());
    let mut reader = store
        .reader()
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("a file or server log has a reader"));
    let batch = Batch {
        events: vec![incident_event(t(1), 1, IncidentStatus::Queued)],
        incidents: vec![(record(1, t(1), IncidentStatus::Queued), meta("r"))],
        next_incident_id: 2,
        ..Batch::default()
    };
    commit(&mut *store, &batch);
    // Committed after the reader opened: seen.
    let seen = reader
        .incidents_reported(t(0), t(60))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seen.len(), 1);
    assert_eq!(
        reader
            .incident_events(IncidentId(1))
            .unwrap_or_else(|e| panic!("{e}"))
            .len(),
        1
    );
    // Its connection only reads.
    assert!(reader.commit(&batch).is_err());
    assert_eq!(
        store
            .incident_events(IncidentId(1))
            .unwrap_or_else(|e| panic!("{e}"))
            .len(),
        1
    );
}

fn a_batch_that_fails_halfway_leaves_nothing(b: &dyn Backend) {
    let mut store = open(b);
    b.fail_tracks_above_1000();
    let batch = Batch {
        events: vec![incident_event(t(1), 1, IncidentStatus::Queued)],
        incidents: vec![(record(1, t(1), IncidentStatus::Queued), meta("x"))],
        sorties: vec![(DroneId("yg-1".into()), Some(sortie("yg-1", 1)))],
        zones: vec![ZoneChange::Upsert { zone: zone("z1") }],
        // Tracks are written after everything else: the first point goes
        // in, the second fails.
        track: vec![
            point("yg-1", t(1), 30.3, Some(1)),
            point("yg-1", t(2), 2000.0, Some(1)),
        ],
        next_incident_id: 2,
    };
    let err = store.commit(&batch).err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("no such latitude")),
        "{err:?}"
    );
    let r = store.recover().unwrap_or_else(|e| panic!("{e}"));
    assert!(r.incidents.is_empty() && r.sorties.is_empty() && r.zones.is_empty());
    assert_eq!((r.next_incident_id, r.last_event_at), (1, None));
    assert!(
        store
            .track(&DroneId("yg-1".into()), t(0), t(60))
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
    // The log goes on: the same batch without the bad point commits.
    let mut good = batch;
    good.track.truncate(1);
    commit(&mut *store, &good);
    let r = store.recover().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((r.incidents.len(), r.next_incident_id), (1, 2));
}

fn a_reopened_log_keeps_its_data(b: &dyn Backend) {
    let batch = Batch {
        events: vec![incident_event(t(1), 1, IncidentStatus::Queued)],
        incidents: vec![(record(1, t(1), IncidentStatus::Queued), meta("k"))],
        track: vec![point("yg-1", t(1), 30.3, Some(1))],
        next_incident_id: 2,
        ..Batch::default()
    };
    commit(&mut *open(b), &batch);
    for _ in 0..2 {
        let mut store = open(b);
        let r = store.recover().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.incidents.len(), r.next_incident_id), (1, 2));
        let events = store
            .incident_events(IncidentId(1))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(events.len(), 1);
        let track = store
            .track(&DroneId("yg-1".into()), t(0), t(2))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(track.len(), 1);
    }
}

fn a_newer_row_format_is_refused(b: &dyn Backend) {
    drop(open(b));
    b.set_log_format(fleet::store_row::LOG_FORMAT + 1);
    let err = b.open().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains("row format is 2, newer than this dispatcher's 1"),
        "{err}"
    );
    // The same format is fine.
    b.set_log_format(fleet::store_row::LOG_FORMAT);
    assert!(b.open().is_ok());
}

fn a_bad_row_is_an_error_not_a_panic(b: &dyn Backend) {
    drop(open(b));
    b.insert_bad_incident();
    let mut store = open(b);
    assert!(matches!(store.recover(), Err(StoreError::Decode(_))));
    assert!(matches!(
        store.incidents_reported(t(-60), t(60)),
        Err(StoreError::Decode(_))
    ));
}

/// As the fleet loop calls it: from a task on the multi-thread runtime.
fn it_is_used_from_inside_the_tokio_runtime(b: &dyn Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let store = open(b);
    let task = rt.spawn(async move {
        let mut store = store;
        let batch = Batch {
            incidents: vec![(record(1, t(1), IncidentStatus::Queued), meta("rt"))],
            next_incident_id: 2,
            ..Batch::default()
        };
        store.commit(&batch)?;
        let reader = store.reader()?;
        let seen = match reader {
            Some(r) => r.incidents_reported(t(0), t(60))?.len(),
            None => 0,
        };
        Ok::<_, StoreError>((store.recover()?.next_incident_id, seen))
    });
    let got = rt
        .block_on(task)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, (2, 1));
}

fn a_still_keeps_its_picture_beside_its_event(b: &dyn Backend) {
    let jpeg: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let entry = |id: &str, jpeg: &Vec<u8>| fleet::events::StillEntry {
        still: id.into(),
        incident: Some(IncidentId(1)),
        drone: DroneId("hn-1".into()),
        trigger: fleet::events::StillTrigger::Arrival,
        taken_at: t(3),
        lat: 30.4,
        lon: 120.5,
        alt_m: 60.0,
        heading_deg: 90.0,
        stream: 2,
        by: "auto".into(),
        bytes: jpeg.len(),
        jpeg: std::sync::Arc::new(jpeg.clone()),
    };
    let first = event(t(3), What::Still(entry("00aa11bb22cc33dd", &jpeg)));
    // The same picture stored twice (a retried commit) is one picture.
    let again = event(t(4), What::Still(entry("00aa11bb22cc33dd", &jpeg)));
    for events in [vec![first], vec![again]] {
        commit(
            &mut *open(b),
            &Batch {
                events,
                next_incident_id: 2,
                ..Batch::default()
            },
        );
    }
    let store = open(b);
    let got = store
        .still("00aa11bb22cc33dd")
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the still was committed"));
    assert_eq!(got, jpeg);
    assert_eq!(
        store
            .still("ffffffffffffffff")
            .unwrap_or_else(|e| panic!("{e}")),
        None
    );
    let events = store
        .incident_events(IncidentId(1))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.event == "still"), "{events:?}");
    // The row carries where and when, not the picture.
    assert_eq!(events[0].body["still"], "00aa11bb22cc33dd");
    assert_eq!(events[0].body["heading_deg"], 90.0);
    assert_eq!(events[0].body["bytes"], 5000);
    assert!(events[0].body.to_string().len() < 1000);
    let reader = store
        .reader()
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("a file or server log has a reader"));
    assert_eq!(
        reader
            .still("00aa11bb22cc33dd")
            .unwrap_or_else(|e| panic!("{e}")),
        Some(jpeg)
    );
}
