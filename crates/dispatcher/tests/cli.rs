//! The `dispatcher` binary used as its users use it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dispatcher(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dispatcher"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run dispatcher: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const PLAN: &[&str] = &[
    "plan",
    "--config",
    "config/haining.toml",
    "--kind",
    "person_in_water",
    "--at",
    "30.347,120.457",
    "--time",
    "2026-09-28T13:00:00+08:00",
];

#[test]
fn check_config_accepts_the_demo() {
    let out = dispatcher(&["check-config", "--config", "config/haining.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("ok")
            && s.contains("8 hangars")
            && s.contains("15 drones")
            && s.contains("the map's times in Asia/Shanghai"),
        "{s}"
    );
}

#[test]
fn check_config_reports_a_broken_file_by_name() {
    let dir = std::env::temp_dir().join(format!("dispatcher-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let demo = std::fs::read_to_string(root().join("config/haining.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let broken = demo
        .replacen(
            "zones = \"zones/haining.geojson\"",
            "zones = \"missing.geojson\"",
            1,
        )
        .replacen("hangar = \"yanguan\"", "hangar = \"yangguan\"", 1);
    let path = dir.join("broken.toml");
    std::fs::write(&path, broken).unwrap_or_else(|e| panic!("{e}"));
    let p = path.to_string_lossy().into_owned();
    let out = dispatcher(&["check-config", "--config", &p]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("2 problems"), "{err}");
    assert!(
        err.contains("drone \"yg-1\": unknown hangar \"yangguan\""),
        "{err}"
    );
    assert!(
        err.contains("missing.geojson: cannot read zones file"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn plan_prints_drone_eta_route_and_alternatives() {
    let out = dispatcher(PLAN);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("assigned: drone yg-"), "{s}");
    assert!(s.contains("ETA:"), "{s}");
    assert!(s.contains("bends around: yanguan-crowd"), "{s}");
    assert!(
        s.contains("final leg enters rescue-exempt zone(s): river-bed-closure"),
        "{s}"
    );
    assert!(s.contains("alternatives:"), "{s}");
    assert!(s.contains("lyc-1") && s.contains("lacks lifebuoy"), "{s}");
}

#[test]
fn plan_json_is_machine_readable() {
    let mut args = PLAN.to_vec();
    args.push("--json");
    let out = dispatcher(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["status"], "assigned");
    let a = &v["assignment"];
    assert_eq!(a["chosen"]["hangar"], "yanguan");
    assert!(
        a["chosen"]["eta_s"]
            .as_f64()
            .is_some_and(|e| e > 60.0 && e < 1800.0)
    );
    assert!(
        a["route"]["waypoints"]
            .as_array()
            .is_some_and(|w| w.len() >= 3)
    );
    assert_eq!(a["route"]["final_leg_enters"][0], "river-bed-closure");
    assert!(a["rejected"][0]["reason"].is_string());
}

#[test]
fn plan_with_nothing_available_queues_with_exit_status_3() {
    let mut args = PLAN.to_vec();
    args.extend(["--unavailable", "yg-1,yg-2", "--json"]);
    let out = dispatcher(&args);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["status"], "queued");
    assert!(
        v["reason"]
            .as_str()
            .is_some_and(|r| r.contains("lack the battery"))
    );
}

#[test]
fn bad_arguments_get_clear_errors() {
    let check = |args: &[&str], expected: &str| {
        let out = dispatcher(args);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(err.contains(expected), "`{err}` lacks `{expected}`");
    };
    let mut swapped = PLAN.to_vec();
    swapped[6] = "120.457,30.347";
    check(&swapped, "did you swap LAT and LON?");
    let mut kind = PLAN.to_vec();
    kind[4] = "alien_landing";
    check(&kind, "unknown kind `alien_landing`");
    let mut outside = PLAN.to_vec();
    outside[6] = "31.5,120.457";
    check(&outside, "outside the operating region");
    let mut ghost = PLAN.to_vec();
    ghost.extend(["--unavailable", "ghost"]);
    check(&ghost, "unknown drone `ghost`");
    let mut time = PLAN.to_vec();
    time[8] = "13:00";
    check(&time, "not an RFC 3339 time");
}

#[test]
fn a_usage_error_has_its_own_exit_status() {
    let mut args = PLAN.to_vec();
    args.push("--no-such-flag");
    let out = dispatcher(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--no-such-flag"));
}

#[test]
fn serve_node_needs_the_log_in_postgresql_a_plain_name_and_no_sim() {
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "serve",
            "--config",
            "config/haining.toml",
            "--listen",
            "127.0.0.1:0",
        ];
        args.extend(extra);
        let out = dispatcher(&args);
        assert!(!out.status.success(), "{}", text(&out.stdout));
        text(&out.stderr)
    };
    let err = serve(&["--node", "a", "--event-log", "off"]);
    assert!(
        err.contains("--node a") && err.contains("--database postgres://"),
        "{err}"
    );
    let err = serve(&["--node", "a b", "--database", "postgres://x@127.0.0.1:1/d"]);
    assert!(
        err.contains("--node a b") && err.contains("letters, digits"),
        "{err}"
    );
    let err = serve(&["--node", "a", "--sim"]);
    assert!(err.contains("--node") && err.contains("--sim"), "{err}");
}
