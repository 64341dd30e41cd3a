//! The link's protocols against a scripted vehicle over the in-memory
//! transport, including lost and duplicated packets.

use std::time::Duration;

use mavlink_link::codec::{decode_datagram, encode_v2};
use mavlink_link::link::{
    self, CommandError, LinkConfig, LinkEvent, ParamError, Transport, UploadError,
};
use mavlink_link::mav::{
    COMMAND_ACK_DATA, HEARTBEAT_DATA, MISSION_ACK_DATA, MISSION_ITEM_INT_DATA,
    MISSION_REQUEST_INT_DATA, MavAutopilot, MavCmd, MavMessage, MavMissionResult, MavMissionType,
    MavModeFlag, MavParamType, MavResult, MavState, MavType, PARAM_VALUE_DATA,
};
use mavlink_link::modes::FlightMode;
use mavlink_link::state::LinkStatus;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

const V: u8 = 11;

fn cfg() -> LinkConfig {
    LinkConfig {
        command_timeout: Duration::from_millis(200),
        command_retries: 3,
        mission_timeout: Duration::from_millis(200),
        ..LinkConfig::default()
    }
}

fn heartbeat() -> Vec<u8> {
    encode_v2(
        V,
        1,
        0,
        &MavMessage::HEARTBEAT(HEARTBEAT_DATA {
            custom_mode: 0,
            mavtype: MavType::MAV_TYPE_QUADROTOR,
            autopilot: MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
            base_mode: MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
            system_status: MavState::MAV_STATE_STANDBY,
            mavlink_version: 3,
        }),
    )
}

/// Next frame from the link that is not a heartbeat or a stream request.
async fn next(rx: &mut UnboundedReceiver<Vec<u8>>) -> MavMessage {
    loop {
        let dg = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("link sent nothing"))
            .unwrap_or_else(|| panic!("link closed"));
        for f in decode_datagram(&dg) {
            let f = f.unwrap_or_else(|e| panic!("link sent a bad frame: {e}"));
            match &f.message {
                MavMessage::HEARTBEAT(_) => continue,
                MavMessage::COMMAND_LONG(c)
                    if c.command == MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL =>
                {
                    continue;
                }
                m => return m.clone(),
            }
        }
    }
}

fn ack(tx: &UnboundedSender<Vec<u8>>, command: MavCmd, result: MavResult) {
    let m = MavMessage::COMMAND_ACK(COMMAND_ACK_DATA {
        command,
        result,
        ..Default::default()
    });
    tx.send(encode_v2(V, 1, 0, &m))
        .unwrap_or_else(|_| panic!("link gone"));
}

async fn seen_link() -> (
    link::LinkHandle,
    UnboundedReceiver<Vec<u8>>,
    UnboundedSender<Vec<u8>>,
) {
    let (t, rx, tx) = Transport::memory();
    let h = link::spawn(t, [V], cfg());
    let mut events = h.subscribe();
    tx.send(heartbeat()).unwrap_or_else(|_| panic!("link gone"));
    loop {
        if let Ok(LinkEvent::LinkStatus {
            status: LinkStatus::Up,
            ..
        }) = events.recv().await
        {
            break;
        }
    }
    (h, rx, tx)
}

#[tokio::test]
async fn a_lost_command_is_retransmitted_with_an_incremented_confirmation() {
    let (h, mut rx, tx) = seen_link().await;
    let task = tokio::spawn({
        let h = h.clone();
        async move { h.arm(V, true).await }
    });
    let MavMessage::COMMAND_LONG(first) = next(&mut rx).await else {
        panic!("expected COMMAND_LONG")
    };
    assert_eq!(
        (first.command, first.confirmation, first.param1),
        (MavCmd::MAV_CMD_COMPONENT_ARM_DISARM, 0, 1.0)
    );
    // Lost: no ack. The retry comes with confirmation 1.
    let MavMessage::COMMAND_LONG(second) = next(&mut rx).await else {
        panic!("expected a retransmission")
    };
    assert_eq!(second.confirmation, 1);
    ack(
        &tx,
        MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        MavResult::MAV_RESULT_ACCEPTED,
    );
    // A duplicated ack is harmless.
    ack(
        &tx,
        MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        MavResult::MAV_RESULT_ACCEPTED,
    );
    assert_eq!(task.await.ok(), Some(Ok(())));
}

#[tokio::test]
async fn denial_in_progress_and_timeout_are_typed() {
    let (h, mut rx, tx) = seen_link().await;
    let task = tokio::spawn({
        let h = h.clone();
        async move { h.set_mode(V, FlightMode::Guided).await }
    });
    let MavMessage::COMMAND_LONG(c) = next(&mut rx).await else {
        panic!("expected COMMAND_LONG")
    };
    assert_eq!(
        (c.command, c.param1, c.param2),
        (MavCmd::MAV_CMD_DO_SET_MODE, 1.0, 4.0)
    );
    ack(
        &tx,
        MavCmd::MAV_CMD_DO_SET_MODE,
        MavResult::MAV_RESULT_DENIED,
    );
    assert_eq!(
        task.await.ok(),
        Some(Err(CommandError::Rejected {
            system_id: V,
            command: MavCmd::MAV_CMD_DO_SET_MODE,
            result: MavResult::MAV_RESULT_DENIED
        }))
    );

    // IN_PROGRESS holds off retransmission; the final ACCEPTED completes it.
    let task = tokio::spawn({
        let h = h.clone();
        async move {
            h.command_long(
                V,
                MavCmd::MAV_CMD_NAV_TAKEOFF,
                [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 30.0],
            )
            .await
        }
    });
    let _ = next(&mut rx).await;
    ack(
        &tx,
        MavCmd::MAV_CMD_NAV_TAKEOFF,
        MavResult::MAV_RESULT_IN_PROGRESS,
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(rx.try_recv().map(|d| decode_datagram(&d)).map_or(true, |fs| fs.iter().all(|f| !matches!(
        f,
        Ok(fr) if matches!(&fr.message, MavMessage::COMMAND_LONG(c) if c.command == MavCmd::MAV_CMD_NAV_TAKEOFF)
    ))));
    ack(
        &tx,
        MavCmd::MAV_CMD_NAV_TAKEOFF,
        MavResult::MAV_RESULT_ACCEPTED,
    );
    assert_eq!(task.await.ok(), Some(Ok(())));

    // Never answered: four attempts, then a timeout error.
    let r = h.command_long(V, MavCmd::MAV_CMD_NAV_LAND, [0.0; 7]).await;
    assert_eq!(
        r,
        Err(CommandError::Timeout {
            system_id: V,
            command: MavCmd::MAV_CMD_NAV_LAND,
            attempts: 4
        })
    );
    assert_eq!(h.arm(99, true).await, Err(CommandError::UnknownVehicle(99)));
}

#[tokio::test]
async fn mission_upload_survives_a_lost_count_and_duplicate_requests() {
    let (h, mut rx, tx) = seen_link().await;
    let items: Vec<MISSION_ITEM_INT_DATA> = (0..3)
        .map(|i| MISSION_ITEM_INT_DATA {
            command: MavCmd::MAV_CMD_NAV_WAYPOINT,
            x: 303_000_000 + i,
            ..Default::default()
        })
        .collect();
    let task = tokio::spawn({
        let h = h.clone();
        async move {
            h.upload(V, MavMissionType::MAV_MISSION_TYPE_FENCE, items)
                .await
        }
    });
    let MavMessage::MISSION_COUNT(c) = next(&mut rx).await else {
        panic!("expected MISSION_COUNT")
    };
    assert_eq!(
        (c.count, c.mission_type),
        (3, MavMissionType::MAV_MISSION_TYPE_FENCE)
    );
    // The count is "lost": the link sends it again.
    let MavMessage::MISSION_COUNT(_) = next(&mut rx).await else {
        panic!("expected MISSION_COUNT again")
    };
    let request = |seq| {
        encode_v2(
            V,
            1,
            0,
            &MavMessage::MISSION_REQUEST_INT(MISSION_REQUEST_INT_DATA {
                seq,
                target_system: 255,
                target_component: 190,
                mission_type: MavMissionType::MAV_MISSION_TYPE_FENCE,
            }),
        )
    };
    for seq in [0u16, 1, 1, 2] {
        tx.send(request(seq))
            .unwrap_or_else(|_| panic!("link gone"));
        let MavMessage::MISSION_ITEM_INT(it) = next(&mut rx).await else {
            panic!("expected MISSION_ITEM_INT {seq}")
        };
        assert_eq!((it.seq, it.x), (seq, 303_000_000 + i32::from(seq)));
        assert_eq!(it.mission_type, MavMissionType::MAV_MISSION_TYPE_FENCE);
    }
    let reject = MavMessage::MISSION_ACK(MISSION_ACK_DATA {
        mavtype: MavMissionResult::MAV_MISSION_INVALID,
        mission_type: MavMissionType::MAV_MISSION_TYPE_FENCE,
        ..Default::default()
    });
    tx.send(encode_v2(V, 1, 0, &reject))
        .unwrap_or_else(|_| panic!("link gone"));
    assert_eq!(
        task.await.ok(),
        Some(Err(UploadError::Rejected {
            system_id: V,
            kind: MavMissionType::MAV_MISSION_TYPE_FENCE,
            result: MavMissionResult::MAV_MISSION_INVALID
        }))
    );
}

#[tokio::test]
async fn a_lost_final_ack_is_settled_by_the_vehicles_count_and_invalid_sequence_is_not_fatal() {
    let (h, mut rx, tx) = seen_link().await;
    let kind = MavMissionType::MAV_MISSION_TYPE_MISSION;
    let items: Vec<MISSION_ITEM_INT_DATA> = (0..2)
        .map(|i| MISSION_ITEM_INT_DATA {
            command: MavCmd::MAV_CMD_NAV_WAYPOINT,
            x: 303_000_000 + i,
            ..Default::default()
        })
        .collect();
    let task = tokio::spawn({
        let h = h.clone();
        async move { h.upload(V, kind, items).await }
    });
    let send = |m: MavMessage| {
        tx.send(encode_v2(V, 1, 0, &m))
            .unwrap_or_else(|_| panic!("link gone"))
    };
    let MavMessage::MISSION_COUNT(_) = next(&mut rx).await else {
        panic!("expected MISSION_COUNT")
    };
    for seq in [0u16, 1] {
        send(MavMessage::MISSION_REQUEST_INT(MISSION_REQUEST_INT_DATA {
            seq,
            target_system: 255,
            target_component: 190,
            mission_type: kind,
        }));
        let MavMessage::MISSION_ITEM_INT(it) = next(&mut rx).await else {
            panic!("expected item {seq}")
        };
        assert_eq!(it.seq, seq);
    }
    // ArduPilot's answer to a resent item: not the end of the upload.
    send(MavMessage::MISSION_ACK(MISSION_ACK_DATA {
        mavtype: MavMissionResult::MAV_MISSION_INVALID_SEQUENCE,
        mission_type: kind,
        ..Default::default()
    }));
    // The final MISSION_ACK is "lost": on silence the link resends the last
    // item and asks for the vehicle's count.
    let asked = loop {
        match next(&mut rx).await {
            MavMessage::MISSION_ITEM_INT(it) => assert_eq!(it.seq, 1),
            MavMessage::MISSION_REQUEST_LIST(r) => break r,
            m => panic!("unexpected {m:?}"),
        }
    };
    assert_eq!((asked.target_system, asked.mission_type), (V, kind));
    send(MavMessage::MISSION_COUNT(mavlink_mission_count(2, kind)));
    assert_eq!(task.await.ok(), Some(Ok(())));
}

fn mavlink_mission_count(
    count: u16,
    mission_type: MavMissionType,
) -> mavlink_link::mav::MISSION_COUNT_DATA {
    mavlink_link::mav::MISSION_COUNT_DATA {
        count,
        target_system: 255,
        target_component: 190,
        mission_type,
        ..Default::default()
    }
}

#[tokio::test]
async fn heartbeat_loss_and_strangers_are_reported() {
    let (h, _rx, tx) = seen_link().await;
    let mut events = h.subscribe();
    let mut stranger = heartbeat();
    stranger[5] = 42; // system id 42: rewrite and fix nothing else -> the CRC still covers it
    // A correct frame from system 42 instead:
    let hb42 = encode_v2(42, 1, 0, &MavMessage::HEARTBEAT(HEARTBEAT_DATA::default()));
    tx.send(stranger).unwrap_or_else(|_| panic!("link gone"));
    tx.send(hb42).unwrap_or_else(|_| panic!("link gone"));
    let mut saw_bad = false;
    let mut saw_stranger = false;
    let mut saw_lost = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    while !(saw_bad && saw_stranger && saw_lost) && tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
            Ok(Ok(LinkEvent::BadFrame { .. })) => saw_bad = true,
            Ok(Ok(LinkEvent::UnknownSystem { system_id: 42 })) => saw_stranger = true,
            Ok(Ok(LinkEvent::LinkStatus {
                system_id: V,
                status: LinkStatus::Lost,
            })) => saw_lost = true,
            _ => {}
        }
    }
    assert!(
        saw_bad && saw_stranger && saw_lost,
        "bad {saw_bad} stranger {saw_stranger} lost {saw_lost}"
    );
    assert_eq!(h.counters().unknown_systems.get(&42), Some(&1));
}

#[tokio::test]
async fn tcp_link_reassembles_frames_split_across_reads() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let h = link::connect(&link::Address::TcpOut(addr), [V], cfg())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (mut vehicle, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
    // A heartbeat sent in two pieces, with the first half of the next frame glued on.
    let hb = heartbeat();
    let ack_frame = encode_v2(
        V,
        1,
        1,
        &MavMessage::COMMAND_ACK(COMMAND_ACK_DATA {
            command: MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            result: MavResult::MAV_RESULT_ACCEPTED,
            ..Default::default()
        }),
    );
    vehicle
        .write_all(&hb[..5])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    vehicle.flush().await.unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    vehicle
        .write_all(&hb[5..])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let task = tokio::spawn({
        let h = h.clone();
        async move {
            // Wait until the vehicle is known, then arm.
            while h.vehicle(V).is_none_or(|v| v.last_heartbeat.is_none()) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            h.arm(V, true).await
        }
    });
    // Read the link's bytes until its COMMAND_LONG arrives, then ack in two pieces.
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), vehicle.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("nothing from the link"))
            .unwrap_or_else(|e| panic!("{e}"));
        got.extend_from_slice(&buf[..n]);
        let arm = decode_datagram(&got).into_iter().flatten().any(|f| {
            matches!(&f.message, MavMessage::COMMAND_LONG(c) if c.command == MavCmd::MAV_CMD_COMPONENT_ARM_DISARM)
        });
        if arm {
            break;
        }
    }
    vehicle
        .write_all(&ack_frame[..7])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    vehicle.flush().await.unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    vehicle
        .write_all(&ack_frame[7..])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(task.await.ok(), Some(Ok(())));
    assert_eq!(h.counters().bad_frames, 0);
}

#[tokio::test]
async fn px4_mode_changes_are_encoded_as_main_and_sub_mode() {
    let (t, mut rx, tx) = Transport::memory();
    let h = link::spawn(t, [V], cfg());
    let mut events = h.subscribe();
    let px4 = MavMessage::HEARTBEAT(HEARTBEAT_DATA {
        custom_mode: 0x0004_0000 | 0x0300_0000, // AUTO.LOITER
        mavtype: MavType::MAV_TYPE_QUADROTOR,
        autopilot: MavAutopilot::MAV_AUTOPILOT_PX4,
        base_mode: MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
        system_status: MavState::MAV_STATE_STANDBY,
        mavlink_version: 3,
    });
    tx.send(encode_v2(V, 1, 0, &px4))
        .unwrap_or_else(|_| panic!("link gone"));
    loop {
        if let Ok(LinkEvent::LinkStatus {
            status: LinkStatus::Up,
            ..
        }) = events.recv().await
        {
            break;
        }
    }
    assert_eq!(h.vehicle(V).map(|v| v.mode), Some(FlightMode::Guided));
    let task = tokio::spawn({
        let h = h.clone();
        async move { h.set_mode(V, FlightMode::Rtl).await }
    });
    let MavMessage::COMMAND_LONG(c) = next(&mut rx).await else {
        panic!("expected COMMAND_LONG")
    };
    // PX4: param2 = main mode AUTO (4), param3 = sub mode RTL (5).
    assert_eq!(
        (c.command, c.param1, c.param2, c.param3),
        (MavCmd::MAV_CMD_DO_SET_MODE, 1.0, 4.0, 5.0)
    );
    ack(
        &tx,
        MavCmd::MAV_CMD_DO_SET_MODE,
        MavResult::MAV_RESULT_ACCEPTED,
    );
    assert_eq!(task.await.ok(), Some(Ok(())));
    // BRAKE has no PX4 equivalent: refused before anything is sent.
    assert_eq!(
        h.set_mode(V, FlightMode::Brake).await,
        Err(CommandError::NoSuchMode {
            system_id: V,
            mode: FlightMode::Brake
        })
    );
}

#[tokio::test]
async fn an_upload_nobody_waits_for_is_superseded_but_a_live_one_is_not() {
    let (h, mut rx, tx) = seen_link().await;
    let items = |n: i32| -> Vec<MISSION_ITEM_INT_DATA> {
        (0..n)
            .map(|i| MISSION_ITEM_INT_DATA {
                command: MavCmd::MAV_CMD_NAV_WAYPOINT,
                x: 303_000_000 + i,
                ..Default::default()
            })
            .collect()
    };
    let kind = MavMissionType::MAV_MISSION_TYPE_MISSION;
    let first = tokio::spawn({
        let (h, it) = (h.clone(), items(2));
        async move { h.upload(V, kind, it).await }
    });
    let MavMessage::MISSION_COUNT(c) = next(&mut rx).await else {
        panic!("expected MISSION_COUNT")
    };
    assert_eq!(c.count, 2);
    // While its requester waits, a second upload is refused as busy.
    assert_eq!(
        h.upload(V, kind, items(3)).await,
        Err(UploadError::Busy { system_id: V })
    );
    // The requester gives up (a launch called off): the next upload starts over.
    first.abort();
    let _ = first.await;
    let second = tokio::spawn({
        let (h, it) = (h.clone(), items(3));
        async move { h.upload(V, kind, it).await }
    });
    loop {
        if let MavMessage::MISSION_COUNT(c) = next(&mut rx).await
            && c.count == 3
        {
            break;
        }
    }
    for seq in 0u16..3 {
        let req = MavMessage::MISSION_REQUEST_INT(MISSION_REQUEST_INT_DATA {
            seq,
            target_system: 255,
            target_component: 190,
            mission_type: kind,
        });
        tx.send(encode_v2(V, 1, 0, &req))
            .unwrap_or_else(|_| panic!("link gone"));
        loop {
            if let MavMessage::MISSION_ITEM_INT(it) = next(&mut rx).await
                && it.seq == seq
            {
                break;
            }
        }
    }
    let ok = MavMessage::MISSION_ACK(MISSION_ACK_DATA {
        mavtype: MavMissionResult::MAV_MISSION_ACCEPTED,
        mission_type: kind,
        ..Default::default()
    });
    tx.send(encode_v2(V, 1, 0, &ok))
        .unwrap_or_else(|_| panic!("link gone"));
    assert_eq!(second.await.ok(), Some(Ok(())));
}

fn param_value(tx: &UnboundedSender<Vec<u8>>, name: &str, value: f32, t: MavParamType) {
    let m = MavMessage::PARAM_VALUE(PARAM_VALUE_DATA {
        param_value: value,
        param_count: 40,
        param_index: 3,
        param_id: name.into(),
        param_type: t,
    });
    tx.send(encode_v2(V, 1, 0, &m))
        .unwrap_or_else(|_| panic!("link gone"));
}

#[tokio::test]
async fn a_parameter_is_read_set_and_verified_against_the_read_back() {
    let (link, mut rx, tx) = seen_link().await;
    let l = link.clone();
    let set = tokio::spawn(async move { l.set_param(V, "FS_OPTIONS", 10.0).await });
    // First a read (for the type); the first request is lost and resent.
    for _ in 0..2 {
        match next(&mut rx).await {
            MavMessage::PARAM_REQUEST_READ(r) => {
                assert_eq!(r.param_id.to_str().ok(), Some("FS_OPTIONS"));
                assert_eq!((r.param_index, r.target_system), (-1, V));
            }
            m => panic!("expected PARAM_REQUEST_READ, got {m:?}"),
        }
    }
    param_value(&tx, "FS_OPTIONS", 0.0, MavParamType::MAV_PARAM_TYPE_INT32);
    match next(&mut rx).await {
        MavMessage::PARAM_SET(p) => {
            assert_eq!(p.param_id.to_str().ok(), Some("FS_OPTIONS"));
            assert_eq!(p.param_value, 10.0);
            assert_eq!(p.param_type, MavParamType::MAV_PARAM_TYPE_INT32);
        }
        m => panic!("expected PARAM_SET, got {m:?}"),
    }
    // Another parameter's value does not answer this request.
    param_value(
        &tx,
        "FS_GCS_ENABLE",
        10.0,
        MavParamType::MAV_PARAM_TYPE_INT8,
    );
    param_value(&tx, "FS_OPTIONS", 10.0, MavParamType::MAV_PARAM_TYPE_INT32);
    let got = set
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.value, 10.0);

    // A vehicle that keeps the old value is caught by the read-back.
    let l = link.clone();
    let set = tokio::spawn(async move { l.set_param(V, "FS_GCS_ENABLE", 4.0).await });
    assert!(matches!(
        next(&mut rx).await,
        MavMessage::PARAM_REQUEST_READ(_)
    ));
    param_value(&tx, "FS_GCS_ENABLE", 1.0, MavParamType::MAV_PARAM_TYPE_INT8);
    assert!(matches!(next(&mut rx).await, MavMessage::PARAM_SET(_)));
    param_value(&tx, "FS_GCS_ENABLE", 1.0, MavParamType::MAV_PARAM_TYPE_INT8);
    let err = set
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .expect_err("a mismatch is an error");
    assert!(
        matches!(
            err,
            ParamError::Mismatch {
                wanted: 4.0,
                got: 1.0,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("FS_GCS_ENABLE = 1"), "{err}");

    // Silence: a typed timeout after the retries; bad names never go out.
    let err = link
        .param(V, "SRTL_POINTS")
        .await
        .expect_err("nobody answers");
    assert!(
        matches!(err, ParamError::Timeout { attempts: 4, .. }),
        "{err}"
    );
    assert!(matches!(
        link.set_param(V, "A_NAME_LONGER_THAN_16", 1.0).await,
        Err(ParamError::BadName(_))
    ));
    assert!(matches!(
        link.set_param(V, "FS_OPTIONS", f64::NAN).await,
        Err(ParamError::BadValue(_))
    ));
}

#[tokio::test]
async fn a_shut_send_gate_lets_no_frame_out_and_an_open_one_lets_them_all() {
    let gate = link::SendGate::closed();
    let (t, mut rx, tx) = Transport::memory();
    let h = link::spawn(
        t,
        [V],
        LinkConfig {
            send_gate: Some(gate.clone()),
            command_timeout: Duration::from_millis(300),
            command_retries: 20,
            ..cfg()
        },
    );
    tx.send(heartbeat()).unwrap_or_else(|_| panic!("link gone"));
    // Heard, heartbeats due, a command asked: nothing goes out while shut.
    let task = tokio::spawn({
        let h = h.clone();
        async move { h.arm(V, true).await }
    });
    let quiet = tokio::time::timeout(Duration::from_millis(1200), rx.recv()).await;
    assert!(quiet.is_err(), "a frame left a shut gate: {quiet:?}");
    assert!(gate.refused() > 0);
    // Opened: the retransmission of the command goes out.
    gate.open_until(std::time::Instant::now() + Duration::from_secs(60));
    let MavMessage::COMMAND_LONG(c) = next(&mut rx).await else {
        panic!("expected COMMAND_LONG")
    };
    assert_eq!(c.command, MavCmd::MAV_CMD_COMPONENT_ARM_DISARM);
    ack(
        &tx,
        MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        MavResult::MAV_RESULT_ACCEPTED,
    );
    let _ = task.await;
    // Closed for good: the heartbeats stop.
    gate.close();
    while rx.try_recv().is_ok() {}
    let quiet = tokio::time::timeout(Duration::from_millis(1200), rx.recv()).await;
    assert!(quiet.is_err(), "a frame left a closed gate: {quiet:?}");
}
