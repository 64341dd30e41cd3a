//! `serve --node NAME --database postgres://... [--bus nats://...]`: one of
//! several servers on one database. It opens its MAVLink links at once,
//! behind the lease's send gate (shut: it hears every vehicle and sends
//! nothing), and serves as a standby: with the bus, a follower (the API
//! forwarded to the leader, the websocket from its own links and the bus's
//! events, the map); without it, `/api/health` only. When it takes the
//! dispatch lease it fences its store with the lease's token, recovers from
//! the shared log as a restart does, runs the fleet on the links it already
//! has, answers the other servers' requests, publishes the fleet's events
//! and serves the whole API. Losing the lease (a refused or late renewal, a
//! fenced commit) ends the process at once with [`STEPPED_DOWN`], so that
//! its supervisor starts it again as a standby.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fleet::cluster::{News, SendGate, StepDown, Timing};
use fleet::store_pg_lease::{DISPATCH_LEASE, Lease};

use super::{EventLog, Leading, Prepared, ServeArgs, start_fleet, stop_signal, stopping};

/// The exit status of a server that lost the lease (EX_TEMPFAIL: run it
/// again, it comes back as a standby).
pub(crate) const STEPPED_DOWN: i32 = 75;

pub(super) async fn run(
    args: &ServeArgs,
    p: Prepared,
    node: String,
    url: String,
) -> Result<ExitCode> {
    let timing = Timing::default();
    timing.check().map_err(anyhow::Error::msg)?;
    let lease_url = url.clone();
    let lease = tokio::task::spawn_blocking(move || Lease::connect(&lease_url, DISPATCH_LEASE))
        .await
        .context("connecting for the dispatch lease failed")?
        .context("cannot keep the dispatch lease")?;
    let gate = SendGate::closed();
    // Every server hears every vehicle; only the leader's gate opens.
    let addresses = super::link_addresses(&p.scenario, &args.mavlink, false)?;
    let links = super::open_links(&p.scenario, &addresses, Some(gate.clone())).await?;
    let (cluster, mut news) = fleet::cluster::start(lease, node.clone(), timing, gate.clone());
    let bus = connect_bus(args, &p, &node).await?;
    let mut view = dispatch_server::ClusterView {
        status: cluster.status(),
        bus: bus.clone(),
        peers: Default::default(),
    };
    let mut follower = None;
    if let Some(bus) = &bus {
        view.peers = dispatch_server::bus::peers::start(bus.clone(), cluster.status()).await?;
        let hub = dispatch_server::Hub::start(
            dispatch_server::HubConfig::default(),
            dispatch_server::LinkDrones::for_links(&links, &p.scenario),
            None,
        );
        dispatch_server::bus::events::follow(bus.clone(), hub.clone()).await?;
        follower = Some(dispatch_server::follower::Follower {
            bus: bus.clone(),
            tokens: std::sync::Arc::new(p.tokens.clone()),
            hub,
            web_dir: Some(p.web_dir.clone()),
            video: dispatch_server::video::Relays::default(),
        });
    }
    let listener = super::listen(args, p.tls.as_ref()).await?;
    let api_url = listener.url()?;
    let (router, switch) = dispatch_server::standby::switching(dispatch_server::standby::Standby {
        scenario: p.scenario.name.clone(),
        started: Instant::now(),
        cluster: view.clone(),
        follower,
        servers: p.scenario.cluster.servers.clone(),
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(dispatch_server::standby::serve(
        listener,
        router,
        async move {
            let _ = stop_rx.await;
        },
    ));
    crate::emit(&format!(
        "dispatcher: node {node}: standby, waiting for the dispatch lease (ttl {:.1} s)\n",
        timing.ttl.as_secs_f64()
    ))?;
    let serving = if bus.is_some() {
        "a follower: the API goes to the leader over the bus"
    } else {
        "without --bus a standby serves /api/health only until it leads"
    };
    crate::emit(&format!(
        "dispatcher: map and API at {api_url} ({serving})\n"
    ))?;
    // A standby until the lease is ours (the keeper sends nothing else first).
    let (token, fence) = tokio::select! {
        n = news.recv() => match n {
            Some(News::Lead { token, fence }) => (token, fence),
            Some(News::SteppedDown(why)) => stepped_down(&node, &why),
            None => bail!("the lease keeper stopped"),
        },
        r = stop_signal() => {
            r?;
            crate::emit(&format!("dispatcher: node {node}: standby stopped\n"))?;
            let _ = stop_tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let took = Instant::now();
    crate::emit(&format!(
        "dispatcher: node {node} took the dispatch lease (token {token}): recovering from the shared log, opening the MAVLink links\n"
    ))?;
    let leading = Leading {
        gate,
        fence,
        cluster: cluster.clone(),
        view,
    };
    let running = tokio::select! {
        r = start_fleet(args, p, EventLog::Postgres(url), Some(leading), Some(links)) => r?,
        n = news.recv() => match n {
            Some(News::SteppedDown(why)) => stepped_down(&node, &why),
            _ => bail!("the lease keeper stopped"),
        },
    };
    if let Some(bus) = &bus {
        // The followers' requests, then the events for their clients.
        dispatch_server::bus::answer::serve(bus.clone(), running.state.clone()).await?;
        dispatch_server::bus::events::publish(bus.clone(), &running.state.hub);
        let b = bus.clone();
        tokio::spawn(async move {
            if let Err(e) = dispatch_server::bus::events::keep(&b).await {
                tracing::warn!("{e}");
            }
        });
    }
    switch.promote(dispatch_server::app(running.state.clone()));
    crate::emit(&format!(
        "dispatcher: node {node} leads: commanding on MAVLink {}, {:.1} s after taking the lease\n",
        running.mavlink,
        took.elapsed().as_secs_f64()
    ))?;
    running.print_demo_tokens()?;
    tokio::select! {
        n = news.recv() => match n {
            Some(News::SteppedDown(why)) => stepped_down(&node, &why),
            _ => bail!("the lease keeper stopped"),
        },
        r = stop_signal() => r?,
    }
    stopping()?;
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    // The fleet's last outcomes are written under the lease; then it is
    // given up, so that a standby takes over at once.
    let finished = running.finish().await;
    match cluster.release().await {
        Ok(true) => crate::emit(&format!(
            "dispatcher: node {node} released the dispatch lease\n"
        ))?,
        Ok(false) => {}
        Err(e) => eprintln!("warning: cannot release the dispatch lease: {e}"),
    }
    finished?;
    Ok(ExitCode::SUCCESS)
}

/// The cluster's bus, from `--bus` or `[cluster] bus`, if any.
async fn connect_bus(
    args: &ServeArgs,
    p: &Prepared,
    node: &str,
) -> Result<Option<dispatch_server::bus::Bus>> {
    let Some(url) = args.bus.clone().or_else(|| p.scenario.cluster.bus.clone()) else {
        return Ok(None);
    };
    if !dispatch_core::config::valid_bus_url(&url) {
        bail!("--bus {url}: expected a NATS URL, nats://HOST:PORT");
    }
    let prefix = args
        .bus_prefix
        .clone()
        .or_else(|| p.scenario.cluster.subject_prefix.clone())
        .unwrap_or_else(|| dispatch_server::bus::DEFAULT_PREFIX.to_owned());
    if !dispatch_core::config::valid_subject_prefix(&prefix) {
        bail!(
            "--bus-prefix {prefix}: dot-separated words of letters, digits, `_` or `-`, at most 64 characters"
        );
    }
    let bus = dispatch_server::bus::Bus::connect(&url, &prefix, node).await?;
    crate::emit(&format!(
        "dispatcher: node {node}: cluster bus {} (subjects {prefix}.*)\n",
        bus.health().url
    ))?;
    Ok(Some(bus))
}

/// Ends the process at once: this server no longer leads, and nothing it
/// would do now may reach a vehicle or the log (the gate is already shut).
fn stepped_down(node: &str, why: &StepDown) -> ! {
    let line = format!(
        "dispatcher: node {node} stepped down: {why}; exiting with status {STEPPED_DOWN} (a supervisor starts it again as a standby)\n"
    );
    let _ = crate::emit(&line);
    eprint!("{line}");
    std::process::exit(STEPPED_DOWN)
}
