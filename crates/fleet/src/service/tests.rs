use super::*;
use crate::What;
use dispatch_core::config;
use dispatch_core::model::{IncidentKind, LatLon};
use dispatch_core::{DroneState, Timestamp};
use mavlink_link::link::{LinkConfig, Transport};

fn scenario() -> dispatch_core::Scenario {
    let p = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/haining.toml"
    ));
    config::load(p).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_refused_input_is_an_alert_and_the_service_goes_on() {
    let s = scenario();
    let (t, _out, _in) = Transport::memory();
    let link = mavlink_link::link::spawn(
        t,
        s.drones.iter().map(|d| d.system_id),
        LinkConfig::default(),
    );
    let manager = FleetManager::new(s, link, crate::FleetConfig::default());
    let (fleet, task) = spawn(manager, Duration::ZERO);
    let mut events = fleet.subscribe();
    // A position far outside the region, as a strange frame would report it.
    let refused = fleet
        .feed(Input::DroneUpdate {
            drone: DroneId("yg-1".into()),
            state: DroneState::EnRoute,
            position: LatLon::new(10.0, 10.0),
            battery_pct: 50.0,
        })
        .await;
    assert!(
        matches!(&refused, Err(ServiceError::Invalid(m)) if m.contains("outside")),
        "{refused:?}"
    );
    let alert = loop {
        let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap_or_else(|_| panic!("no alert"))
            .unwrap_or_else(|e| panic!("{e}"));
        // (The first alert says no vehicle is heard: there is none here.)
        if let What::Alert { message, .. } = e.what
            && !message.starts_with("no vehicle heard")
        {
            break message;
        }
    };
    assert!(alert.contains("outside"), "{alert}");
    // Still serving: an unknown incident is an error answer, a snapshot works.
    assert!(matches!(
        fleet.incident(IncidentId(99)).await,
        Err(ServiceError::UnknownIncident(IncidentId(99)))
    ));
    assert_eq!(
        fleet.snapshot().await.map(|s| s.drones.len()).ok(),
        Some(15)
    );
    fleet.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let summary = task.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(summary.open_sorties.is_empty());
}

fn service(
    store: Option<Box<dyn crate::store::Store>>,
) -> (FleetHandle, tokio::task::JoinHandle<Summary>) {
    let s = scenario();
    let (t, _out, _in) = Transport::memory();
    let link = mavlink_link::link::spawn(
        t,
        s.drones.iter().map(|d| d.system_id),
        LinkConfig::default(),
    );
    let mut manager = FleetManager::new(s, link, crate::FleetConfig::default());
    if let Some(st) = store {
        manager.with_store(st).unwrap_or_else(|e| panic!("{e}"));
    }
    spawn(manager, Duration::ZERO)
}

fn report(ext: &str) -> NewIncident {
    NewIncident {
        kind: IncidentKind::PersonInWater,
        position: LatLon::new(30.347, 120.457),
        note: Some("seen from the dyke".into()),
        source: Some("call-centre".into()),
        external_id: Some(ext.into()),
    }
}

/// A log whose disk is gone: every write fails.
#[derive(Debug)]
struct BrokenDisk;

impl crate::store::Store for BrokenDisk {
    fn backend(&self) -> crate::store::Backend {
        crate::store::Backend::Sqlite
    }
    fn commit(&mut self, _: &crate::store::Batch) -> Result<(), crate::store::StoreError> {
        Err(crate::store::StoreError::Open {
            path: "events.sqlite".into(),
            message: "disk I/O error".into(),
        })
    }
    fn recover(&mut self) -> Result<crate::store::Recovered, crate::store::StoreError> {
        Ok(crate::store::Recovered::default())
    }
    fn still(&self, _: &str) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
        Ok(None)
    }
    fn incident_events(
        &self,
        _: IncidentId,
    ) -> Result<Vec<crate::store::StoredEvent>, crate::store::StoreError> {
        Ok(vec![])
    }
    fn track(
        &self,
        _: &DroneId,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Vec<crate::store::TrackPoint>, crate::store::StoreError> {
        Ok(vec![])
    }
    fn incidents_reported(
        &self,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Vec<crate::store::IncidentRow>, crate::store::StoreError> {
        Ok(vec![])
    }
    fn events_between(
        &self,
        _: &[&str],
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Vec<crate::store::StoredEvent>, crate::store::StoreError> {
        Ok(vec![])
    }
}

/// A log that takes commits until `fenced` is set, then refuses them
/// as a fenced PostgreSQL log does; counts the commits it was asked for.
#[derive(Debug)]
struct Fenceable {
    fenced: std::sync::Arc<std::sync::atomic::AtomicBool>,
    refused: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl crate::store::Store for Fenceable {
    fn backend(&self) -> crate::store::Backend {
        crate::store::Backend::Postgres
    }
    fn commit(&mut self, _: &crate::store::Batch) -> Result<(), crate::store::StoreError> {
        use std::sync::atomic::Ordering;
        if !self.fenced.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.refused.fetch_add(1, Ordering::SeqCst);
        Err(crate::store::StoreError::Fenced {
            lease: "dispatch".into(),
            held: 1,
            current: Some(2),
            holder: Some("b".into()),
            expired: false,
        })
    }
    fn recover(&mut self) -> Result<crate::store::Recovered, crate::store::StoreError> {
        BrokenDisk.recover()
    }
    fn still(&self, id: &str) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
        BrokenDisk.still(id)
    }
    fn incident_events(
        &self,
        i: IncidentId,
    ) -> Result<Vec<crate::store::StoredEvent>, crate::store::StoreError> {
        BrokenDisk.incident_events(i)
    }
    fn track(
        &self,
        d: &DroneId,
        a: Timestamp,
        b: Timestamp,
    ) -> Result<Vec<crate::store::TrackPoint>, crate::store::StoreError> {
        BrokenDisk.track(d, a, b)
    }
    fn incidents_reported(
        &self,
        a: Timestamp,
        b: Timestamp,
    ) -> Result<Vec<crate::store::IncidentRow>, crate::store::StoreError> {
        BrokenDisk.incidents_reported(a, b)
    }
    fn events_between(
        &self,
        k: &[&str],
        a: Timestamp,
        b: Timestamp,
    ) -> Result<Vec<crate::store::StoredEvent>, crate::store::StoreError> {
        BrokenDisk.events_between(k, a, b)
    }
}

#[tokio::test]
async fn a_fenced_commit_is_final_the_alarm_goes_off_once_and_the_loop_ends() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    let fenced = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU32::new(0));
    let s = scenario();
    let (t, _out, _in) = Transport::memory();
    let link = mavlink_link::link::spawn(
        t,
        s.drones.iter().map(|d| d.system_id),
        LinkConfig::default(),
    );
    let mut manager = FleetManager::new(s, link, crate::FleetConfig::default());
    let (alarm_tx, mut alarms) = tokio::sync::mpsc::unbounded_channel();
    manager.on_fenced(move |why| {
        let _ = alarm_tx.send(why);
    });
    manager
        .with_store(Box::new(Fenceable {
            fenced: Arc::clone(&fenced),
            refused: Arc::clone(&refused),
        }))
        .unwrap_or_else(|e| panic!("{e}"));
    let (fleet, task) = spawn(manager, Duration::ZERO);
    assert!(fleet.report(report("before")).await.is_ok());
    // Another server takes the lease.
    fenced.store(true, Ordering::SeqCst);
    let answer = fleet.report(report("after")).await;
    assert!(
        matches!(&answer, Err(ServiceError::Storage(m)) if m.contains("token 2")),
        "{answer:?}"
    );
    let why = tokio::time::timeout(Duration::from_secs(5), alarms.recv())
        .await
        .unwrap_or_else(|_| panic!("no alarm"));
    assert!(why.is_some_and(|w| w.contains("dispatch")));
    // The loop ends by itself; nothing is tried again.
    let summary = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap_or_else(|_| panic!("the loop went on after a fenced commit"));
    assert!(summary.is_ok());
    assert_eq!(refused.load(Ordering::SeqCst), 1);
    assert!(alarms.try_recv().is_err(), "the alarm went off twice");
    assert!(matches!(
        fleet.report(report("later")).await,
        Err(ServiceError::Stopped)
    ));
}

#[tokio::test]
async fn a_restart_on_the_same_log_has_every_incident_zone_and_the_numbering() {
    let dir = std::env::temp_dir().join(format!("fleet-store-{}", std::process::id()));
    let path = dir.join("events.sqlite");
    let _ = std::fs::remove_file(&path);
    let open = || -> Box<dyn crate::store::Store> {
        Box::new(crate::store::SqliteStore::open(&path).unwrap_or_else(|e| panic!("{e}")))
    };
    let (fleet, task) = service(Some(open()));
    // No vehicle is heard here: the incidents queue.
    let a = fleet
        .report(report("a"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = fleet
        .report(report("b"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let zone = dispatch_core::Zone {
        id: ZoneId("drill".into()),
        name: "Drill".into(),
        kind: dispatch_core::ZoneKind::TemporaryClosure,
        polygon: geo::Polygon::new(
            geo::LineString::from(vec![
                (120.70, 30.60),
                (120.72, 30.60),
                (120.72, 30.62),
                (120.70, 30.60),
            ]),
            vec![],
        ),
        floor_m: 0.0,
        ceiling_m: 500.0,
        window: dispatch_core::ActiveWindow::PERMANENT,
        rescue_exempt: false,
    };
    fleet
        .upsert_zone(zone)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    fleet
        .cancel(b.incident.incident.id, "duplicate call".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = fleet.snapshot().await.unwrap_or_else(|e| panic!("{e}"));
    // Gone without a clean stop: only what was committed counts.
    task.abort();
    drop(fleet);

    let (fleet, task) = service(Some(open()));
    let after = fleet.snapshot().await.unwrap_or_else(|e| panic!("{e}"));
    let ids = |s: &Snapshot| {
        s.incidents
            .iter()
            .map(|i| (i.incident.id, i.incident.status, i.timeline.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(after.queue, before.queue);
    assert_eq!(after.queue, vec![a.incident.incident.id]);
    assert!(after.zones.iter().any(|z| z.id.0 == "drill"));
    let view = fleet
        .incident(a.incident.incident.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(view.meta.note.as_deref(), Some("seen from the dyke"));
    // Retried report: the same incident; a new one: the next number.
    let again = fleet
        .report(report("a"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.created);
    assert_eq!(again.incident.incident.id, a.incident.incident.id);
    let c = fleet
        .report(report("c"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.incident.incident.id, IncidentId(3));
    fleet.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let _ = task.await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_report_that_cannot_be_logged_is_not_acknowledged() {
    let (fleet, task) = service(Some(Box::new(BrokenDisk)));
    let r = fleet.report(report("x")).await;
    assert!(
        matches!(&r, Err(ServiceError::Storage(m)) if m.contains("disk I/O error")),
        "{r:?}"
    );
    // The log failed already at start-up: the report was refused before
    // it was made, and so is its retry; there is no incident.
    let r = fleet.report(report("x")).await;
    assert!(matches!(r, Err(ServiceError::Storage(_))));
    assert_eq!(fleet.incidents().await.map(|v| v.len()).ok(), Some(0));
    fleet.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let _ = task.await;
}

/// A PostgreSQL log whose database goes away and comes back: while
/// `down` is set, checks and commits fail as unreachable; with
/// `lose_next_commit`, the check before a change works but the commit
/// after it fails (the database went away in between). Keeps the ids
/// of the incidents written.
#[derive(Debug, Default)]
struct Flaky {
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    lose_next_commit: std::sync::Arc<std::sync::atomic::AtomicBool>,
    written: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<u64>>>,
}

impl Flaky {
    fn unreachable() -> crate::store::StoreError {
        crate::store::StoreError::Unavailable {
            url: "postgres://disp@db:5432/dispatch".into(),
            what: "cannot connect".into(),
            message: "Connection refused (os error 111)".into(),
        }
    }
}

impl crate::store::Store for Flaky {
    fn backend(&self) -> crate::store::Backend {
        crate::store::Backend::Postgres
    }
    fn check(&mut self) -> Result<(), crate::store::StoreError> {
        use std::sync::atomic::Ordering;
        match self.down.load(Ordering::SeqCst) {
            true => Err(Self::unreachable()),
            false => Ok(()),
        }
    }
    fn commit(&mut self, b: &crate::store::Batch) -> Result<(), crate::store::StoreError> {
        use std::sync::atomic::Ordering;
        if self.down.load(Ordering::SeqCst) || self.lose_next_commit.swap(false, Ordering::SeqCst) {
            return Err(Self::unreachable());
        }
        let mut w = self.written.lock().unwrap_or_else(|e| panic!("{e}"));
        w.extend(b.incidents.iter().map(|(r, _)| r.incident.id.0));
        Ok(())
    }
    fn recover(&mut self) -> Result<crate::store::Recovered, crate::store::StoreError> {
        BrokenDisk.recover()
    }
    fn still(&self, id: &str) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
        BrokenDisk.still(id)
    }
    fn incident_events(
        &self,
        i: IncidentId,
    ) -> Result<Vec<crate::store::StoredEvent>, crate::store::StoreError> {
        BrokenDisk.incident_events(i)
    }
    fn track(
        &self,
        d: &DroneId,
        a: Timestamp,
        b: Timestamp,
    ) -> Result<Vec<crate::store::TrackPoint>, crate::store::StoreError> {
        BrokenDisk.track(d, a, b)
    }
    fn incidents_reported(
        &self,
        a: Timestamp,
        b: Timestamp,
    ) -> Result<Vec<crate::store::IncidentRow>, crate::store::StoreError> {
        BrokenDisk.incidents_reported(a, b)
    }
    fn events_between(
        &self,
        k: &[&str],
        a: Timestamp,
        b: Timestamp,
    ) -> Result<Vec<crate::store::StoredEvent>, crate::store::StoreError> {
        BrokenDisk.events_between(k, a, b)
    }
}

#[tokio::test]
async fn while_the_database_is_unreachable_changes_are_refused_unmade_and_taken_again_once_it_is_back()
 {
    use crate::store::DatabaseState;
    use std::sync::atomic::Ordering;
    let store = Flaky::default();
    let (down, lose, written) = (
        std::sync::Arc::clone(&store.down),
        std::sync::Arc::clone(&store.lose_next_commit),
        std::sync::Arc::clone(&store.written),
    );
    let (fleet, task) = service(Some(Box::new(store)));
    let state = |f: &FleetHandle| f.database().map(|d| d.state);
    let a = fleet
        .report(report("a"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(a.created);
    assert_eq!(state(&fleet), Some(DatabaseState::Ok));

    // The database goes away: a report and a zone change are refused
    // before they are made.
    down.store(true, Ordering::SeqCst);
    let refused = fleet.report(report("b")).await;
    assert!(
        matches!(&refused, Err(ServiceError::DatabaseUnavailable { kept: false, message })
            if message.contains("unreachable") && message.contains("refused")),
        "{refused:?}"
    );
    assert!(matches!(
        fleet.remove_zone(ZoneId("drill".into())).await,
        Err(ServiceError::DatabaseUnavailable { kept: false, .. })
    ));
    assert_eq!(fleet.incidents().await.map(|v| v.len()).ok(), Some(1));
    let h = fleet.database().unwrap_or_else(|| panic!("no health"));
    assert_eq!(h.state, DatabaseState::Unreachable);
    assert!(h.last_error.is_some_and(|e| e.contains("refused")));
    // Reads go on.
    assert_eq!(
        fleet.snapshot().await.map(|s| s.drones.len()).ok(),
        Some(15)
    );

    // Back: the same report is taken, as a new incident.
    down.store(false, Ordering::SeqCst);
    let b = fleet
        .report(report("b"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(b.created && b.incident.incident.id == IncidentId(2));
    assert_eq!(state(&fleet), Some(DatabaseState::Ok));

    // Gone between the check and the commit: the change stands in
    // memory, is said not durable, and is written with the next commit;
    // its retry finds it.
    lose.store(true, Ordering::SeqCst);
    let c = fleet.report(report("c")).await;
    assert!(
        matches!(
            &c,
            Err(ServiceError::DatabaseUnavailable { kept: true, .. })
        ),
        "{c:?}"
    );
    let again = fleet
        .report(report("c"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.created && again.incident.incident.id == IncidentId(3));
    let w = written.lock().map(|w| w.clone()).unwrap_or_default();
    assert_eq!(w.into_iter().collect::<Vec<_>>(), vec![1, 2, 3]);
    fleet.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let _ = task.await;
}

/// A fleet on a memory link where yg-1 (system 11) is heard, armed in
/// the air, from a task that keeps its heartbeat going; the link's
/// outgoing frames are returned to the test.
async fn fleet_with_yg1_flying() -> (
    FleetHandle,
    tokio::task::JoinHandle<Summary>,
    tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
) {
    use mavlink_link::codec::encode_v2;
    use mavlink_link::mav::{
        HEARTBEAT_DATA, MavAutopilot, MavMessage, MavModeFlag, MavState, MavType,
    };
    let s = scenario();
    let (t, rx, tx) = Transport::memory();
    let link = mavlink_link::link::spawn(
        t,
        s.drones.iter().map(|d| d.system_id),
        LinkConfig {
            command_timeout: Duration::from_millis(300),
            command_retries: 2,
            ..LinkConfig::default()
        },
    );
    let manager = FleetManager::new(s, link, crate::FleetConfig::default());
    let (fleet, task) = spawn(manager, Duration::ZERO);
    let beat = tx.clone();
    tokio::spawn(async move {
        let hb = encode_v2(
            11,
            1,
            0,
            &MavMessage::HEARTBEAT(HEARTBEAT_DATA {
                custom_mode: 5, // LOITER
                mavtype: MavType::MAV_TYPE_QUADROTOR,
                autopilot: MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
                base_mode: MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
                    | MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED,
                system_status: MavState::MAV_STATE_ACTIVE,
                mavlink_version: 3,
            }),
        );
        while beat.send(hb.clone()).is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    // Heard: the snapshot says its link is up.
    for _ in 0..100 {
        let snap = fleet.snapshot().await.unwrap_or_else(|e| panic!("{e}"));
        if snap
            .drones
            .iter()
            .any(|d| d.id.0 == "yg-1" && d.link.status == "up" && d.armed)
        {
            return (fleet, task, rx, tx);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("yg-1 never heard");
}

#[tokio::test]
async fn a_caller_that_goes_away_mid_command_does_not_lose_its_result() {
    use mavlink_link::codec::{decode_datagram, encode_v2};
    use mavlink_link::mav::{COMMAND_ACK_DATA, MavCmd, MavMessage, MavResult};
    let (fleet, task, mut out, tx) = fleet_with_yg1_flying().await;
    let mut events = fleet.subscribe();
    let caller = tokio::spawn({
        let fleet = fleet.clone();
        async move {
            fleet
                .command(DroneId("yg-1".into()), DroneCommand::Hold)
                .await
        }
    });
    // The mode change goes out; the caller goes away before the answer.
    loop {
        let dg = tokio::time::timeout(Duration::from_secs(5), out.recv())
            .await
            .unwrap_or_else(|_| panic!("no frame sent"))
            .unwrap_or_else(|| panic!("link closed"));
        let sent = decode_datagram(&dg).into_iter().flatten().any(|f| {
            matches!(&f.message, MavMessage::COMMAND_LONG(c)
                if c.command == MavCmd::MAV_CMD_DO_SET_MODE && c.target_system == 11)
        });
        if sent {
            break;
        }
    }
    caller.abort();
    let ack = MavMessage::COMMAND_ACK(COMMAND_ACK_DATA {
        command: MavCmd::MAV_CMD_DO_SET_MODE,
        result: MavResult::MAV_RESULT_ACCEPTED,
        ..Default::default()
    });
    tx.send(encode_v2(11, 1, 0, &ack))
        .unwrap_or_else(|_| panic!("link gone"));
    let outcome = loop {
        let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap_or_else(|_| panic!("no outcome event"))
            .unwrap_or_else(|e| panic!("{e}"));
        if let What::Command {
            command,
            ok,
            detail,
            ..
        } = e.what
            && command == "hold"
            && detail != "sent"
        {
            break (ok, detail);
        }
    };
    assert_eq!(outcome, (true, "accepted by the vehicle".to_owned()));
    fleet.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let _ = task.await;
}

// Holding the reader's lock across the fleet's steps is the point.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn a_report_that_holds_the_log_open_does_not_hold_up_the_fleet() {
    let dir = std::env::temp_dir().join(format!("fleet-reader-{}", std::process::id()));
    let path = dir.join("events.sqlite");
    let _ = std::fs::remove_file(&path);
    let store = crate::store::SqliteStore::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let (fleet, task) = service(Some(Box::new(store)));
    let reader = fleet.store().unwrap_or_else(|| panic!("no reader"));
    // A long report: the reader's connection is held, inside a read
    // transaction that sees the log as it was.
    let held = reader.lock().unwrap_or_else(|e| panic!("{e}"));
    let before = held
        .incidents_reported(Timestamp::MIN_UTC, Timestamp::MAX_UTC)
        .unwrap_or_else(|e| panic!("{e}"));
    // Meanwhile the fleet steps, persists and answers: reports are durable
    // (fsynced) and answered, zones too, while the reader is held.
    for i in 0..5 {
        // (With the old shared lock this never returned: a deadlock, not a timing.)
        let r = tokio::time::timeout(
            Duration::from_secs(30),
            fleet.report(report(&format!("held-{i}"))),
        )
        .await
        .unwrap_or_else(|_| panic!("the fleet waited on the reader"))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.created);
    }
    assert_eq!(fleet.incidents().await.map(|v| v.len()).ok(), Some(5));
    // The reader, once let go, sees what was written meanwhile.
    let after = held
        .incidents_reported(Timestamp::MIN_UTC, Timestamp::MAX_UTC)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((before.len(), after.len()), (0, 5));
    drop(held);
    fleet.stop().await.unwrap_or_else(|e| panic!("{e}"));
    let _ = task.await;
    let _ = std::fs::remove_dir_all(&dir);
}
