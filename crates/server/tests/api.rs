//! The HTTP API through `app(state)` + `oneshot`, on the demo scenario flown
//! by the in-process simulator.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use dispatch_core::model::IncidentKind;
use serde_json::{Value, json};
use support::*;

const LAOYANCANG: &str = r#"{"kind":"person_in_water","lat":30.347,"lon":120.457}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_openapi_need_no_token() {
    let h = harness().await;
    let (st, v) = call(&h.state, "GET", "/api/health", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["vehicles"]["configured"], 15);
    assert_eq!(v["vehicles"]["link_up"], 15);
    // No event log here: no database to report on.
    assert_eq!(
        (&v["event_log"], &v["database"]),
        (&json!(false), &Value::Null)
    );
    let (st, v) = call(&h.state, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let paths = v["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("no paths: {v}"));
    for p in [
        "/api/incidents",
        "/api/incidents/{id}/dispatch",
        "/api/drones/{id}/command",
        "/api/zones/{id}",
        "/api/hangars",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(v["components"]["schemas"]["IncidentRequest"].is_object());
    // Health's database, typed: its states are the document's.
    assert_eq!(
        v["components"]["schemas"]["DatabaseState"]["enum"],
        json!(["ok", "unreachable", "failing", "fenced"])
    );
    assert!(v["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_and_missing_or_wrong_tokens() {
    let h = harness().await;
    let s = &h.state;
    // Missing and unknown tokens.
    let (st, v) = call(s, "GET", "/api/drones", None, None).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (st, v) = call(s, "GET", "/api/drones", Some("wrong-token"), None).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    // Viewer: reads, cannot report or change zones.
    for uri in [
        "/api/drones",
        "/api/hangars",
        "/api/zones",
        "/api/incidents",
        "/api/config",
    ] {
        let (st, _) = call(s, "GET", uri, Some(VIEWER), None).await;
        assert_eq!(st, StatusCode::OK, "viewer GET {uri}");
    }
    let (st, v) = call(s, "POST", "/api/incidents", Some(VIEWER), Some(LAOYANCANG)).await;
    assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    assert!(message(&v).contains("dispatcher"), "{v}");
    let (st, _) = call(
        s,
        "POST",
        "/api/drones/yg-1/command",
        Some(VIEWER),
        Some(r#"{"action":"rtl"}"#),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Dispatcher: incidents yes, zones no.
    let (st, _) = call(
        s,
        "POST",
        "/api/zones",
        Some(DISPATCHER),
        Some(&zone_feature("z-test")),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = call(s, "DELETE", "/api/zones/z-test", Some(DISPATCHER), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Admin: everything.
    let (st, v) = call(
        s,
        "POST",
        "/api/zones",
        Some(ADMIN),
        Some(&zone_feature("z-test")),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, _) = call(s, "GET", "/api/drones", Some(ADMIN), None).await;
    assert_eq!(st, StatusCode::OK);
    // Nothing was reported by the refused requests.
    let (_, v) = call(s, "GET", "/api/incidents", Some(VIEWER), None).await;
    assert_eq!(v, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_incident_fields_are_named_and_change_nothing() {
    let h = harness().await;
    let s = &h.state;
    let cases: &[(&str, StatusCode, &str)] = &[
        (
            r#"{"kind":"person_in_water","lat":91,"lon":120.457}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`lat`",
        ),
        (
            r#"{"kind":"person_in_water","lat":30.3,"lon":-181}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`lon`",
        ),
        (
            r#"{"kind":"person_in_water","lat":"NaN","lon":120.457}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`lat`",
        ),
        (
            r#"{"kind":"person_in_water","lat":1e999,"lon":120.457}"#,
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            r#"{"kind":"person_in_water","lat":30.347}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`lon`",
        ),
        (
            r#"{"kind":"alien_landing","lat":30.347,"lon":120.457}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown incident kind `alien_landing`",
        ),
        (
            r#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"colour":"red"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`colour`",
        ),
        (
            r#"{"kind":"person_in_water","lat":10.0,"lon":100.0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside the operating region",
        ),
        (
            r#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"external_id":"x1"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`source`",
        ),
        (
            r#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"note":""}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`note`",
        ),
        (
            r#"{"kind":5,"lat":30.347,"lon":120.457}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`kind`",
        ),
        (
            r#"{"kind":"patrol","lat":30.347,"lon":120.457}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "patrols",
        ),
        (
            r#"{"kind":"person_in_water","#,
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (r#"[1,2]"#, StatusCode::UNPROCESSABLE_ENTITY, "invalid type"),
        ("", StatusCode::BAD_REQUEST, "empty"),
    ];
    for (body, status, needle) in cases {
        let (st, v) = call(s, "POST", "/api/incidents", Some(DISPATCHER), Some(body)).await;
        assert_eq!(st, *status, "{body} -> {v}");
        assert!(
            message(&v).contains(needle),
            "{body}: `{}` lacks {needle}",
            message(&v)
        );
        assert!(!code(&v).is_empty());
    }
    let big = format!(
        r#"{{"kind":"person_in_water","lat":30.347,"lon":120.457,"note":"{}"}}"#,
        "x".repeat(70_000)
    );
    let (st, v) = call(s, "POST", "/api/incidents", Some(DISPATCHER), Some(&big)).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let (_, v) = call(s, "GET", "/api/incidents", Some(VIEWER), None).await;
    assert_eq!(v, json!([]), "a refused report must not open an incident");
    // Unknown ids.
    let (st, v) = call(s, "GET", "/api/incidents/42", Some(VIEWER), None).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (st, v) = call(s, "GET", "/api/incidents/abc", Some(VIEWER), None).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "bad_request"));
    let (st, _) = call(s, "GET", "/api/drones/nope", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = call(s, "GET", "/api/incidents?status=weird", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescue_is_launched_with_route_and_a_retried_webhook_finds_it() {
    let h = harness().await;
    let s = &h.state;
    let body = r#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"note":"a man in the water by the spur dike","source":"shore-camera-7","external_id":"evt-1001"}"#;
    let (st, v) = call(s, "POST", "/api/incidents", Some(DISPATCHER), Some(body)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["created"], true);
    assert_eq!(v["status"], "assigned");
    assert_eq!(v["drone"], "yg-1");
    assert_eq!(v["source"], "shore-camera-7");
    assert_eq!(v["route"]["type"], "LineString");
    let coords = v["route"]["coordinates"].as_array().map_or(0, Vec::len);
    assert!(coords >= 2, "route: {}", v["route"]);
    assert!(v["eta"].is_string());
    assert!(
        v["assignment"]["energy"]["total_pct"]
            .as_f64()
            .is_some_and(|p| p > 0.0)
    );
    assert!(
        !v["assignment"]["alternatives"]
            .as_array()
            .is_none_or(Vec::is_empty)
    );
    let id = v["id"].as_u64().unwrap_or_else(|| panic!("id: {v}"));
    // The retried webhook: same incident, not a second one.
    let (st, again) = call(s, "POST", "/api/incidents", Some(DISPATCHER), Some(body)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (again["created"].clone(), again["id"].clone()),
        (json!(false), json!(id))
    );
    let (_, list) = call(s, "GET", "/api/incidents", Some(VIEWER), None).await;
    assert_eq!(list.as_array().map_or(0, Vec::len), 1);
    // The time line is there, and the drone is busy.
    let (_, inc) = call(
        s,
        "GET",
        &format!("/api/incidents/{id}"),
        Some(VIEWER),
        None,
    )
    .await;
    assert!(
        inc["timeline"].as_array().is_some_and(|t| t.len() >= 2),
        "{inc}"
    );
    let (_, d) = call(s, "GET", "/api/drones/yg-1", Some(VIEWER), None).await;
    assert_eq!(d["incident"], json!(id));
    // Cancelled: it ends; cancelling again is a conflict.
    let (st, v) = call(
        s,
        "POST",
        &format!("/api/incidents/{id}/cancel"),
        Some(DISPATCHER),
        Some(r#"{"reason":"false alarm"}"#),
    )
    .await;
    assert_eq!(
        (st, v["status"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    let (st, v) = call(
        s,
        "POST",
        &format!("/api/incidents/{id}/cancel"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "conflict"));
    let (_, open) = call(s, "GET", "/api/incidents?status=open", Some(VIEWER), None).await;
    assert_eq!(open, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_configured_to_wait_is_proposed_then_dispatched() {
    let mut sc = scenario();
    sc.auto_launch.insert(IncidentKind::ForestFire, false);
    let h = harness_with(sc, 50.0, dispatch_server::HubConfig::default()).await;
    let s = &h.state;
    let (st, v) = call(
        s,
        "POST",
        "/api/incidents",
        Some(DISPATCHER),
        Some(r#"{"kind":"forest_fire","lat":30.43,"lon":120.88}"#),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "proposed");
    let id = v["id"].as_u64().unwrap_or_default();
    let drone = v["drone"].as_str().unwrap_or_default().to_owned();
    let (st, v) = call(
        s,
        "POST",
        &format!("/api/incidents/{id}/dispatch"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!(
        (st, v["status"].clone()),
        (StatusCode::OK, json!("assigned")),
        "{v}"
    );
    let (st, v) = call(
        s,
        "POST",
        &format!("/api/incidents/{id}/dispatch"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    // It flies: the drone leaves its hangar.
    wait_for(s, &format!("/api/drones/{drone}"), |d| {
        d["armed"] == true && d["alt_m"].as_f64().unwrap_or(0.0) > 5.0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_are_checked_and_answered_by_the_vehicle() {
    let h = harness().await;
    let s = &h.state;
    let cmd = |d: &str, b: &'static str| (format!("/api/drones/{d}/command"), b);
    let (u, b) = cmd("yg-1", r#"{"action":"rtl"}"#);
    let (st, v) = call(s, "POST", &u, Some(DISPATCHER), Some(b)).await;
    assert_eq!(st, StatusCode::CONFLICT, "a docked drone cannot RTL: {v}");
    let (u, b) = cmd("yg-1", r#"{"action":"dance"}"#);
    let (st, v) = call(s, "POST", &u, Some(DISPATCHER), Some(b)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&v).contains("unknown action"));
    let (u, b) = cmd("yg-1", r#"{"action":"goto","lat":30.4}"#);
    let (st, _) = call(s, "POST", &u, Some(DISPATCHER), Some(b)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (u, b) = cmd("yg-1", r#"{"action":"rtl","lat":30.4}"#);
    let (st, _) = call(s, "POST", &u, Some(DISPATCHER), Some(b)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (u, b) = cmd("zz-9", r#"{"action":"rtl"}"#);
    let (st, _) = call(s, "POST", &u, Some(DISPATCHER), Some(b)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // A flying drone: hold, then resume; the vehicle's mode follows.
    let (st, v) = call(
        s,
        "POST",
        "/api/incidents",
        Some(DISPATCHER),
        Some(LAOYANCANG),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    wait_for(s, "/api/drones/yg-1", |d| {
        d["mode"] == "AUTO" && d["alt_m"].as_f64().unwrap_or(0.0) > 20.0
    })
    .await;
    let (u, b) = cmd("yg-1", r#"{"action":"hold"}"#);
    let (st, v) = call(s, "POST", &u, Some(DISPATCHER), Some(b)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["result"], "accepted");
    wait_for(s, "/api/drones/yg-1", |d| d["mode"] == "LOITER").await;
    let (u, b) = cmd("yg-1", r#"{"action":"resume"}"#);
    let (st, _) = call(s, "POST", &u, Some(DISPATCHER), Some(b)).await;
    assert_eq!(st, StatusCode::OK);
    wait_for(s, "/api/drones/yg-1", |d| d["mode"] == "AUTO").await;
    let (u, b) = cmd(
        "yg-1",
        r#"{"action":"loudspeaker","kind":"tidal_surge_warning"}"#,
    );
    let (st, v) = call(s, "POST", &u, Some(DISPATCHER), Some(b)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // A drone without a loudspeaker refuses before anything is sent.
    let (u, b) = cmd("hy-1", r#"{"action":"drop_payload"}"#);
    let (st, _) = call(s, "POST", &u, Some(DISPATCHER), Some(b)).await;
    assert_eq!(st, StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zones_are_added_listed_and_removed_but_configured_ones_stay() {
    let h = harness().await;
    let s = &h.state;
    let (st, v) = call(
        s,
        "POST",
        "/api/zones",
        Some(ADMIN),
        Some(&zone_feature("festival-stage")),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, all) = call(s, "GET", "/api/zones", Some(VIEWER), None).await;
    assert_eq!(all["type"], "FeatureCollection");
    let f = all["features"]
        .as_array()
        .and_then(|fs| {
            fs.iter()
                .find(|f| f["properties"]["id"] == "festival-stage")
                .cloned()
        })
        .unwrap_or_else(|| panic!("added zone missing: {all}"));
    assert_eq!(f["properties"]["source"], "runtime");
    assert_eq!(f["properties"]["active_now"], true);
    assert!(
        all["features"]
            .as_array()
            .is_some_and(|fs| fs.iter().any(|f| f["properties"]["active_now"] == false)),
        "inactive zones are listed too"
    );
    let (st, v) = call(
        s,
        "POST",
        "/api/zones",
        Some(ADMIN),
        Some(&zone_feature("festival-stage")),
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "conflict"));
    // A bow tie: self-intersecting.
    let bad = zone_feature("bad").replace(
        "[[120.60, 30.40],[120.61, 30.40],[120.61, 30.41],[120.60, 30.41],[120.60, 30.40]]",
        "[[120.60, 30.40],[120.61, 30.41],[120.61, 30.40],[120.60, 30.41],[120.60, 30.40]]",
    );
    assert_ne!(bad, zone_feature("bad"));
    let (st, v) = call(s, "POST", "/api/zones", Some(ADMIN), Some(&bad)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = call(
        s,
        "POST",
        "/api/zones",
        Some(ADMIN),
        Some(r#"{"type":"Point"}"#),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, _) = call(s, "DELETE", "/api/zones/festival-stage", Some(ADMIN), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = call(s, "DELETE", "/api/zones/festival-stage", Some(ADMIN), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = call(
        s,
        "DELETE",
        "/api/zones/xiaoshan-airport",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "conflict"));
}

/// A small closure east of Yanguan, in force all bore day.
fn zone_feature(id: &str) -> String {
    format!(
        r#"{{"type":"Feature","properties":{{"id":"{id}","name":"Festival stage","kind":"temporary_closure","floor_m":0,"ceiling_m":200,"active_from":"2026-09-28T08:00:00+08:00","active_until":"2026-09-28T20:00:00+08:00"}},
        "geometry":{{"type":"Polygon","coordinates":[[[120.60, 30.40],[120.61, 30.40],[120.61, 30.41],[120.60, 30.41],[120.60, 30.40]]]}}}}"#
    )
}

/// Polls a GET endpoint until `ok` holds (simulated flight at 50x; at most 30 s).
async fn wait_for(s: &dispatch_server::AppState, uri: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let end = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = call(s, "GET", uri, Some(VIEWER), None).await;
        if ok(&v) {
            return v;
        }
        assert!(std::time::Instant::now() < end, "timed out on {uri}: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_rescue_in_flight_sends_its_drone_home_by_the_planned_way() {
    let h = harness().await;
    let s = &h.state;
    let mut events = h.fleet.subscribe();
    let (st, v) = call(
        s,
        "POST",
        "/api/incidents",
        Some(DISPATCHER),
        Some(LAOYANCANG),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let id = v["id"].as_u64().unwrap_or_default();
    wait_for(s, "/api/drones/yg-1", |d| {
        d["mode"] == "AUTO" && d["alt_m"].as_f64().unwrap_or(0.0) > 30.0
    })
    .await;
    let (st, v) = call(
        s,
        "POST",
        &format!("/api/incidents/{id}/cancel"),
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!(
        (st, v["status"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    // No RTL fallback was needed: the mission skipped to its way home.
    let d = wait_for(s, "/api/drones/yg-1", |d| {
        matches!(d["state"].as_str(), Some("charging" | "docked"))
    })
    .await;
    assert!(
        (d["lat"].as_f64().unwrap_or(0.0) - 30.404).abs() < 0.0005,
        "{d}"
    );
    assert!(
        (d["lon"].as_f64().unwrap_or(0.0) - 120.542).abs() < 0.0005,
        "{d}"
    );
    let mut saw_returning = false;
    while let Ok(e) = events.try_recv() {
        if let fleet::What::Alert {
            severity: fleet::Severity::Critical,
            message,
            ..
        } = &e.what
        {
            panic!("the drone could not be sent home: {message}");
        }
        if let fleet::What::Drone { state, .. } = &e.what {
            saw_returning |= state.as_str() == "returning";
        }
    }
    assert!(
        saw_returning,
        "no `returning` event for the called-off drone"
    );
}

/// Every write endpoint, fed what a broken client or an attacker sends:
/// each answer is a clear 4xx with a code and a message, and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_endpoint_refuses_bad_input_and_changes_nothing() {
    let h = harness().await;
    let s = &h.state;
    let (_, zones_before) = call(s, "GET", "/api/zones", Some(VIEWER), None).await;
    let ring = |coords: &str| {
        format!(
            r#"{{"type":"Feature","properties":{{"id":"z","name":"Z","kind":"temporary_closure"}},"geometry":{{"type":"Polygon","coordinates":[{coords}]}}}}"#
        )
    };
    let big = format!(
        r#"{{"type":"Feature","properties":{{"name":"{}"}}}}"#,
        "x".repeat(70_000)
    );
    let cases: Vec<(&str, String, String, StatusCode)> = vec![
        ("POST", "/api/zones".into(), ring(r#"[[120.6,30.4],[120.61,30.4],["NaN",30.41],[120.6,30.4]]"#), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/zones".into(), ring("[[200,30.4],[201,30.4],[201,30.5],[200,30.4]]"), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/zones".into(), ring("[[120.6,30.4],[120.61,30.4],[120.61,30.41]]"), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/zones".into(), ring("[[120.6,30.4],[120.6,30.4]]"), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/zones".into(), zone_feature("z").replace(r#""kind":"temporary_closure""#, r#""kind":"volcano""#), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/zones".into(), zone_feature("z").replace(r#""floor_m":0"#, r#""floor_m":500"#), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/zones".into(), zone_feature("z").replace(r#""id":"z","#, ""), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/zones".into(), r#"{"type":"FeatureCollection","features":[]}"#.into(), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/zones".into(), "{".into(), StatusCode::BAD_REQUEST),
        ("POST", "/api/zones".into(), String::new(), StatusCode::BAD_REQUEST),
        ("POST", "/api/zones".into(), big, StatusCode::PAYLOAD_TOO_LARGE),
        ("DELETE", "/api/zones/no-such-zone".into(), String::new(), StatusCode::NOT_FOUND),
        ("POST", "/api/incidents/4242/dispatch".into(), String::new(), StatusCode::NOT_FOUND),
        ("POST", "/api/incidents/abc/cancel".into(), String::new(), StatusCode::BAD_REQUEST),
        ("POST", "/api/incidents/-1/resolve".into(), String::new(), StatusCode::BAD_REQUEST),
        ("POST", "/api/incidents/4242/reassign".into(), r#"{"reason":5}"#.into(), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/incidents/4242/cancel".into(), r#"{"why":"x"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/drones/nope/command".into(), r#"{"action":"rtl"}"#.into(), StatusCode::NOT_FOUND),
        ("POST", "/api/drones/yg-1/command".into(), r#"{"action":"self_destruct"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/drones/yg-1/command".into(), r#"{"action":"goto","lat":"NaN","lon":120.4}"#.into(), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/drones/yg-1/command".into(), r#"{"action":"goto","lat":95,"lon":120.4}"#.into(), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/drones/yg-1/command".into(), "{}".into(), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/incidents".into(), r#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"note":"\u0000"}"#.into(), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/incidents".into(), r#"{"kind":"person_in_water","lat":30.347,"lon":120.457,"source":"a","external_id":""}"#.into(), StatusCode::UNPROCESSABLE_ENTITY),
        ("POST", "/api/incidents".into(), r#"{"kind":"person_in_water","lat":-0.0,"lon":-0.0}"#.into(), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (method, uri, body, want) in &cases {
        let token = if uri.starts_with("/api/zones") {
            ADMIN
        } else {
            DISPATCHER
        };
        let (st, v) = call(
            s,
            method,
            uri,
            Some(token),
            (!body.is_empty()).then_some(body.as_str()),
        )
        .await;
        let short: String = body.chars().take(80).collect();
        assert_eq!(st, *want, "{method} {uri} {short} -> {v}");
        assert!(
            !code(&v).is_empty() && message(&v).len() > 10,
            "{method} {uri}: {v}"
        );
    }
    let (_, zones_after) = call(s, "GET", "/api/zones", Some(VIEWER), None).await;
    assert_eq!(
        zones_after["features"].as_array().map(Vec::len),
        zones_before["features"].as_array().map(Vec::len)
    );
    let (_, v) = call(s, "GET", "/api/incidents", Some(VIEWER), None).await;
    assert_eq!(v, json!([]), "no refused request may open an incident");
    let (st, v) = call(s, "GET", "/api/health", None, None).await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("ok")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_rate_limited_per_token_and_reads_go_on() {
    let h = harness().await;
    let s = h
        .state
        .clone()
        .with_write_limit(dispatch_server::limits::WriteLimit {
            per_minute: 60,
            burst: 5,
        });
    let mut answers = Vec::new();
    for _ in 0..8 {
        let (st, _) = call(
            &s,
            "POST",
            "/api/incidents/4242/cancel",
            Some(DISPATCHER),
            None,
        )
        .await;
        answers.push(st);
    }
    assert_eq!(&answers[..5], &[StatusCode::NOT_FOUND; 5], "{answers:?}");
    assert!(
        answers[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{answers:?}"
    );
    let (st, v) = call(
        &s,
        "POST",
        "/api/incidents/4242/cancel",
        Some(DISPATCHER),
        None,
    )
    .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(message(&v).contains("demo dispatcher"), "{v}");
    // Another token has its own budget; reads are not limited.
    let (st, _) = call(&s, "DELETE", "/api/zones/nope", Some(ADMIN), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = call(&s, "GET", "/api/incidents", Some(DISPATCHER), None).await;
    assert_eq!(st, StatusCode::OK);
    let (_, health) = call(&s, "GET", "/api/health", None, None).await;
    assert!(
        health["http"]["rate_limited"].as_u64() >= Some(4),
        "{health}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_lists_the_clusters_servers_and_their_origins_may_call() {
    use tower::ServiceExt as _;
    let h = harness().await;
    // A single server: no list, no CORS.
    let (st, v) = call(&h.state, "GET", "/api/config", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["servers"], json!([]), "{v}");
    let s = h.state.clone().with_servers(vec![
        "http://127.0.0.1:8081".into(),
        "http://127.0.0.1:8082".into(),
    ]);
    let (_, v) = call(&s, "GET", "/api/config", Some(VIEWER), None).await;
    assert_eq!(
        v["servers"],
        json!(["http://127.0.0.1:8081", "http://127.0.0.1:8082"]),
        "{v}"
    );
    let allowed = |state: &dispatch_server::AppState, origin: &str, token: Option<&str>| {
        let mut req = axum::http::Request::get("/api/incidents").header("origin", origin);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req
            .body(axum::body::Body::empty())
            .unwrap_or_else(|e| panic!("{e}"));
        let router = dispatch_server::app(state.clone());
        async move {
            let r = router.oneshot(req).await.unwrap_or_else(|e| match e {});
            let allow = r
                .headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (r.status(), allow)
        }
    };
    // The other server's page reads answers, refusals included.
    assert_eq!(
        allowed(&s, "http://127.0.0.1:8081", Some(VIEWER)).await,
        (StatusCode::OK, Some("http://127.0.0.1:8081".to_owned()))
    );
    assert_eq!(
        allowed(&s, "http://127.0.0.1:8081", None).await,
        (
            StatusCode::UNAUTHORIZED,
            Some("http://127.0.0.1:8081".to_owned())
        )
    );
    assert_eq!(
        allowed(&s, "http://127.0.0.1:9999", Some(VIEWER)).await,
        (StatusCode::OK, None)
    );
    assert_eq!(
        allowed(&h.state, "http://127.0.0.1:8081", Some(VIEWER)).await,
        (StatusCode::OK, None),
        "a single server allows no other origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_gives_the_time_zone_and_the_names_in_chinese() {
    let h = harness().await;
    let (st, v) = call(&h.state, "GET", "/api/config", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["time_zone"], "Asia/Shanghai", "{v}");
    let zh = &v["names_zh"];
    assert_eq!(zh["hangars"]["laoyancang"], "老盐仓（回头潮）", "{zh}");
    assert_eq!(zh["zones"]["qinshan-npp"], "秦山核电站", "{zh}");
    assert!(zh["scenario"].is_string(), "{zh}");
    // The document says so too.
    let (_, doc) = call(&h.state, "GET", "/api/openapi.json", None, None).await;
    let props = &doc["components"]["schemas"]["MapConfig"]["properties"];
    assert_eq!(props["time_zone"]["type"], "string", "{props}");
    assert!(
        doc["components"]["schemas"]["NamesZh"]["properties"]["zones"].is_object(),
        "{}",
        doc["components"]["schemas"]["NamesZh"]
    );
}
