use super::*;
use crate::model::ZoneKind;

const KINDS: &str = r#"
[kinds.person_in_water]
priority = 5
life_threatening = true
rescue = true
capabilities = ["lifebuoy"]
on_scene_s = 120
[kinds.spectator_in_danger_zone]
priority = 4
capabilities = ["loudspeaker"]
on_scene_s = 60
[kinds.tidal_surge_warning]
priority = 4
capabilities = ["loudspeaker"]
on_scene_s = 60
[kinds.highrise_fire]
priority = 4
capabilities = ["thermal_camera"]
on_scene_s = 60
[kinds.forest_fire]
priority = 3
capabilities = ["thermal_camera"]
on_scene_s = 60
[kinds.missing_person]
priority = 3
capabilities = ["thermal_camera"]
on_scene_s = 60
[kinds.patrol]
priority = 1
capabilities = ["loudspeaker"]
on_scene_s = 60
"#;

const HEAD: &str = r#"
[scenario]
name = "test"
zones = "zones.geojson"
region = { min_lat = 30.0, min_lon = 120.0, max_lat = 31.0, max_lon = 121.0 }
"#;

const HANGAR: &str = r#"
[[hangar]]
id = "h1"
name = "H1"
lat = 30.5
lon = 120.5
slots = 2
"#;

fn drone(id: &str, hangar: &str, sysid: u8, caps: &str) -> String {
    format!(
        "[[drone]]\nid = \"{id}\"\nhangar = \"{hangar}\"\nsystem_id = {sysid}\ncapabilities = [{caps}]\n\
             cruise_speed_mps = 15\nclimb_rate_mps = 5\ndescent_rate_mps = 3\nendurance_min = 40\n"
    )
}

const EMPTY_ZONES: &str = r#"{"type":"FeatureCollection","features":[]}"#;

fn zone(props: &str, ring: &str) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{{props}}},
               "geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}]}}"#
    )
}

const SQUARE: &str = "[[120.4,30.4],[120.6,30.4],[120.6,30.6],[120.4,30.6],[120.4,30.4]]";
const PROPS: &str = r#""id":"z1","name":"Z1","kind":"airport""#;

fn run(toml_text: &str, zones: &str) -> Result<Scenario, ConfigError> {
    let zones = zones.to_owned();
    parse(Path::new("scenario.toml"), toml_text, move |_| {
        Ok((PathBuf::from("zones.geojson"), zones))
    })
}

/// Loads and expects exactly one problem whose text contains all of `expected`.
fn check(toml_text: &str, zones: &str, expected: &[&str]) {
    let err = match run(toml_text, zones) {
        Ok(_) => panic!("configuration was accepted; expected {expected:?}"),
        Err(e) => e,
    };
    assert_eq!(err.problems.len(), 1, "{err}");
    let text = err.problems[0].to_string();
    for e in expected {
        assert!(text.contains(e), "`{text}` does not contain `{e}`");
    }
}

fn good() -> String {
    format!(
        "{HEAD}{KINDS}{HANGAR}{}",
        drone("d1", "h1", 1, "\"lifebuoy\"")
    )
}

#[test]
fn links_name_each_drone_and_system_ids_repeat_only_across_links() {
    let links = "[[link]]\nname = \"north\"\n[[link]]\nname = \"south\"\naddress = \"udpin:127.0.0.1:14560\"\n";
    let two = format!(
        "{good}{links}{}link = \"north\"\n{}link = \"south\"\n",
        drone("d2", "h1", 2, "\"lifebuoy\""),
        drone("d3", "h1", 2, "\"lifebuoy\""),
        good = good()
            .replace("[[drone]]", "[[drone]]\nlink = \"north\"")
            .replace("slots = 2", "slots = 6"),
    );
    let s = run(&two, EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.links.len(), 2);
    assert_eq!(s.links[1].address.as_deref(), Some("udpin:127.0.0.1:14560"));
    let on: Vec<(&str, u8)> = s
        .drones
        .iter()
        .map(|d| (d.link.as_str(), d.system_id))
        .collect();
    assert_eq!(on, [("north", 1), ("north", 2), ("south", 2)]);
    // Without [[link]], one link named `default`.
    let one = run(&good(), EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one.drones[0].link, DEFAULT_LINK);
    // The same system id twice on one link, an unknown link, a missing one.
    check(
        &two.replace("system_id = 2\ncapabilities = [\"lifebuoy\"]\ncruise_speed_mps = 15\nclimb_rate_mps = 5\ndescent_rate_mps = 3\nendurance_min = 40\nlink = \"south\"", "system_id = 2\ncapabilities = [\"lifebuoy\"]\ncruise_speed_mps = 15\nclimb_rate_mps = 5\ndescent_rate_mps = 3\nendurance_min = 40\nlink = \"north\""),
        EMPTY_ZONES,
        &["drone \"d3\"", "system_id 2 is already used by drone \"d2\" on link \"north\""],
    );
    check(
        &two.replace("link = \"south\"\n", "link = \"east\"\n"),
        EMPTY_ZONES,
        &[
            "drone \"d3\"",
            "unknown link \"east\" (configured: north, south)",
        ],
    );
    check(
        &format!("{two}{}", drone("d4", "h1", 4, "\"lifebuoy\"")),
        EMPTY_ZONES,
        &[
            "drone \"d4\"",
            "`link` is required when several links are configured (north, south)",
        ],
    );
}

#[test]
fn signing_keys_come_from_the_file_or_the_environment_and_are_never_shown() {
    let hex = "0123456789abcdef".repeat(4);
    let text = format!(
        "{}\n[signing]\nkey_env = \"FLEET_KEY\"\n{}signing_key_env = \"D2_KEY\"\n",
        good(),
        drone("d2", "h1", 2, "\"lifebuoy\"")
    );
    let s = run(&text, EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.signing.default, Some(KeySource::Env("FLEET_KEY".into())));
    let env = |n: &str| (n == "FLEET_KEY").then(|| hex.clone());
    let keys = s.signing.resolve(env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(keys.default.as_deref(), Some(hex.as_str()));
    // D2_KEY is not set: that drone's link falls back, with a warning.
    assert!(keys.drones.is_empty());
    assert!(keys.warnings[0].contains("D2_KEY"), "{:?}", keys.warnings);
    assert!(!format!("{keys:?}").contains("0123"), "{keys:?}");
    // Required: a missing variable is an error; a bad one says why, not what.
    let mut req = s.signing.clone();
    req.require = true;
    assert!(req.resolve(env).is_err_and(|e| e.contains("D2_KEY")));
    let bad = |n: &str| (n == "FLEET_KEY").then(|| "secret!".to_owned());
    let e = s.signing.resolve(bad).err().unwrap_or_default();
    assert!(e.contains("64 hexadecimal") && !e.contains("secret"), "{e}");
    // Inline keys are checked at load time; both forms at once are refused.
    check(
        &format!("{}\n[signing]\nkey = \"abc\"\n", good()),
        EMPTY_ZONES,
        &["[signing]", "64 hexadecimal digits", "3 characters"],
    );
    check(
        &format!("{}\n[signing]\nkey = \"{hex}\"\nkey_env = \"K\"\n", good()),
        EMPTY_ZONES,
        &["not both"],
    );
    check(
        &format!("{}\n[signing]\nrequire = true\n", good()),
        EMPTY_ZONES,
        &["require = true needs a key"],
    );
    let inline = run(
        &format!("{}\n[signing]\nkey = \"{hex}\"\n", good()),
        EMPTY_ZONES,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        inline
            .warnings
            .iter()
            .any(|w| w.contains("keep the file private"))
    );
    assert!(!format!("{:?}", inline.signing).contains("0123"));
}

#[test]
fn numbers_out_of_their_range_are_refused_with_the_range() {
    let cases: [(&str, &str, &[&str]); 7] = [
        (
            "slots = 2",
            "slots = 2\nlaunch_delay_s = inf",
            &["launch_delay_s = inf", "[0, 3600]"],
        ),
        (
            "slots = 2",
            "slots = 2\ncharge_rate_pct_per_min = 1e308",
            &["charge_rate_pct_per_min", "[0, 100]"],
        ),
        (
            "cruise_speed_mps = 15",
            "cruise_speed_mps = 1e-300",
            &["cruise_speed_mps", "[1, 60] m/s"],
        ),
        (
            "endurance_min = 40",
            "endurance_min = 1e308",
            &["endurance_min", "[1, 600] minutes"],
        ),
        (
            "climb_rate_mps = 5",
            "climb_rate_mps = nan",
            &["climb_rate_mps = NaN"],
        ),
        (
            "on_scene_s = 120",
            "on_scene_s = 1e308",
            &["on_scene_s", "[0, 14400] seconds"],
        ),
        (
            "[[hangar]]",
            "[planning]\nalternatives = 9223372036854775807\n[[hangar]]",
            &["alternatives", "[0, 20]"],
        ),
    ];
    for (from, to, expected) in cases {
        let t = good();
        assert!(t.contains(from), "the base configuration has no `{from}`");
        check(&t.replacen(from, to, 1), EMPTY_ZONES, expected);
    }
}

#[test]
fn a_sliver_zone_is_refused() {
    let sliver = "[[120.4,30.4],[120.5,30.5],[120.6,30.6000000001],[120.4,30.4]]";
    check(
        &good(),
        &zone(PROPS, sliver),
        &["invalid polygon", "a zone must cover at least 1 m²"],
    );
}

#[test]
fn a_good_configuration_loads() {
    let s = run(&good(), &zone(PROPS, SQUARE)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((s.hangars.len(), s.drones.len(), s.zones.len()), (1, 1, 1));
    assert!(s.zones[0].window.is_permanent());
}

#[test]
fn broken_toml_names_the_file_and_line() {
    check(
        "[scenario\nname = 1",
        EMPTY_ZONES,
        &["scenario.toml", "line 1"],
    );
}

#[test]
fn swapped_hangar_coordinates() {
    let t = good().replace("lat = 30.5\nlon = 120.5", "lat = 120.5\nlon = 30.5");
    check(
        &t,
        EMPTY_ZONES,
        &["hangar \"h1\"", "latitude 120.5", "swapped"],
    );
}

#[test]
fn swapped_but_in_range_coordinates_are_caught_by_the_region() {
    let mut t = good().replace("lat = 30.5\nlon = 120.5", "lat = 10.5\nlon = 30.5");
    t = t.replace(
        "region = { min_lat = 30.0, min_lon = 120.0, max_lat = 31.0, max_lon = 121.0 }",
        "region = { min_lat = 30.0, min_lon = 10.0, max_lat = 31.0, max_lon = 11.0 }",
    );
    check(
        &t,
        EMPTY_ZONES,
        &["hangar \"h1\"", "outside the scenario region", "swapped"],
    );
}

#[test]
fn duplicate_drone_ids() {
    let t = format!("{}{}", good(), drone("d1", "h1", 2, ""));
    check(&t, EMPTY_ZONES, &["drone \"d1\"", "duplicate drone id"]);
}

#[test]
fn duplicate_hangar_ids() {
    let t = format!("{}{HANGAR}", good());
    check(&t, EMPTY_ZONES, &["hangar \"h1\"", "duplicate hangar id"]);
}

#[test]
fn duplicate_system_ids() {
    let t = format!("{}{}", good(), drone("d2", "h1", 1, ""));
    check(
        &t,
        EMPTY_ZONES,
        &[
            "drone \"d2\"",
            "system_id 1 is already used by drone \"d1\"",
        ],
    );
}

#[test]
fn reserved_system_id() {
    let t = good().replace("system_id = 1", "system_id = 0");
    check(
        &t,
        EMPTY_ZONES,
        &["drone \"d1\"", "system_id 0 is reserved"],
    );
}

#[test]
fn drone_in_unknown_hangar() {
    let t = good().replace("hangar = \"h1\"", "hangar = \"nowhere\"");
    check(
        &t,
        EMPTY_ZONES,
        &["drone \"d1\"", "unknown hangar \"nowhere\""],
    );
}

#[test]
fn more_drones_than_slots() {
    let t = format!(
        "{}{}{}",
        good(),
        drone("d2", "h1", 2, ""),
        drone("d3", "h1", 3, "")
    );
    check(&t, EMPTY_ZONES, &["drone \"d3\"", "has 2 slots"]);
}

#[test]
fn unknown_capability() {
    let t = good().replace("\"lifebuoy\"]", "\"parachute\"]");
    check(
        &t,
        EMPTY_ZONES,
        &["scenario.toml", "unknown variant `parachute`", "lifebuoy"],
    );
}

#[test]
fn unknown_kind() {
    let t = format!(
        "{}\n[kinds.alien_landing]\npriority = 2\ncapabilities = []\non_scene_s = 1\n",
        good()
    );
    check(
        &t,
        EMPTY_ZONES,
        &[
            "[kinds.alien_landing]",
            "unknown incident kind `alien_landing`",
        ],
    );
}

#[test]
fn missing_kind() {
    let t = good().replace("[kinds.patrol]", "[kinds.patrol_removed_by_typo]");
    let err = run(&t, EMPTY_ZONES)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("unknown incident kind `patrol_removed_by_typo`"),
        "{err}"
    );
    assert!(
        err.contains("incident kind `patrol` has no [kinds.patrol] section"),
        "{err}"
    );
}

#[test]
fn unknown_field_is_a_typo_not_a_silent_default() {
    let t = good().replace("slots = 2", "slots = 2\nslot = 3");
    check(&t, EMPTY_ZONES, &["unknown key `hangar.0.slot`"]);
}

#[test]
fn every_unknown_key_is_reported_at_once() {
    let t = good()
        .replace("slots = 2", "slots = 2\nslot = 3\nlunch_delay_s = 9")
        .replace(
            "cruise_speed_mps = 15",
            "cruise_speed_mps = 15\ncruse_speed = 3",
        );
    let err = run(&t, EMPTY_ZONES).map(|_| ()).unwrap_err();
    let text = err.to_string();
    assert_eq!(err.problems.len(), 3, "{text}");
    for key in [
        "hangar.0.slot",
        "hangar.0.lunch_delay_s",
        "drone.0.cruse_speed",
    ] {
        assert!(text.contains(&format!("unknown key `{key}`")), "{text}");
    }
}

#[test]
fn a_cluster_database_is_a_postgres_url_and_the_only_event_log() {
    let url = "postgres://dispatch@db.example:5432/dispatch";
    let t = format!("{}\n[cluster]\ndatabase = \"{url}\"\n", good());
    let s = run(&t, EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.cluster.database.as_deref(), Some(url));
    check(
        &format!("{}\n[cluster]\ndatabase = \"var/events.sqlite\"\n", good()),
        EMPTY_ZONES,
        &["[cluster]", "a PostgreSQL URL"],
    );
    check(
        &format!(
            "{}\n[server]\nevent_log = \"e.sqlite\"\n[cluster]\ndatabase = \"{url}\"\n",
            good()
        ),
        EMPTY_ZONES,
        &["[cluster]", "both name an event log"],
    );
    check(
        &format!("{}\n[cluster]\ndatabse = \"{url}\"\n", good()),
        EMPTY_ZONES,
        &["unknown key `cluster.databse`"],
    );
}

#[test]
fn tls_files_come_as_a_pair_beside_the_config() {
    let t = format!(
        "{}\n[server]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"/etc/dispatch/key.pem\"\n",
        good()
    );
    let s = run(&t, EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.server.tls,
        Some(TlsFiles {
            cert: PathBuf::from("tls/cert.pem"),
            key: PathBuf::from("/etc/dispatch/key.pem"),
        })
    );
    assert_eq!(
        run(&good(), EMPTY_ZONES)
            .unwrap_or_else(|e| panic!("{e}"))
            .server
            .tls,
        None
    );
    check(
        &format!("{}\n[server]\ntls_cert = \"cert.pem\"\n", good()),
        EMPTY_ZONES,
        &["[server]", "tls_cert needs tls_key"],
    );
    check(
        &format!("{}\n[server]\ntls_key = \"key.pem\"\n", good()),
        EMPTY_ZONES,
        &["[server]", "tls_key needs tls_cert"],
    );
    check(
        &format!(
            "{}\n[server]\ntls_cert = \" \"\ntls_key = \"key.pem\"\n",
            good()
        ),
        EMPTY_ZONES,
        &["[server]", "tls_cert is empty"],
    );
    check(
        &format!(
            "{}\n[server]\ntls_certificate = \"c.pem\"\ntls_key = \"k.pem\"\n",
            good()
        ),
        EMPTY_ZONES,
        &["unknown key `server.tls_certificate`"],
    );
}

#[test]
fn a_cluster_node_is_a_short_plain_name() {
    let url = "postgres://dispatch@db.example:5432/dispatch";
    let t = format!(
        "{}\n[cluster]\ndatabase = \"{url}\"\nnode = \"dispatch-a\"\n",
        good()
    );
    let s = run(&t, EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.cluster.node.as_deref(), Some("dispatch-a"));
    check(
        &format!(
            "{}\n[cluster]\ndatabase = \"{url}\"\nnode = \"a b\"\n",
            good()
        ),
        EMPTY_ZONES,
        &["[cluster]", "node `a b`", "letters, digits"],
    );
    check(
        &format!("{}\n[cluster]\nnode = \"a\"\n", good()),
        EMPTY_ZONES,
        &["[cluster]", "node needs database"],
    );
    check(
        &format!("{}\n[cluster]\nnod = \"a\"\n", good()),
        EMPTY_ZONES,
        &["unknown key `cluster.nod`"],
    );
}

#[test]
fn open_polygon() {
    let ring = "[[120.4,30.4],[120.6,30.4],[120.6,30.6],[120.4,30.6],[120.45,30.45]]";
    check(
        &good(),
        &zone(PROPS, ring),
        &[
            "zones.geojson",
            "zone feature #0 (\"z1\")",
            "exterior ring is open",
        ],
    );
}

#[test]
fn self_intersecting_polygon() {
    // A bow tie.
    let ring = "[[120.4,30.4],[120.6,30.6],[120.6,30.4],[120.4,30.6],[120.4,30.4]]";
    check(
        &good(),
        &zone(PROPS, ring),
        &["zone feature #0 (\"z1\")", "self-intersection"],
    );
}

#[test]
fn lat_lon_order_in_geojson() {
    let ring = "[[30.4,120.4],[30.4,120.6],[30.6,120.6],[30.6,120.4],[30.4,120.4]]";
    check(
        &good(),
        &zone(PROPS, ring),
        &["zone feature #0 (\"z1\")", "latitude 120.4", "[lon, lat]"],
    );
}

#[test]
fn too_few_positions() {
    let ring = "[[120.4,30.4],[120.6,30.4],[120.4,30.4]]";
    check(
        &good(),
        &zone(PROPS, ring),
        &["exterior ring has 3 positions"],
    );
}

#[test]
fn unknown_zone_kind() {
    let props = r#""id":"z1","name":"Z1","kind":"volcano""#;
    check(
        &good(),
        &zone(props, SQUARE),
        &["zone feature #0 (\"z1\")", "unknown variant `volcano`"],
    );
}

#[test]
fn duplicate_zone_ids() {
    let one = zone(PROPS, SQUARE);
    let feature = one
        .trim_start_matches(r#"{"type":"FeatureCollection","features":["#)
        .trim_end_matches("]}");
    let two = format!(r#"{{"type":"FeatureCollection","features":[{feature},{feature}]}}"#);
    check(
        &good(),
        &two,
        &["zone feature #1 (\"z1\")", "duplicate zone id"],
    );
}

#[test]
fn bad_time_window() {
    let props = r#""id":"z1","name":"Z1","kind":"crowd","active_from":"tomorrow""#;
    check(
        &good(),
        &zone(props, SQUARE),
        &[
            "zone feature #0 (\"z1\")",
            "`tomorrow` is not an RFC 3339 time",
        ],
    );
    let props = r#""id":"z1","name":"Z1","kind":"crowd","active_from":"2026-09-28T14:00:00+08:00","active_until":"2026-09-28T12:00:00+08:00""#;
    check(&good(), &zone(props, SQUARE), &["ends before it starts"]);
}

#[test]
fn not_geojson() {
    check(
        &good(),
        "{ not json",
        &["zones.geojson", "not valid GeoJSON"],
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let t = format!(
        "{}{}",
        good().replace("hangar = \"h1\"", "hangar = \"x\""),
        drone("d1", "h1", 1, "")
    );
    let err = run(&t, "{ not json")
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(err.problems.len(), 4, "{err}");
}

#[test]
fn the_demo_scenario_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/haining.toml");
    let s = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.hangars.len() >= 6 && s.drones.len() >= 12);
    assert!(
        s.zones
            .iter()
            .any(|z| z.kind == ZoneKind::Airport && z.window.is_permanent())
    );
    assert!(
        s.zones
            .iter()
            .any(|z| z.kind == ZoneKind::Nuclear && z.window.is_permanent())
    );
    assert!(
        s.zones
            .iter()
            .any(|z| z.kind == ZoneKind::Crowd && !z.window.is_permanent())
    );
}

#[test]
fn zones_as_gis_tools_write_them_are_accepted_with_one_warning() {
    // A web editor's styling, QGIS's nulls, 0/1 booleans, the id on the Feature.
    let zones = format!(
        r##"{{"type":"FeatureCollection","features":[
              {{"type":"Feature","id":"gis-1","properties":{{"name":null,"kind":"crowd","floor_m":null,
                 "ceiling_m":null,"active_from":null,"active_until":null,"rescue_exempt":1,
                 "stroke":"#555555","fill":"#ff0000","fill-opacity":0.5}},
               "geometry":{{"type":"Polygon","coordinates":[{SQUARE}]}}}},
              {{"type":"Feature","id":7,"properties":{{"name":"Seven","kind":"other","rescue_exempt":0,"stroke":"#000"}},
               "geometry":{{"type":"Polygon","coordinates":[{SQUARE}]}}}}]}}"##
    );
    let s = run(&good(), &zones).unwrap_or_else(|e| panic!("{e}"));
    let z = &s.zones[0];
    assert_eq!((z.id.0.as_str(), z.name.as_str()), ("gis-1", "gis-1"));
    assert!(z.rescue_exempt && z.window.is_permanent());
    assert_eq!((z.floor_m, z.ceiling_m), (0.0, 10_000.0));
    assert_eq!(
        (s.zones[1].id.0.as_str(), s.zones[1].rescue_exempt),
        ("7", false)
    );
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    let w = &s.warnings[0];
    for needle in [
        "zones.geojson",
        "`stroke` (2 features)",
        "`fill` (1 feature)",
        "`fill-opacity`",
    ] {
        assert!(w.contains(needle), "`{w}` lacks {needle}");
    }
}

#[test]
fn what_is_really_wrong_in_a_gis_file_is_still_refused() {
    check(
        &good(),
        &zone(r#""name":"No id","kind":"crowd""#, SQUARE),
        &["no id"],
    );
    check(
        &good(),
        &zone(
            r#""id":"z1","name":"Z1","kind":"crowd","rescue_exempt":"yes""#,
            SQUARE,
        ),
        &["rescue_exempt", "expected true, false, 1 or 0"],
    );
    check(
        &good(),
        &zone(r#""id":"z1","name":"Z1","kind":null"#, SQUARE),
        &["kind"],
    );
    check(
        &good(),
        &zone(r#""id":"z1","kind":"crowd","floor_m":"high""#, SQUARE),
        &["floor_m"],
    );
}

#[test]
fn a_zero_route_margin_is_refused() {
    let t = good().replace("[planning]", "[planning]\nroute_margin_m = 0");
    let t = if t.contains("route_margin_m = 0") {
        t
    } else {
        good().replacen(
            "[[hangar]]",
            "[planning]\nroute_margin_m = 0\n\n[[hangar]]",
            1,
        )
    };
    check(&t, EMPTY_ZONES, &["route_margin_m = 0", "[1, 5000]"]);
}

#[test]
fn a_cluster_bus_prefix_and_servers_are_checked() {
    let url = "postgres://dispatch@db.example:5432/dispatch";
    let t = format!(
        "{}\n[cluster]\ndatabase = \"{url}\"\nnode = \"a\"\nbus = \"nats://127.0.0.1:4222\"\nsubject_prefix = \"haining.fleet\"\nservers = [\"https://a.example:8443/\", \"https://b.example:8443\", \"https://a.example:8443\"]\n",
        good()
    );
    let s = run(&t, EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.cluster.bus.as_deref(), Some("nats://127.0.0.1:4222"));
    assert_eq!(s.cluster.subject_prefix.as_deref(), Some("haining.fleet"));
    assert_eq!(
        s.cluster.servers,
        vec!["https://a.example:8443", "https://b.example:8443"],
        "trailing slashes go, repeats are kept once"
    );
    check(
        &format!("{}\n[cluster]\nbus = \"127.0.0.1:4222\"\n", good()),
        EMPTY_ZONES,
        &["[cluster]", "bus `127.0.0.1:4222`", "nats://"],
    );
    check(
        &format!("{}\n[cluster]\nsubject_prefix = \"fleet.>\"\n", good()),
        EMPTY_ZONES,
        &["[cluster]", "subject_prefix `fleet.>`"],
    );
    check(
        &format!("{}\n[cluster]\nservers = [\"a.example:8080\"]\n", good()),
        EMPTY_ZONES,
        &["[cluster]", "servers: `a.example:8080`", "https://"],
    );
}

#[test]
fn the_time_zone_is_an_iana_name_and_defaults_to_utc() {
    let s = run(&good(), EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.time_zone, DEFAULT_TIME_ZONE);
    assert_eq!(s.time_zone.name(), "UTC");
    let with = |tz: &str| {
        good().replace(
            "[scenario]\n",
            &format!("[scenario]\ntime_zone = \"{tz}\"\n"),
        )
    };
    let s = run(&with("Asia/Shanghai"), EMPTY_ZONES).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.time_zone.name(), "Asia/Shanghai");
    check(
        &with("Asia/Shangai"),
        EMPTY_ZONES,
        &[
            "scenario.toml: [scenario]: time_zone `Asia/Shangai` is not an IANA time zone name",
            "Asia/Shanghai",
        ],
    );
    check(
        &with("asia/shanghai"),
        EMPTY_ZONES,
        &["`asia/shanghai`", "case-sensitive"],
    );
    check(&with("+08:00"), EMPTY_ZONES, &["time_zone `+08:00`"]);
}

#[test]
fn names_in_chinese_are_kept_by_id_and_a_blank_one_is_refused() {
    let t = good()
        .replace("name = \"test\"\n", "name = \"test\"\nname_zh = \"测试\"\n")
        .replace("name = \"H1\"\n", "name = \"H1\"\nname_zh = \"一号机库\"\n")
        .replace("id = \"d1\"\n", "id = \"d1\"\nname_zh = \" 一号 \"\n");
    let zones = zone(&format!("{PROPS},\"name_zh\":\"机场\""), SQUARE);
    let s = run(&t, &zones).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.names_zh.scenario.as_deref(), Some("测试"));
    assert_eq!(
        s.names_zh.hangars.get("h1").map(String::as_str),
        Some("一号机库")
    );
    assert_eq!(
        s.names_zh.drones.get("d1").map(String::as_str),
        Some("一号")
    );
    assert_eq!(s.names_zh.zones.get("z1").map(String::as_str), Some("机场"));
    // `name_zh` is a known zone property: no "ignored properties" warning.
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    check(
        &t.replace("name_zh = \"一号机库\"", "name_zh = \"  \""),
        &zones,
        &["hangar \"h1\"", "name_zh is empty"],
    );
    check(
        &t,
        &zone(&format!("{PROPS},\"name_zh\":7"), SQUARE),
        &["zone feature #0 (\"z1\")", "property `name_zh`"],
    );
}

#[test]
fn the_demo_scenario_is_on_china_standard_time_with_chinese_names() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/haining.toml");
    let s = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.time_zone.name(), "Asia/Shanghai");
    assert!(s.names_zh.scenario.is_some());
    for h in &s.hangars {
        assert!(
            s.names_zh.hangars.contains_key(&h.id.0),
            "hangar {} has no name_zh",
            h.id.0
        );
    }
    for z in &s.zones {
        assert!(
            s.names_zh.zones.contains_key(&z.id.0),
            "zone {} has no name_zh",
            z.id.0
        );
    }
}
