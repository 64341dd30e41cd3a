//! `dispatcher`: the dispatch system's command line.
//!
//! - `check-config` validates a scenario and lists every problem found.
//! - `plan` answers "which drone would fly to this incident, by which route,
//!   arriving when" on a scenario, without flying anything.
//! - `fly` flies a fixed list of incidents on a real or simulated fleet.
//! - `serve` runs the dispatch server (API, websocket, web map), optionally
//!   with the bundled simulator.

mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

/// Appends one formatted line to a `String` (formatting into a string cannot fail).
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

use anyhow::{Context, Result, bail};
use chrono::{DateTime, FixedOffset, Utc};
use clap::{Parser, Subcommand};
use dispatch_core::{
    Assignment, DroneId, DroneState, IncidentKind, LatLon, Need, NoCandidate, Scenario, World,
    assign, config,
};

#[derive(Parser, Debug)]
#[command(
    name = "dispatcher",
    version,
    about = "Drone patrol and rescue dispatcher"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate a scenario (TOML + the GeoJSON zones file it names).
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
    /// Choose the drone for one incident and print its route, ETA and the alternatives.
    ///
    /// Exit status: 0 when a drone is assigned, 3 when the incident would be
    /// queued (2 is a usage error, 1 any other error).
    Plan {
        #[arg(long)]
        config: PathBuf,
        /// Incident kind, e.g. person_in_water, forest_fire.
        #[arg(long, value_parser = parse_kind)]
        kind: IncidentKind,
        /// Incident position as LAT,LON in decimal degrees.
        #[arg(long, value_parser = parse_lat_lon)]
        at: LatLon,
        /// Time of the report (RFC 3339 / ISO 8601); decides which temporary zones are in force. Default: now.
        #[arg(long, value_parser = parse_time)]
        time: Option<DateTime<FixedOffset>>,
        /// Treat these drones as unavailable (comma-separated ids), for what-if planning.
        #[arg(long, value_delimiter = ',')]
        unavailable: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Link to the fleet (real or `drone-sim`), dispatch incidents and fly them
    /// until every drone involved is back in its hangar.
    ///
    /// Exit status: 0 when every incident is resolved, 1 otherwise.
    Fly(FlyArgs),
    /// Run the dispatch server: fleet service, HTTP API, websocket and web map.
    ///
    /// With --sim the bundled simulator fleet starts too. Ctrl-C stops; the
    /// last lines list the sorties still open.
    Serve(Box<serve::ServeArgs>),
}

#[derive(clap::Args, Debug)]
struct FlyArgs {
    #[arg(long)]
    config: PathBuf,
    /// MAVLink link: udpin:HOST:PORT (vehicles send to us), udpout:HOST:PORT or tcpout:HOST:PORT.
    #[arg(long, default_value = "udpin:127.0.0.1:14550")]
    mavlink: mavlink_link::link::Address,
    /// KIND@LAT,LON[+SECONDS], e.g. person_in_water@30.347,120.457, or with
    /// +120 to report it 120 s of scenario time after the start (repeatable).
    #[arg(long = "incident", value_parser = parse_incident, required = true)]
    incidents: Vec<(IncidentKind, LatLon, f64)>,
    /// Scenario time at start (RFC 3339); decides which zones are in force. Default: now.
    #[arg(long, value_parser = parse_time)]
    time: Option<DateTime<FixedOffset>>,
    /// Scenario seconds per wall second: the simulator's --speedup.
    #[arg(long, default_value_t = 1.0)]
    speedup: f64,
    /// Seconds (wall) a lost link is tolerated before the incident goes to another drone.
    #[arg(long, default_value_t = 10.0)]
    reassign_after: f64,
    /// Scenario seconds without progress toward the current mission item
    /// (beyond its own hold time) before a sortie counts as stalled: an
    /// alert, the incident to another drone, the drone commanded home.
    #[arg(long, default_value_t = 60.0, value_parser = positive_seconds)]
    stall_after: f64,
    /// Give up after this many wall seconds.
    #[arg(long, default_value_t = 3600.0)]
    timeout: f64,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The MAVLink link settings: the scenario's signing keys from the
/// configuration and the environment (never printed).
pub(crate) fn link_config(s: &config::Scenario) -> Result<mavlink_link::link::LinkConfig> {
    let keys = s
        .signing
        .resolve(|name| std::env::var(name).ok())
        .map_err(anyhow::Error::msg)?;
    for w in &keys.warnings {
        eprintln!("warning: {w}");
    }
    if keys.enabled() {
        let fleet_key = if keys.default.is_some() {
            "a fleet key"
        } else {
            "no fleet key"
        };
        let unsigned = if keys.allow_unsigned {
            "accepted"
        } else {
            "refused"
        };
        eprintln!(
            "MAVLink signing on: {fleet_key} and {} drone key(s); unsigned frames {unsigned}",
            keys.drones.len()
        );
    } else {
        eprintln!("MAVLink signing off: links are not authenticated (docs/security.md)");
    }
    Ok(fleet::link_config(&keys))
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::CheckConfig { config } => {
            let s = config::load(&config).map_err(anyhow::Error::msg)?;
            for w in &s.warnings {
                emit(&format!("warning: {w}\n"))?;
            }
            let permanent = s.zones.iter().filter(|z| z.window.is_permanent()).count();
            emit(&format!(
                "{}: ok: \"{}\": {} hangars, {} drones on {} MAVLink link(s), {} zones ({} permanent, {} timed) from {}, {} patrols; the map's times in {}\n",
                config.display(),
                s.name,
                s.hangars.len(),
                s.drones.len(),
                s.links.len(),
                s.zones.len(),
                permanent,
                s.zones.len() - permanent,
                s.zones_file.display(),
                s.patrols.len(),
                s.time_zone.name()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan {
            config,
            kind,
            at,
            time,
            unavailable,
            json,
        } => {
            let s = config::load(&config).map_err(anyhow::Error::msg)?;
            let world = what_if_world(&s, &unavailable)?;
            let shown = time.unwrap_or_else(|| Utc::now().fixed_offset());
            let time = shown.to_utc();
            let policy = world
                .policy(kind)
                .with_context(|| format!("no policy for kind {kind}"))?;
            world
                .check_position(at)
                .with_context(|| format!("cannot plan for {at}"))?;
            let need = Need::new(policy, at, time);
            let result = assign(&world, &need);
            let mut text = String::new();
            if json {
                let v = match &result {
                    Ok(a) => {
                        serde_json::json!({"status": "assigned", "kind": kind, "at": at, "time": time, "assignment": a})
                    }
                    Err(nc) => {
                        serde_json::json!({"status": "queued", "kind": kind, "at": at, "time": time, "reason": nc.reason, "rejected": nc.rejected})
                    }
                };
                text = serde_json::to_string_pretty(&v)?;
                text.push('\n');
            } else {
                match &result {
                    Ok(a) => print_assignment(&mut text, &world, kind, at, shown, a),
                    Err(nc) => print_queued(&mut text, kind, at, nc),
                }
            }
            emit(&text)?;
            Ok(if result.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Command::Fly(args) => fly(&args),
        Command::Serve(args) => serve::serve(&args),
    }
}

fn fly(args: &FlyArgs) -> Result<ExitCode> {
    let FlyArgs {
        config,
        mavlink,
        incidents,
        time,
        speedup,
        reassign_after,
        stall_after,
        timeout,
        json,
    } = args;
    let (speedup, reassign_after, timeout, json) = (*speedup, *reassign_after, *timeout, *json);
    use fleet::{FleetConfig, FleetManager};
    if !(speedup > 0.0 && speedup <= 1000.0) {
        bail!("--speedup {speedup} is outside (0, 1000]");
    }
    let s = config::load(config).map_err(anyhow::Error::msg)?;
    if s.links.len() > 1 {
        bail!(
            "{} has {} MAVLink links ({}): `fly` flies one link; use `dispatcher serve`, which opens each",
            config.display(),
            s.links.len(),
            s.links
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for (kind, at, _) in incidents {
        if !s.region.contains(*at) {
            bail!(
                "--incident {kind}@{at}: outside the operating region of {}",
                config.display()
            );
        }
    }
    let start = time.unwrap_or_else(|| Utc::now().fixed_offset());
    let offset = *start.offset();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let ids: Vec<u8> = s.drones.iter().map(|d| d.system_id).collect();
        let link = mavlink_link::link::connect(mavlink, ids.clone(), link_config(&s)?)
            .await
            .with_context(|| format!("cannot open the MAVLink link {mavlink:?}"))?;
        let cfg = FleetConfig {
            start_time: start.to_utc(),
            speedup,
            reassign_after: std::time::Duration::from_secs_f64(reassign_after.max(0.0)),
            stall_after_s: *stall_after,
            ..FleetConfig::default()
        };
        let reports = incidents
            .iter()
            .map(|(kind, at, after_s)| fleet::Scheduled {
                report: dispatch_core::Report {
                    kind: *kind,
                    position: *at,
                    priority: None,
                    auto_launch: true,
                    patrol: None,
                },
                after_s: *after_s,
            })
            .collect();
        // Scenario time runs at --speedup: it must be the vehicles' clock rate.
        let wait = std::time::Duration::from_secs(5);
        let over = std::time::Duration::from_secs(2);
        if let Some(m) = fleet::clock::measure(&link, &ids, wait, over).await
            && let Some(w) = fleet::clock::check(speedup, &m).map_err(anyhow::Error::msg)?
        {
            eprintln!("warning: {w}");
        }
        let manager = FleetManager::new(s, link, cfg);
        let summary = manager
            .fly(reports, std::time::Duration::from_secs_f64(timeout), |e| {
                let line = if json {
                    serde_json::to_string(e)
                        .unwrap_or_else(|err| format!("{{\"error\":\"{err}\"}}"))
                } else {
                    describe(e, &offset)
                };
                let _ = emit(&format!("{line}\n"));
            })
            .await;
        let text = if json {
            serde_json::json!({"event": "summary", "summary": summary}).to_string()
        } else {
            let mut t = format!(
                "summary: {} resolved, {} failed, {} still open{}",
                summary.resolved.len(),
                summary.failed.len(),
                summary.open.len(),
                if summary.timed_out {
                    " (timed out)"
                } else {
                    ""
                }
            );
            for d in &summary.drones {
                let where_ = match d.state {
                    dispatch_core::DroneState::Docked | dispatch_core::DroneState::Charging => {
                        format!("{} at its hangar", d.state)
                    }
                    dispatch_core::DroneState::Maintenance if d.home => {
                        "out of service in its hangar".to_owned()
                    }
                    dispatch_core::DroneState::Maintenance => {
                        format!("landed away at {}: needs recovery", d.position)
                    }
                    dispatch_core::DroneState::Lost => format!("lost, last seen at {}", d.position),
                    other => format!("{other}, still in the air near {}", d.position),
                };
                t.push_str(&format!(
                    "\n  drone {}: {where_}, battery {:.0} %",
                    d.drone, d.battery_pct
                ));
            }
            t
        };
        emit(&format!("{text}\n"))?;
        // Success only if every incident ended well and every drone is home.
        Ok(if summary.all_home() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

fn describe(e: &fleet::FleetEvent, offset: &FixedOffset) -> String {
    use fleet::What;
    let t = e.t.with_timezone(offset).format("%H:%M:%S");
    match &e.what {
        What::Incident {
            incident,
            status,
            note,
            ..
        } => format!("{t} incident {incident} {status}: {note}"),
        What::Drone { drone, state, note } => format!("{t} drone {drone} {state}: {note}"),
        What::Dispatch { output } => format!(
            "{t} dispatch: {}",
            serde_json::to_string(output).unwrap_or_default()
        ),
        What::Link { drone, status } => format!("{t} link {drone}: {status}"),
        What::Vehicle { drone, text } => format!("{t} {drone} says: {text}"),
        What::Alert {
            drone,
            severity,
            message,
        } => match drone {
            Some(d) => format!("{t} alert ({severity:?}) {d}: {message}"),
            None => format!("{t} alert ({severity:?}): {message}"),
        },
        What::Zone { zone, change } => format!("{t} zone {zone} {change}"),
        What::Airspace {
            drone,
            step,
            aircraft,
            note,
            ..
        } => {
            let who = drone.as_ref().map_or_else(String::new, |d| format!(" {d}"));
            format!("{t} traffic{who} {step:?} ({aircraft}): {note}")
        }
        What::Command {
            drone,
            command,
            ok,
            detail,
        } => format!(
            "{t} command {command} to {drone}: {}{detail}",
            if *ok { "" } else { "FAILED: " }
        ),
        What::Notice { message } => format!("{t} notice: {message}"),
        What::Still(s) => format!(
            "{t} still {} from {}{} ({:?}, {} bytes)",
            s.still,
            s.drone,
            s.incident
                .map_or_else(String::new, |i| format!(" for incident {i}")),
            s.trigger,
            s.bytes
        ),
        What::Share(s) => {
            let what = match &s.change {
                fleet::ShareChange::Created {
                    incident,
                    drone,
                    expires_at,
                    ..
                } => match (incident, drone) {
                    (Some(i), _) => format!("created for incident {i}, until {expires_at}"),
                    (_, Some(d)) => format!("created for drone {d}, until {expires_at}"),
                    _ => "created".to_owned(),
                },
                fleet::ShareChange::Revoked { by } => format!("revoked by {by}"),
                fleet::ShareChange::Opened { address, .. } => format!(
                    "opened from {}",
                    address.as_deref().unwrap_or("an unknown address")
                ),
            };
            format!("{t} share {}: {what}", s.share)
        }
        What::Eta {
            incident,
            eta,
            note,
        } => format!(
            "{t} incident {incident} ETA {}: {note}",
            eta.with_timezone(offset).format("%H:%M:%S")
        ),
    }
}

fn parse_incident(s: &str) -> Result<(IncidentKind, LatLon, f64), String> {
    let (kind, rest) = s.split_once('@').ok_or_else(|| {
        format!("`{s}` is not KIND@LAT,LON[+SECONDS] (e.g. person_in_water@30.347,120.457)")
    })?;
    let (at, after) = match rest.split_once('+') {
        Some((at, secs)) => {
            let v: f64 = secs
                .parse()
                .map_err(|_| format!("`+{secs}` in `{s}` is not a number of seconds"))?;
            if !(v >= 0.0 && v.is_finite()) {
                return Err(format!(
                    "`+{secs}` in `{s}` must be a non-negative number of seconds"
                ));
            }
            (at, v)
        }
        None => (rest, 0.0),
    };
    Ok((parse_kind(kind)?, parse_lat_lon(at)?, after))
}

fn what_if_world(s: &Scenario, unavailable: &[String]) -> Result<World> {
    let mut world = s.world();
    for id in unavailable {
        let id = DroneId(id.clone());
        let Some(d) = world.drone(&id) else {
            bail!("--unavailable: unknown drone `{id}`");
        };
        let (pos, battery) = (d.position, d.battery_pct);
        world.update_drone(&id, DroneState::Maintenance, pos, battery, None)?;
    }
    Ok(world)
}

fn print_assignment(
    out: &mut String,
    world: &World,
    kind: IncidentKind,
    at: LatLon,
    time: DateTime<FixedOffset>,
    a: &Assignment,
) {
    let c = &a.chosen;
    w!(
        out,
        "incident: {kind} at {at}, reported {}",
        time.format("%Y-%m-%dT%H:%M:%S%:z")
    );
    w!(
        out,
        "assigned: drone {} from hangar {} ({})",
        c.drone,
        c.hangar,
        world
            .hangar(&c.hangar)
            .map(|h| h.name.as_str())
            .unwrap_or("?")
    );
    w!(
        out,
        "ETA:      {:.0} s ({}), arriving {}",
        c.eta_s,
        mmss(c.eta_s),
        a.arrival_at
            .with_timezone(time.offset())
            .format("%Y-%m-%dT%H:%M:%S%:z")
    );
    w!(
        out,
        "route:    {:.0} m, {} legs (straight line {:.0} m)",
        a.route.length_m,
        a.route.waypoints.len() - 1,
        c.distance_m
    );
    for (i, w) in a.route.waypoints.iter().enumerate() {
        w!(out, "  {i:>2}  {w}");
    }
    if !a.route.avoided.is_empty() {
        w!(out, "  bends around: {}", join(&a.route.avoided));
    }
    if !a.route.final_leg_enters.is_empty() {
        w!(
            out,
            "  final leg enters rescue-exempt zone(s): {}",
            join(&a.route.final_leg_enters)
        );
    }
    if let Some(c) = a.route.clearance_m {
        let margin = world.params().route_margin_m;
        w!(
            out,
            "  clearance: {c:.0} m from {}{}",
            join(&a.route.clearance_zones),
            if c + 0.5 < margin {
                format!(" (less than the {margin:.0} m margin)")
            } else {
                String::new()
            }
        );
    }
    w!(
        out,
        "return:   {:.0} m to {}",
        a.return_route.length_m,
        c.hangar
    );
    let e = &a.energy;
    w!(
        out,
        "energy:   {:.1}% of {:.0}% (climb {:.1}, out {:.1}, on scene {:.1}, back {:.1}, descent {:.1}); lands with {:.1}%, reserve {:.0}%",
        e.total_pct,
        e.battery_pct,
        e.climb_pct,
        e.outbound_pct,
        e.on_scene_pct,
        e.return_pct,
        e.descent_pct,
        c.battery_on_landing_pct,
        e.reserve_pct
    );
    if a.alternatives.is_empty() {
        w!(out, "alternatives: none");
    } else {
        w!(out, "alternatives:");
        for alt in &a.alternatives {
            w!(
                out,
                "  {:<8} from {:<14} ETA {:>5.0} s ({}), route {:.0} m",
                alt.drone.0,
                alt.hangar.0,
                alt.eta_s,
                mmss(alt.eta_s),
                alt.route_length_m
            );
        }
    }
    if !a.rejected.is_empty() {
        w!(out, "passed over (nearer than the chosen drone):");
        for r in &a.rejected {
            rejection_row(out, r);
        }
    }
}

fn print_queued(out: &mut String, kind: IncidentKind, at: LatLon, nc: &NoCandidate) {
    w!(out, "incident: {kind} at {at}");
    w!(out, "queued:   {}", nc.reason);
    for r in &nc.rejected {
        rejection_row(out, r);
    }
}

/// Writes to stdout; a closed pipe (`| head`) ends quietly instead of panicking.
fn emit(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn rejection_row(out: &mut String, r: &dispatch_core::Rejection) {
    w!(
        out,
        "  {:<8} {:>6.0} m: {}",
        r.drone.0,
        r.distance_m,
        r.reason
    );
}

fn mmss(s: f64) -> String {
    let s = s.round() as i64;
    format!("{}:{:02}", s / 60, s % 60)
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_kind(s: &str) -> Result<IncidentKind, String> {
    IncidentKind::parse(s).ok_or_else(|| {
        let known: Vec<&str> = IncidentKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind `{s}`; known kinds: {}", known.join(", "))
    })
}

fn parse_lat_lon(s: &str) -> Result<LatLon, String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("`{s}` is not LAT,LON (e.g. 30.347,120.457)"))?;
    let lat: f64 = a
        .trim()
        .parse()
        .map_err(|e| format!("latitude `{a}`: {e}"))?;
    let lon: f64 = b
        .trim()
        .parse()
        .map_err(|e| format!("longitude `{b}`: {e}"))?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(format!(
            "latitude {lat} is outside -90..=90{}",
            if (-90.0..=90.0).contains(&lon) {
                "; did you swap LAT and LON?"
            } else {
                ""
            }
        ));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(format!("longitude {lon} is outside -180..=180"));
    }
    Ok(LatLon::new(lat, lon))
}

fn parse_time(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s).map_err(|e| {
        format!("`{s}` is not an RFC 3339 time such as 2026-09-28T13:00:00+08:00: {e}")
    })
}

/// A number of seconds in 1..=86400.
pub(crate) fn positive_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|e| format!("`{s}` is not a number: {e}"))?;
    if !(1.0..=86_400.0).contains(&v) {
        return Err(format!("{v} s is outside 1..=86400"));
    }
    Ok(v)
}
