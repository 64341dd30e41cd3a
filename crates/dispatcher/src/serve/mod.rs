//! `dispatcher serve`: the fleet service, the HTTP API, the websocket and the
//! web map in one process; with `--sim`, the bundled simulator fleet too
//! (in-process, on its own thread, speaking MAVLink over loopback UDP
//! exactly as hardware would). With `--node`, one of several servers on one
//! PostgreSQL database (`cluster`): a standby until it takes the dispatch
//! lease, then the leader.

mod cluster;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, FixedOffset, Utc};
use dispatch_core::config;
use dispatch_server::{AppState, HubConfig, Listener, TlsConfig, Tokens};
use fleet::{FleetConfig, FleetManager};
use mavlink_link::link::Address;

#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    #[arg(long)]
    config: PathBuf,
    /// HTTP address of the API, websocket and map (HTTPS with --tls-cert).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve HTTPS: the PEM certificate chain (the server's own certificate
    /// first), with --tls-key. Default: `tls_cert` and `tls_key` of the
    /// config's [server] section (none there: plain HTTP).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (readable by this user only).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// MAVLink link: udpin:HOST:PORT (vehicles send to us), udpout:HOST:PORT or
    /// tcpout:HOST:PORT; NAME=ADDRESS for one of the scenario's `[[link]]`s
    /// (repeat it, one per link). Default: each link's `address`; with --sim,
    /// free loopback ports; else udpin:127.0.0.1:14550 for a single link.
    #[arg(long)]
    mavlink: Vec<String>,
    /// Also start the bundled simulator: one simulated drone per configured drone, in its hangar.
    #[arg(long)]
    sim: bool,
    /// The simulator's speed (scenario seconds per wall second); scenario time follows it.
    #[arg(long, default_value_t = 1.0, requires = "sim")]
    sim_speedup: f64,
    /// The simulator's steady wind, SPEED@FROM_DEG (e.g. 8@248: 8 m/s from 248°).
    #[arg(long, requires = "sim", value_parser = drone_sim::parse_wind)]
    sim_wind: Option<(f64, f64)>,
    /// The simulator's gusts (standard deviation, m/s).
    #[arg(long, requires = "sim")]
    sim_gust: Option<f64>,
    /// Manned traffic for the simulator to play back (see docs/simulator.md):
    /// the vehicles forward it as ADSB_VEHICLE.
    #[arg(long, requires = "sim")]
    sim_traffic: Option<PathBuf>,
    /// Serve the simulator's traffic as an SBS-1 feed on this address too.
    #[arg(long, requires = "sim_traffic")]
    sim_sbs_listen: Option<SocketAddr>,
    /// The simulator's control interface (status, wind, faults; docs/simulator.md).
    #[arg(long, requires = "sim")]
    sim_control: Option<SocketAddr>,
    /// Scenario seconds per wall second without --sim (match your vehicles or simulator).
    #[arg(long, default_value_t = 1.0, conflicts_with = "sim")]
    speedup: f64,
    /// Scenario time at start (RFC 3339); decides which zones are in force. Default: now.
    #[arg(long, value_parser = crate::parse_time)]
    time: Option<DateTime<FixedOffset>>,
    /// Seconds (wall) a lost link is tolerated before the incident goes to another drone.
    #[arg(long, default_value_t = 10.0)]
    reassign_after: f64,
    /// Scenario seconds without progress toward the current mission item
    /// (beyond its own hold time) before a sortie counts as stalled.
    #[arg(long, default_value_t = 60.0, value_parser = crate::positive_seconds)]
    stall_after: f64,
    /// Directory of the web map (with public/, node_modules/ and build/). Default: web/ of the source tree.
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// One JSON object per line for the event log instead of text.
    #[arg(long)]
    json: bool,
    /// The durable event log (SQLite file), or `off`. Default: `event_log`
    /// of the config's [server] section (none there: off).
    #[arg(long)]
    event_log: Option<String>,
    /// The event log in PostgreSQL (`postgres://USER@HOST:PORT/DATABASE`),
    /// shared by several servers. Default: `database` of the config's
    /// [cluster] section; an `--event-log` given here wins over it.
    #[arg(long, conflicts_with = "event_log")]
    database: Option<String>,
    /// This server's name among several on one PostgreSQL database (with
    /// --database or [cluster] database): it leads while it holds the
    /// dispatch lease, else it is a standby that sends nothing to any
    /// vehicle. Default: `node` of the config's [cluster] section (none:
    /// a single server).
    #[arg(long, conflicts_with = "sim")]
    node: Option<String>,
    /// The cluster's bus, a NATS server (`nats://HOST:PORT`): with it a
    /// server that does not lead still serves the API (forwarded to the
    /// leader), the websocket and the map. Default: `bus` of the config's
    /// [cluster] section (none: a standby serves /api/health only).
    #[arg(long)]
    bus: Option<String>,
    /// The first token of the cluster's NATS subjects. Default:
    /// `subject_prefix` of [cluster], else `fleet`.
    #[arg(long)]
    bus_prefix: Option<String>,
    /// A ground ADS-B receiver's SBS-1 (BaseStation) feed, HOST:PORT (dump1090
    /// and readsb serve it on port 30003). Default: `sbs` of the config's
    /// [traffic] section (none there: traffic only from the vehicles' ADS-B).
    #[arg(long)]
    sbs: Option<String>,
}

pub(crate) fn serve(args: &ServeArgs) -> Result<ExitCode> {
    let p = prepare(args)?;
    let node = args
        .node
        .clone()
        .or_else(|| p.scenario.cluster.node.clone());
    let log = event_log(args, &p.scenario)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        match (node, log) {
            (Some(node), EventLog::Postgres(url)) => cluster::run(args, p, node, url).await,
            (None, _) if args.bus.is_some() => bail!(
                "--bus: the bus joins the servers of a cluster: give --node NAME and --database postgres://... too"
            ),
            (Some(node), _) => bail!(
                "--node {node}: several servers share the event log in PostgreSQL: give --database postgres://USER@HOST:PORT/DATABASE (or [cluster] database)"
            ),
            (None, log) => single(args, p, log).await,
        }
    })
}

/// What every server needs before anything runs: the checked settings.
struct Prepared {
    scenario: config::Scenario,
    tokens: Tokens,
    speedup: f64,
    start: DateTime<FixedOffset>,
    web_dir: PathBuf,
    /// HTTPS, from --tls-cert/--tls-key or [server] (None: plain HTTP).
    tls: Option<TlsConfig>,
}

fn prepare(args: &ServeArgs) -> Result<Prepared> {
    let speedup = if args.sim {
        args.sim_speedup
    } else {
        args.speedup
    };
    if !(speedup > 0.0 && speedup <= 1000.0) {
        bail!("speedup {speedup} is outside (0, 1000]");
    }
    if let Some(n) = &args.node
        && !config::valid_node_name(n)
    {
        bail!("--node {n}: a server's name is 1 to 64 letters, digits, `.`, `_` or `-`");
    }
    let scenario = config::load(&args.config).map_err(anyhow::Error::msg)?;
    for w in &scenario.warnings {
        eprintln!("warning: {w}");
    }
    let tokens = Tokens::new(
        &scenario.server.tokens,
        std::env::var("DISPATCH_TOKENS").ok().as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    if tokens.is_empty() {
        bail!(
            "no access tokens: add [[token]] entries to {} or set DISPATCH_TOKENS=role:token,...",
            args.config.display()
        );
    }
    // The command line's pair wins over the config's.
    let tls_files = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        _ => scenario
            .server
            .tls
            .as_ref()
            .map(|t| (t.cert.clone(), t.key.clone())),
    };
    let tls = match tls_files {
        Some((cert, key)) => Some(TlsConfig::load(&cert, &key)?),
        None => None,
    };
    for w in tls.iter().flat_map(|t| &t.warnings) {
        eprintln!("warning: {w}");
    }
    let start = args.time.unwrap_or_else(|| Utc::now().fixed_offset());
    let web_dir = args
        .web_dir
        .clone()
        .unwrap_or_else(dispatch_server::default_web_dir);
    let web_ready = web_dir.join("public/index.html").is_file()
        && web_dir
            .join("node_modules/leaflet/dist/leaflet.js")
            .is_file();
    if !web_ready {
        eprintln!(
            "warning: the web map's files are incomplete in {} (run `npm ci && npm run build` there; scripts/demo.sh does): the API works, the map may not",
            web_dir.display()
        );
    }
    Ok(Prepared {
        scenario,
        tokens,
        speedup,
        start,
        web_dir,
        tls,
    })
}

/// The API's listener on `--listen`, over TLS when configured. Without
/// TLS on an address other machines reach, says that tokens cross the
/// network in clear.
async fn listen(args: &ServeArgs, tls: Option<&TlsConfig>) -> Result<Listener> {
    let tcp = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    if tls.is_none() && !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: --listen {} is not a loopback address and serves plain HTTP: bearer tokens cross the network in clear; give --tls-cert and --tls-key (or [server] tls_cert and tls_key), or put a TLS reverse proxy in front (docs/operations.md, \"TLS\")",
            args.listen
        );
    }
    Ok(Listener::new(tcp, tls))
}

/// A single server: the fleet, then the API, until Ctrl-C or SIGTERM.
async fn single(args: &ServeArgs, p: Prepared, log: EventLog) -> Result<ExitCode> {
    let speedup = p.speedup;
    let tls = p.tls.clone();
    let running = start_fleet(args, p, log, None, None).await?;
    let listener = listen(args, tls.as_ref()).await?;
    crate::emit(&format!(
        "dispatcher: map and API at {} , MAVLink on {}{}\n",
        listener.url()?,
        running.mavlink,
        if args.sim {
            format!(" (simulated fleet at {speedup}x)")
        } else {
            String::new()
        }
    ))?;
    running.print_demo_tokens()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(dispatch_server::serve(
        listener,
        running.state.clone(),
        async move {
            let _ = stop_rx.await;
        },
    ));
    stop_signal().await?;
    stopping()?;
    let _ = stop_tx.send(());
    // Open websockets end with the process; give plain requests a moment.
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    running.finish().await?;
    Ok(ExitCode::SUCCESS)
}

/// The fleet service of a server that commands: its links, log and API state.
struct Running {
    fleet: fleet::FleetHandle,
    service: tokio::task::JoinHandle<fleet::Summary>,
    state: AppState,
    /// Where the first link is, for the start-up line.
    mavlink: String,
    demo: Vec<String>,
}

/// How a leader's fleet differs from a single server's.
struct Leading {
    /// Every link's frames pass it.
    gate: fleet::cluster::SendGate,
    /// The store's commits must hold the lease's token.
    fence: fleet::store_pg_lease::Fence,
    /// Told when a commit is fenced.
    cluster: fleet::cluster::ClusterHandle,
    /// What health says of the cluster.
    view: dispatch_server::ClusterView,
}

/// Opens the scenario's links at `addresses`, in its order; with a gate,
/// every frame they would send passes it first.
async fn open_links(
    scenario: &config::Scenario,
    addresses: &[Address],
    gate: Option<fleet::cluster::SendGate>,
) -> Result<Vec<(String, mavlink_link::link::LinkHandle)>> {
    let mut link_cfg = crate::link_config(scenario)?;
    link_cfg.send_gate = gate;
    let mut links = Vec::new();
    for (spec, address) in scenario.links.iter().zip(addresses) {
        let ids: Vec<u8> = scenario
            .drones
            .iter()
            .filter(|d| d.link == spec.name)
            .map(|d| d.system_id)
            .collect();
        let link = mavlink_link::link::connect(address, ids, link_cfg.clone())
            .await
            .with_context(|| format!("cannot open the MAVLink link {} ({address:?})", spec.name))?;
        for d in scenario.drones.iter().filter(|d| d.link == spec.name) {
            if let Some(a) = d.address {
                link.bind(d.system_id, a);
            }
        }
        links.push((spec.name.clone(), link));
    }
    Ok(links)
}

/// Opens the links (and the simulator), the event log (recovering from
/// it), starts the fleet service, and builds the API's state.
async fn start_fleet(
    args: &ServeArgs,
    p: Prepared,
    log: EventLog,
    leading: Option<Leading>,
    links: Option<Vec<(String, mavlink_link::link::LinkHandle)>>,
) -> Result<Running> {
    let Prepared {
        scenario,
        tokens,
        speedup,
        start,
        web_dir,
        tls: _,
    } = p;
    let offset = *start.offset();
    let addresses = link_addresses(&scenario, &args.mavlink, args.sim)?;
    let links = match links {
        Some(l) => l,
        None => {
            open_links(
                &scenario,
                &addresses,
                leading.as_ref().map(|l| l.gate.clone()),
            )
            .await?
        }
    };
    if links.len() > 1 {
        let at: Vec<String> = links
            .iter()
            .map(|(n, l)| {
                let a = l
                    .local_addr()
                    .map_or_else(|| "?".to_owned(), |a| a.to_string());
                format!("{n} {a}")
            })
            .collect();
        crate::emit(&format!(
            "dispatcher: {} MAVLink links: {}\n",
            links.len(),
            at.join(", ")
        ))?;
    }
    let Some((_, link)) = links.first().cloned() else {
        bail!("the scenario has no MAVLink link");
    };
    // The first link's vehicles (a system id means nothing across links).
    let first_ids: Vec<u8> = scenario
        .drones
        .iter()
        .filter(|d| Some(&d.link) == scenario.links.first().map(|l| &l.name))
        .map(|d| d.system_id)
        .collect();
    if args.sim {
        let mut gcs = Vec::new();
        for (name, l) in &links {
            gcs.push(l.local_addr().with_context(|| {
                format!("the MAVLink link {name} has no local address for the simulator")
            })?);
        }
        start_simulator(&args.config, &gcs, speedup, &sim_extra(args))?;
    } else if leading.is_some() {
        // A leader taking over mid-rescue does not wait for the measure:
        // the vehicles' clock is checked beside the fleet, and only said.
        let link = link.clone();
        tokio::spawn(async move {
            let m = fleet::clock::measure(
                &link,
                &first_ids,
                Duration::from_secs(3),
                Duration::from_secs(2),
            )
            .await;
            match m.map(|m| fleet::clock::check(speedup, &m)) {
                Some(Ok(Some(w))) => tracing::warn!("{w}"),
                Some(Err(e)) => tracing::error!("{e}"),
                _ => {}
            }
        });
    } else if let Some(m) = fleet::clock::measure(
        &link,
        &first_ids,
        Duration::from_secs(3),
        Duration::from_secs(2),
    )
    .await
    {
        // Vehicles of our own: scenario time must run at their clock rate.
        if let Some(w) = fleet::clock::check(speedup, &m).map_err(anyhow::Error::msg)? {
            tracing::warn!("{w}");
        }
    }
    let cfg = FleetConfig {
        start_time: start.to_utc(),
        speedup,
        reassign_after: Duration::from_secs_f64(args.reassign_after.max(0.0)),
        stall_after_s: args.stall_after,
        ..FleetConfig::default()
    };
    let mut manager =
        FleetManager::with_links(scenario.clone(), links, cfg).map_err(anyhow::Error::msg)?;
    if let Some(sbs) = args.sbs.as_ref().or(scenario.traffic.sbs.as_ref()) {
        if !dispatch_core::airspace::settings::valid_host_port(sbs) {
            bail!("--sbs {sbs}: expected HOST:PORT (a BaseStation feed, usually port 30003)");
        }
        manager.with_sbs(sbs);
        crate::emit(&format!(
            "dispatcher: manned traffic from the SBS-1 feed at {sbs}\n"
        ))?;
    }
    if let Some(l) = &leading {
        let cluster = l.cluster.clone();
        manager.on_fenced(move |why| cluster.fenced(why));
    }
    match log {
        EventLog::Sqlite(path) => {
            let store = fleet::store::SqliteStore::open(&path)?;
            manager
                .with_store(Box::new(store))
                .with_context(|| format!("cannot read the event log {}", path.display()))?;
            crate::emit(&format!("dispatcher: event log {}\n", path.display()))?;
        }
        EventLog::Postgres(url) => {
            let fence = leading.as_ref().map(|l| l.fence.clone());
            let store = tokio::task::spawn_blocking(move || {
                fleet::store_pg::PostgresStore::open(&url).map(|mut s| {
                    if let Some(f) = fence {
                        s.set_fence(f);
                    }
                    s
                })
            })
            .await
            .context("opening the event log failed")??;
            let shown = store.url().to_owned();
            // Recovery reads the shared log (a standby taking over reads
            // what the leader before it wrote).
            tokio::task::block_in_place(|| manager.with_store(Box::new(store)))
                .with_context(|| format!("cannot read the event log {shown}"))?;
            crate::emit(&format!("dispatcher: event log in PostgreSQL {shown}\n"))?;
        }
        EventLog::Off => crate::emit(
            "dispatcher: no event log (--event-log, --database, [server] event_log or [cluster] database): nothing survives a restart\n",
        )?,
    }
    let (fleet, service) = fleet::service::spawn(manager, Duration::from_secs(3));
    // The event log on stdout.
    let mut events = fleet.subscribe();
    let json = args.json;
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(e) => {
                    let line = if json {
                        serde_json::to_string(&e).unwrap_or_default()
                    } else {
                        crate::describe(&e, &offset)
                    };
                    let _ = crate::emit(&format!("{line}\n"));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    let _ = crate::emit(&format!("({n} events not printed: output too slow)\n"));
                }
                Err(_) => return,
            }
        }
    });
    let demo: Vec<String> = scenario
        .server
        .tokens
        .iter()
        .filter(|t| t.token.starts_with("demo-"))
        .map(|t| t.token.clone())
        .collect();
    let defaults = dispatch_server::limits::WriteLimit::default();
    let limit = dispatch_server::limits::WriteLimit {
        per_minute: scenario
            .server
            .write_rate_per_min
            .unwrap_or(defaults.per_minute),
        burst: scenario.server.write_burst.unwrap_or(defaults.burst),
    };
    let mavlink = link
        .local_addr()
        .map_or_else(|| format!("{:?}", addresses.first()), |a| a.to_string());
    let mut state = AppState::new(
        fleet.clone(),
        scenario,
        tokens,
        HubConfig::default(),
        Some(web_dir),
    )
    .with_write_limit(limit);
    if let Some(l) = &leading {
        state = state.with_cluster(l.view.clone());
    }
    // Share links are events of the log: their book is rebuilt from it.
    match state.shares.recover(&fleet).await {
        Ok(0) => {}
        Ok(n) => crate::emit(&format!(
            "dispatcher: {n} share link entries read from the event log\n"
        ))?,
        Err(e) => crate::emit(&format!(
            "dispatcher: warning: {e}; share links made before are not known\n"
        ))?,
    }
    Ok(Running {
        fleet,
        service,
        state,
        mavlink,
        demo,
    })
}

impl Running {
    fn print_demo_tokens(&self) -> Result<()> {
        if !self.demo.is_empty() {
            crate::emit(&format!(
                "dispatcher: demo tokens (from the config): {}\n",
                self.demo.join(", ")
            ))?;
        }
        Ok(())
    }

    /// Stops the fleet service and prints what is still open.
    async fn finish(self) -> Result<()> {
        self.fleet.stop().await.ok();
        let summary = tokio::time::timeout(Duration::from_secs(10), self.service)
            .await
            .context("the fleet service did not stop within 10 s")?
            .context("the fleet service failed")?;
        let mut text = format!(
            "summary: {} resolved, {} failed or cancelled, {} still open\n",
            summary.resolved.len(),
            summary.failed.len(),
            summary.open.len()
        );
        for s in &summary.open_sorties {
            match (s.incident, s.status) {
                (Some(i), Some(st)) => text.push_str(&format!(
                    "still out: drone {} on incident {i} ({st})\n",
                    s.drone
                )),
                _ => text.push_str(&format!("still out: drone {} flying home\n", s.drone)),
            }
        }
        if summary.open_sorties.is_empty() {
            text.push_str("no sortie was open\n");
        }
        crate::emit(&text)
    }
}

/// Says the server is stopping; a second Ctrl-C (or SIGTERM) does not wait
/// for the clean stop.
fn stopping() -> Result<()> {
    crate::emit(
        "dispatcher: stopping (vehicles in the air keep flying their uploaded missions)\n",
    )?;
    tokio::spawn(async {
        if stop_signal().await.is_ok() {
            eprintln!("dispatcher: stopped at once");
            std::process::exit(130);
        }
    });
    Ok(())
}

/// Ctrl-C (SIGINT) or SIGTERM (service managers).
async fn stop_signal() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot wait for SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C"),
        _ = term.recv() => Ok(()),
    }
}

/// Where each of the scenario's links is opened, in its order: `--mavlink
/// NAME=ADDRESS`, a bare `--mavlink ADDRESS` for a single link, the link's
/// configured `address`, a free loopback port with `--sim`, else the
/// MAVLink default udpin:127.0.0.1:14550 for a single link.
fn link_addresses(
    scenario: &config::Scenario,
    given: &[String],
    sim: bool,
) -> Result<Vec<Address>> {
    let names: Vec<&str> = scenario.links.iter().map(|l| l.name.as_str()).collect();
    let mut named = std::collections::HashMap::new();
    let mut bare = None;
    for g in given {
        // NAME=ADDRESS (an address has no `=`).
        match g.split_once('=') {
            Some((name, a)) => {
                if !names.contains(&name) {
                    bail!(
                        "--mavlink {g}: the scenario has no link `{name}` (links: {})",
                        names.join(", ")
                    );
                }
                let a: Address = a
                    .parse()
                    .map_err(|e: String| anyhow::anyhow!("--mavlink {g}: {e}"))?;
                if named.insert(name.to_owned(), a).is_some() {
                    bail!("--mavlink names link `{name}` twice");
                }
            }
            None => {
                if bare.is_some() {
                    bail!(
                        "--mavlink without a link name can be given once; name the links: --mavlink NAME=ADDRESS"
                    );
                }
                bare = Some(
                    g.parse::<Address>()
                        .map_err(|e| anyhow::anyhow!("--mavlink {g}: {e}"))?,
                );
            }
        }
    }
    if bare.is_some() && names.len() > 1 {
        bail!(
            "the scenario has {} MAVLink links ({}): give each as --mavlink NAME=ADDRESS",
            names.len(),
            names.join(", ")
        );
    }
    let mut out = Vec::new();
    for spec in &scenario.links {
        let configured = match &spec.address {
            Some(a) => Some(
                a.parse::<Address>()
                    .map_err(|e| anyhow::anyhow!("[[link]] {}: address {a}: {e}", spec.name))?,
            ),
            None => None,
        };
        let a = match (named.remove(&spec.name), bare.take(), configured, sim) {
            (Some(a), _, _, _) | (None, Some(a), _, _) | (None, None, Some(a), _) => a,
            (None, None, None, true) => Address::UdpIn(SocketAddr::from(([127, 0, 0, 1], 0))),
            (None, None, None, false) if names.len() == 1 => {
                Address::UdpIn(SocketAddr::from(([127, 0, 0, 1], 14550)))
            }
            (None, None, None, false) => bail!(
                "MAVLink link `{}` has no address: set `address` in its [[link]] or give --mavlink {}=ADDRESS",
                spec.name,
                spec.name
            ),
        };
        out.push(a);
    }
    Ok(out)
}

/// The simulator's own settings given through `serve`'s `--sim-*` flags.
fn sim_extra(args: &ServeArgs) -> Vec<String> {
    let mut v = Vec::new();
    if let Some((speed, from)) = args.sim_wind {
        v.extend(["--wind".to_owned(), format!("{speed}@{from}")]);
    }
    if let Some(g) = args.sim_gust {
        v.extend(["--gust".to_owned(), g.to_string()]);
    }
    if let Some(f) = &args.sim_traffic {
        v.extend(["--traffic".to_owned(), f.display().to_string()]);
    }
    if let Some(a) = args.sim_sbs_listen {
        v.extend(["--sbs-listen".to_owned(), a.to_string()]);
    }
    if let Some(a) = args.sim_control {
        v.extend(["--control".to_owned(), a.to_string()]);
    }
    v
}

/// Runs the bundled simulator on its own thread and runtime, so that its
/// physics clock is not disturbed by the server's load; each link's
/// vehicles send to that link's socket (`gcs`, in the scenario's order).
/// Where the durable log is kept.
enum EventLog {
    Sqlite(PathBuf),
    Postgres(String),
    Off,
}

/// The command line first (`--event-log` or `--database`), then the
/// config (`[server] event_log` or `[cluster] database`, never both).
fn event_log(args: &ServeArgs, scenario: &dispatch_core::Scenario) -> Result<EventLog> {
    if let Some(url) = &args.database {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!(
                "--database {url}: expected a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE); a SQLite file is --event-log PATH"
            );
        }
        return Ok(EventLog::Postgres(url.clone()));
    }
    Ok(match args.event_log.as_deref() {
        Some("off") => EventLog::Off,
        Some(p) => EventLog::Sqlite(PathBuf::from(p)),
        None => match (&scenario.cluster.database, &scenario.server.event_log) {
            (Some(url), _) => EventLog::Postgres(url.clone()),
            (None, Some(p)) => EventLog::Sqlite(p.clone()),
            (None, None) => EventLog::Off,
        },
    })
}

fn start_simulator(
    config: &std::path::Path,
    gcs: &[SocketAddr],
    speedup: f64,
    extra: &[String],
) -> Result<()> {
    use clap::Parser as _;
    let mut argv = vec![
        "drone-sim".to_owned(),
        "--config".to_owned(),
        config.display().to_string(),
        "--speedup".to_owned(),
        speedup.to_string(),
    ];
    for (i, g) in gcs.iter().enumerate() {
        if i == 0 {
            argv.extend(["--gcs".to_owned(), g.to_string()]);
        }
        argv.extend(["--link-gcs".to_owned(), g.to_string()]);
    }
    argv.extend(extra.iter().cloned());
    let cli = drone_sim::Cli::try_parse_from(argv)
        .map_err(|e| anyhow::anyhow!("simulator settings: {e}"))?;
    let vehicles = drone_sim::fleet(&cli)?;
    std::thread::Builder::new()
        .name("drone-sim".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the simulator's runtime: {e}");
                    return;
                }
            };
            if let Err(e) = rt.block_on(drone_sim::runtime::run(&cli, vehicles, Vec::new())) {
                eprintln!("error: the simulator stopped: {e:#}");
            }
        })
        .context("cannot start the simulator thread")?;
    Ok(())
}
