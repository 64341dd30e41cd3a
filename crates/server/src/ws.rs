//! Live fan-out over the websocket `/ws`.
//!
//! On connect a client gets a `snapshot` (hangars, drones, zones, incidents),
//! then typed JSON messages: `telemetry` (coalesced positions), `drone`,
//! `incident`, `zone`, `alert`, `vehicle`, `dispatch`, `airspace` and
//! `traffic` (the manned traffic picture, once a second while there is any).
//!
//! Telemetry is built once for everybody: per link, a builder task wakes when
//! the link's vehicle table changes, waits one batch window (coalescing every
//! frame that arrives meanwhile), serializes the changed vehicles once and
//! broadcasts the batch. A client at full rate forwards each batch as it is
//! (shared bytes, no per-client serialization); a client that asks for a
//! lower rate keeps only the newest entry per drone and sends them at its
//! pace. A client that falls behind the broadcast is resynchronised from the
//! latest entries (fresh positions, never a backlog); one whose socket takes
//! longer than the send timeout is closed with a reason. Neither slows the
//! fleet or other clients: the builders never wait for a client.
//!
//! Fleet events are enriched (an incident event carries the whole incident)
//! and serialized once by one task, then broadcast the same way.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use dispatch_core::DroneId;
use fleet::{FleetEvent, FleetHandle, What};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use mavlink_link::link::LinkHandle;
use mavlink_link::state::VehicleState;
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::auth::{Role, query_or_bearer};
use crate::wire::{self, WsMessage};

/// Hub settings.
#[derive(Debug, Clone, Copy)]
pub struct HubConfig {
    /// How long a builder gathers changes before sending a batch.
    pub batch_window: Duration,
    /// A client socket that does not take a message within this is closed.
    pub send_timeout: Duration,
    /// Batches kept for clients that read slowly, before they are resynchronised.
    pub batch_backlog: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            batch_window: Duration::from_millis(20),
            send_timeout: Duration::from_secs(5),
            batch_backlog: 64,
        }
    }
}

/// The telemetry and event fan-out, shared by every websocket client.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

#[derive(Debug)]
struct HubInner {
    cfg: HubConfig,
    batches: broadcast::Sender<Arc<Batch>>,
    events: broadcast::Sender<Utf8Bytes>,
    /// Newest serialized entry per drone (by index), for resynchronisation.
    latest: Mutex<Vec<Option<(Bytes, Instant)>>>,
    /// Microseconds from a telemetry frame's arrival to its websocket frame leaving.
    latency_us: Mutex<Histogram<u64>>,
    clients: AtomicUsize,
    clients_total: AtomicU64,
    closed_slow: AtomicU64,
    resyncs: AtomicU64,
    batches_built: AtomicU64,
    messages_sent: AtomicU64,
}

impl Batch {
    /// Each entry: the drone's index in the scenario and its JSON.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (usize, &Bytes)> {
        self.entries.iter().map(|(i, e, _)| (*i, e))
    }
}

/// One coalesced telemetry message.
#[derive(Debug)]
pub struct Batch {
    /// The whole message, `{"type":"telemetry","drones":[...]}`.
    text: Utf8Bytes,
    /// Drone index, its entry, and when the newest frame behind it arrived.
    entries: Vec<(usize, Bytes, Instant)>,
}

/// A link and which drone each of its system ids is.
#[derive(Debug, Clone)]
pub struct LinkDrones {
    pub link: LinkHandle,
    /// System id -> (drone index, drone id).
    pub drones: HashMap<u8, (usize, DroneId)>,
}

impl LinkDrones {
    /// Each of the fleet's links with its drones (drone index = position in the scenario).
    pub fn for_fleet(
        links: &[fleet::runtime::FleetLink],
        scenario: &dispatch_core::Scenario,
    ) -> Vec<LinkDrones> {
        let index: HashMap<&DroneId, usize> = scenario
            .drones
            .iter()
            .enumerate()
            .map(|(i, d)| (&d.id, i))
            .collect();
        links
            .iter()
            .map(|l| LinkDrones {
                link: l.handle.clone(),
                drones: l
                    .drones
                    .iter()
                    .filter_map(|(s, d)| index.get(d).map(|i| (*s, (*i, d.clone()))))
                    .collect(),
            })
            .collect()
    }

    /// Each named link with the scenario's drones on it, before any fleet
    /// runs on them (a follower's links).
    pub fn for_links(
        links: &[(String, LinkHandle)],
        scenario: &dispatch_core::Scenario,
    ) -> Vec<LinkDrones> {
        links
            .iter()
            .map(|(name, link)| LinkDrones {
                link: link.clone(),
                drones: scenario
                    .drones
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| &d.link == name)
                    .map(|(i, d)| (d.system_id, (i, d.id.clone())))
                    .collect(),
            })
            .collect()
    }

    /// The scenario's drones on one link (drone index = position in the scenario).
    pub fn for_scenario(link: LinkHandle, scenario: &dispatch_core::Scenario) -> LinkDrones {
        let drones = scenario
            .drones
            .iter()
            .enumerate()
            .map(|(i, d)| (d.system_id, (i, d.id.clone())))
            .collect();
        LinkDrones { link, drones }
    }
}

impl Hub {
    /// Starts the builders (one per link) and the event task.
    pub fn start(cfg: HubConfig, links: Vec<LinkDrones>, fleet: Option<FleetHandle>) -> Hub {
        let n = links
            .iter()
            .flat_map(|l| l.drones.values().map(|(i, _)| i + 1))
            .max()
            .unwrap_or(0);
        let (batches, _) = broadcast::channel(cfg.batch_backlog.max(1));
        let (events, _) = broadcast::channel(1024);
        let inner = Arc::new(HubInner {
            cfg,
            batches,
            events,
            latest: Mutex::new(vec![None; n]),
            latency_us: Mutex::new(new_histogram()),
            clients: AtomicUsize::new(0),
            clients_total: AtomicU64::new(0),
            closed_slow: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            batches_built: AtomicU64::new(0),
            messages_sent: AtomicU64::new(0),
        });
        for l in links {
            tokio::spawn(build_batches(Arc::clone(&inner), l));
        }
        if let Some(f) = fleet {
            tokio::spawn(crate::traffic::publish(f.clone(), inner.events.clone()));
            tokio::spawn(enrich_events(Arc::clone(&inner), f));
        }
        Hub { inner }
    }

    /// Latency percentiles and counters.
    pub fn metrics(&self) -> wire::Metrics {
        let h = self
            .inner
            .latency_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let ms = |q: f64| (h.value_at_quantile(q) as f64 / 1000.0 * 100.0).round() / 100.0;
        let i = &self.inner;
        wire::Metrics {
            telemetry_latency_ms: wire::service::Latency {
                what: "from a telemetry frame's arrival on the link to the websocket frame carrying it leaving the server".to_owned(),
                samples: h.len(),
                p50: ms(0.5),
                p90: ms(0.9),
                p99: ms(0.99),
                max: ms(1.0),
            },
            websocket: wire::service::WebsocketCounters {
                clients: i.clients.load(Ordering::Relaxed),
                clients_total: i.clients_total.load(Ordering::Relaxed),
                closed_slow: i.closed_slow.load(Ordering::Relaxed),
                resyncs: i.resyncs.load(Ordering::Relaxed),
                messages_sent: i.messages_sent.load(Ordering::Relaxed),
            },
            telemetry_batches: i.batches_built.load(Ordering::Relaxed),
            batch_window_ms: i.cfg.batch_window.as_secs_f64() * 1000.0,
        }
    }

    /// Every event message from now on, as clients get it (the leader
    /// publishes them on the cluster's bus).
    pub fn event_feed(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.inner.events.subscribe()
    }

    /// Sends an event message (one the leader published on the bus) to
    /// this hub's clients.
    pub fn inject(&self, text: Utf8Bytes) {
        let _ = self.inner.events.send(text);
    }

    /// Every telemetry batch from now on (a shared view filters them).
    pub(crate) fn batches(&self) -> broadcast::Receiver<Arc<Batch>> {
        self.inner.batches.subscribe()
    }

    /// How long a client's socket may take a message before it is closed.
    pub(crate) fn send_timeout(&self) -> Duration {
        self.inner.cfg.send_timeout
    }

    /// Counts a client in and out of `/api/metrics`' websocket clients.
    pub(crate) fn client_started(&self) {
        self.inner.clients.fetch_add(1, Ordering::Relaxed);
        self.inner.clients_total.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn client_ended(&self) {
        self.inner.clients.fetch_sub(1, Ordering::Relaxed);
    }

    /// Forgets the latency samples so far (the load harness measures after warm-up).
    pub fn reset_metrics(&self) {
        self.inner
            .latency_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reset();
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 1 h, 3 significant digits; these bounds are valid constants.
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

/// One drone's telemetry entry.
pub fn entry(
    id: &DroneId,
    v: &VehicleState,
    link: &LinkHandle,
    wall_ms: i64,
) -> wire::TelemetryEntry {
    let now = link.link_time();
    let status = v.link_at(now, &link.timeouts()).as_str();
    wire::TelemetryEntry {
        drone: id.0.clone(),
        lat: v.lat,
        lon: v.lon,
        alt_m: (v.rel_alt_m * 10.0).round() / 10.0,
        heading_deg: v.heading_deg.round(),
        ground_speed_mps: (v.ground_speed_mps * 10.0).round() / 10.0,
        battery_pct: v.battery_pct,
        mode: v.mode.to_string(),
        armed: v.armed,
        link: wire::LinkStatus::parse(status),
        wind: v.wind.map(|w| wire::fleet::VehicleWind {
            speed_mps: (w.speed_mps * 10.0).round() / 10.0,
            from_deg: w.from_deg.round().rem_euclid(360.0),
            age_s: (((now - w.at).max(0.0)) * 10.0).round() / 10.0,
        }),
        time: wall_ms,
    }
}

/// One drone's telemetry entry as JSON.
pub fn entry_json(id: &DroneId, v: &VehicleState, link: &LinkHandle, wall_ms: i64) -> String {
    to_json(&entry(id, v, link, wall_ms))
}

/// A wire value as JSON text (it cannot fail: no wire type has a map with
/// non-string keys or a failing `Serialize`).
fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| {
        tracing::error!("cannot serialize a websocket message: {e}");
        String::from("null")
    })
}

async fn build_batches(hub: Arc<HubInner>, l: LinkDrones) {
    let mut changes = l.link.telemetry_changes();
    let mut last = 0u64;
    loop {
        if changes.changed().await.is_err() {
            return; // the link is gone
        }
        tokio::time::sleep(hub.cfg.batch_window).await;
        let (seq, changed) = l.link.changed_since(last);
        last = seq;
        let wall_ms = chrono::Utc::now().timestamp_millis();
        let mut entries = Vec::with_capacity(changed.len());
        for v in &changed {
            if let Some((idx, id)) = l.drones.get(&v.system_id) {
                let e = Bytes::from(entry_json(id, v, &l.link, wall_ms));
                entries.push((*idx, e, l.link.instant_of(v.changed_at)));
            }
        }
        if entries.is_empty() {
            continue;
        }
        {
            let mut latest = hub.latest.lock().unwrap_or_else(PoisonError::into_inner);
            for (i, e, at) in &entries {
                if let Some(slot) = latest.get_mut(*i) {
                    *slot = Some((e.clone(), *at));
                }
            }
        }
        let text = telemetry_message(entries.iter().map(|(_, e, _)| e));
        hub.batches_built.fetch_add(1, Ordering::Relaxed);
        let _ = hub.batches.send(Arc::new(Batch { text, entries }));
    }
}

pub(crate) fn telemetry_message<'a>(entries: impl Iterator<Item = &'a Bytes>) -> Utf8Bytes {
    let mut s = String::from(r#"{"type":"telemetry","drones":["#);
    for (i, e) in entries.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(std::str::from_utf8(e).unwrap_or("null"));
    }
    s.push_str("]}");
    Utf8Bytes::from(s)
}

async fn enrich_events(hub: Arc<HubInner>, fleet: FleetHandle) {
    let mut rx = fleet.subscribe();
    loop {
        let e = match rx.recv().await {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("websocket event fan-out missed {n} fleet events");
                let _ = hub.events.send(Utf8Bytes::from(to_json(&WsMessage::Resync {
                    reason: format!("{n} events were missed; reload the snapshot"),
                })));
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let Some(msg) = event_message(&e, &fleet).await else {
            continue;
        };
        let _ = hub.events.send(Utf8Bytes::from(to_json(&msg)));
    }
}

/// A fleet event as the message clients get: an incident event carries
/// the whole incident, a zone event the zone, a link change is an alert.
/// A share's story (who opened a link, from where) is for dispatchers
/// (`GET /api/shares`), not for every viewer: None.
async fn event_message(e: &FleetEvent, fleet: &FleetHandle) -> Option<WsMessage> {
    let t = e.t;
    Some(match &e.what {
        What::Share(_) => return None,
        What::Still(entry) => WsMessage::Still {
            still: wire::still::Still::new(entry),
        },
        What::Incident {
            incident,
            status,
            note,
            drone,
            eta,
        } => {
            let full = match fleet.incident(*incident).await {
                Ok(view) => wire::IncidentRef::Full(Box::new((&view).into())),
                Err(_) => wire::IncidentRef::Id(incident.0),
            };
            WsMessage::Incident {
                t,
                incident: full,
                status: (*status).into(),
                note: note.clone(),
                drone: drone.as_ref().map(|d| d.0.clone()),
                eta: *eta,
            }
        }
        // A new ETA: the incident as it is now, so that clients show it.
        What::Eta {
            incident,
            eta,
            note,
            ..
        } => match fleet.incident(*incident).await {
            Ok(view) => {
                let status = view.incident.status.into();
                let drone = view.incident.drone.as_ref().map(|d| d.0.clone());
                WsMessage::Incident {
                    t,
                    incident: wire::IncidentRef::Full(Box::new((&view).into())),
                    status,
                    note: format!("ETA {note}"),
                    drone,
                    eta: Some(*eta),
                }
            }
            Err(_) => WsMessage::Notice {
                t,
                message: format!("incident {incident}: ETA {eta} ({note})"),
            },
        },
        What::Drone { drone, state, note } => WsMessage::Drone {
            t,
            drone: drone.0.clone(),
            state: (*state).into(),
            note: note.clone(),
        },
        What::Dispatch { output } => WsMessage::Dispatch {
            t,
            output: output.into(),
        },
        // Lost and degraded links are alerts; a link back up is the drone's story.
        What::Link { drone, status } if status == "up" => WsMessage::Link {
            t,
            drone: drone.0.clone(),
            status: status.clone(),
        },
        What::Link { drone, status } => WsMessage::Alert {
            t,
            drone: Some(drone.0.clone()),
            severity: match status.as_str() {
                "lost" => wire::Severity::Critical,
                _ => wire::Severity::Warning,
            },
            message: format!("link {status}"),
        },
        What::Vehicle { drone, text } => WsMessage::Vehicle {
            t,
            drone: drone.0.clone(),
            text: text.clone(),
        },
        What::Command {
            drone,
            command,
            ok,
            detail,
        } => WsMessage::Command {
            t,
            drone: drone.0.clone(),
            command: command.clone(),
            ok: *ok,
            detail: detail.clone(),
        },
        What::Notice { message } => WsMessage::Notice {
            t,
            message: message.clone(),
        },
        What::Alert {
            drone,
            severity,
            message,
        } => WsMessage::Alert {
            t,
            drone: drone.as_ref().map(|d| d.0.clone()),
            severity: (*severity).into(),
            message: message.clone(),
        },
        What::Zone { zone, change } => {
            let feature = match fleet.snapshot().await {
                Ok(snap) => snap
                    .zones
                    .iter()
                    .find(|z| &z.id == zone)
                    .map(|z| wire::ZoneFeature::new(z, snap.time, false)),
                Err(_) => None,
            };
            WsMessage::Zone {
                t,
                zone: zone.0.clone(),
                change: change.clone(),
                feature,
            }
        }
        What::Airspace {
            drone,
            incident,
            step,
            aircraft,
            note,
        } => WsMessage::Airspace {
            t,
            drone: drone.as_ref().map(|d| d.0.clone()),
            incident: incident.map(|i| i.0),
            step: (*step).into(),
            aircraft: aircraft.clone(),
            note: note.clone(),
        },
    })
}

#[derive(Debug, Deserialize, Default)]
pub struct WsQuery {
    /// The access token (browsers cannot set headers on a websocket).
    pub token: Option<String>,
    /// Telemetry messages per second at most (default: every batch).
    pub rate: Option<f64>,
}

pub async fn handler(
    State(s): State<AppState>,
    Query(q): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let hub = s.hub.clone();
    let tokens = Arc::clone(&s.tokens);
    upgrade(&tokens, hub, Snapshots::Fleet(s), q, &headers, ws)
}

/// Where a client's snapshot comes from: this server's fleet, or (on a
/// follower) the leader's over the bus.
// One per websocket client, moved once: the size of either is no cost.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Snapshots {
    Fleet(AppState),
    Leader {
        bus: crate::bus::Bus,
        status: tokio::sync::watch::Receiver<fleet::cluster::ClusterStatus>,
    },
}

impl Snapshots {
    async fn message(&self) -> Result<Utf8Bytes, String> {
        match self {
            Snapshots::Fleet(s) => snapshot_message(s).await.map_err(|e| e.to_string()),
            Snapshots::Leader { bus, status } => {
                let leader = status.borrow().leader.clone();
                let Some(leader) = leader else {
                    return Err("no server holds the dispatch lease just now".to_owned());
                };
                let bytes = bus.snapshot(&leader).await.map_err(|e| e.to_string())?;
                String::from_utf8(bytes.to_vec())
                    .map(Utf8Bytes::from)
                    .map_err(|_| format!("the snapshot from {leader} is not UTF-8"))
            }
        }
    }
}

/// Checks the token and the rate, then serves the client.
pub(crate) fn upgrade(
    tokens: &crate::Tokens,
    hub: Hub,
    snapshots: Snapshots,
    q: WsQuery,
    headers: &HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let token = query_or_bearer(q.token.as_deref(), headers);
    if let Err(e) = tokens.authorize(token, Role::Viewer) {
        return e.into_response();
    }
    if let Some(r) = q.rate
        && !(r.is_finite() && r > 0.0 && r <= 100.0)
    {
        return crate::error::ApiError::invalid(format!(
            "query `rate`: {r} is not a number of messages per second in (0, 100]"
        ))
        .into_response();
    }
    ws.on_upgrade(move |socket| client(socket, hub, snapshots, q.rate))
}

/// Why a client was closed.
const SLOW: &str = "client too slow: the server cannot deliver fresh telemetry to it";

async fn client(socket: WebSocket, hub: Hub, s: Snapshots, rate: Option<f64>) {
    let hub = Arc::clone(&hub.inner);
    hub.clients.fetch_add(1, Ordering::Relaxed);
    hub.clients_total.fetch_add(1, Ordering::Relaxed);
    let mut batches = hub.batches.subscribe();
    let mut events = hub.events.subscribe();
    let (mut sink, mut stream) = socket.split();
    let timeout = hub.cfg.send_timeout;
    let mut hist = new_histogram();
    let mut last_merge = Instant::now();
    // Rate-limited clients keep the newest entry per drone until their turn.
    let period = rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let mut pending: BTreeMap<usize, (Bytes, Instant)> = BTreeMap::new();
    let mut next_send = tokio::time::Instant::now();

    let end = 'run: {
        let snap = match s.message().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("websocket snapshot failed: {e}");
                // 1013: try again later (the map reconnects, here or elsewhere).
                let mut reason = format!("no snapshot: {e}");
                while reason.len() > 120 {
                    reason.pop();
                }
                let _ = tokio::time::timeout(
                    Duration::from_millis(200),
                    sink.send(Message::Close(Some(CloseFrame {
                        code: 1013,
                        reason: Utf8Bytes::from(reason),
                    }))),
                )
                .await;
                break 'run End::Gone;
            }
        };
        if let Err(end) = send_within(&mut sink, snap, timeout).await {
            break 'run end;
        }
        loop {
            let wait_pending = !pending.is_empty();
            tokio::select! {
                b = batches.recv() => match b {
                    Ok(b) => {
                        if period.is_none() {
                            if let Err(end) = send_within(&mut sink, b.text.clone(), timeout).await {
                                break 'run end;
                            }
                            record_sent(&hub, &mut hist, b.entries.iter().map(|(_, _, at)| at));
                        } else {
                            for (i, e, at) in &b.entries {
                                pending.insert(*i, (e.clone(), *at));
                            }
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        // Behind: skip the backlog, send the newest of every drone.
                        hub.resyncs.fetch_add(1, Ordering::Relaxed);
                        let latest = hub.latest.lock().unwrap_or_else(PoisonError::into_inner).clone();
                        for (i, slot) in latest.into_iter().enumerate() {
                            if let Some(x) = slot {
                                pending.insert(i, x);
                            }
                        }
                    }
                    Err(RecvError::Closed) => break 'run End::Gone,
                },
                _ = tokio::time::sleep_until(next_send), if wait_pending => {
                    let text = telemetry_message(pending.values().map(|(e, _)| e));
                    if let Err(end) = send_within(&mut sink, text, timeout).await {
                        break 'run end;
                    }
                    record_sent(&hub, &mut hist, pending.values().map(|(_, at)| at));
                    pending.clear();
                    next_send = tokio::time::Instant::now() + period.unwrap_or_default();
                }
                ev = events.recv() => match ev {
                    Ok(text) => {
                        if let Err(end) = send_within(&mut sink, text, timeout).await {
                            break 'run end;
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        // Missed state changes: start over from a fresh snapshot.
                        hub.resyncs.fetch_add(1, Ordering::Relaxed);
                        tracing::info!("websocket client missed {n} events: new snapshot");
                        if let Ok(m) = s.message().await
                            && let Err(end) = send_within(&mut sink, m, timeout).await
                        {
                            break 'run end;
                        }
                    }
                    Err(RecvError::Closed) => break 'run End::Gone,
                },
                msg = stream.next() => match msg {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break 'run End::Gone,
                    Some(Ok(Message::Text(t))) => {
                        // The only client message: {"type":"ping"}; answer so clients can measure.
                        if t.as_str().contains("\"ping\"") {
                            let pong = Utf8Bytes::from(to_json(&WsMessage::Pong { time: chrono::Utc::now().timestamp_millis() }));
                            if let Err(end) = send_within(&mut sink, pong, timeout).await {
                                break 'run end;
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                },
            }
            if last_merge.elapsed() > Duration::from_secs(1) {
                merge(&hub, &mut hist);
                last_merge = Instant::now();
            }
        }
    };
    merge(&hub, &mut hist);
    if end == End::Slow {
        hub.closed_slow.fetch_add(1, Ordering::Relaxed);
        tracing::info!("closing a websocket client: too slow");
        // Best effort: the socket is congested, so do not wait long.
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            sink.send(Message::Close(Some(CloseFrame {
                code: 1008,
                reason: Utf8Bytes::from_static(SLOW),
            }))),
        )
        .await;
    }
    hub.clients.fetch_sub(1, Ordering::Relaxed);
}

/// Why a client's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client went away (closed, reset, or the server is stopping).
    Gone,
    /// Its socket did not take a message within the send timeout.
    Slow,
}

/// Sends one text message, giving up after `timeout`.
async fn send_within(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    text: Utf8Bytes,
    timeout: Duration,
) -> Result<(), End> {
    match tokio::time::timeout(timeout, sink.send(Message::Text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Gone),
        Err(_) => Err(End::Slow),
    }
}

/// Records a telemetry message sent: one latency sample per entry, from the
/// arrival of its newest frame to now.
fn record_sent<'a>(
    hub: &HubInner,
    hist: &mut Histogram<u64>,
    arrivals: impl Iterator<Item = &'a Instant>,
) {
    let now = Instant::now();
    for at in arrivals {
        let _ = hist.record(now.saturating_duration_since(*at).as_micros().max(1) as u64);
    }
    hub.messages_sent.fetch_add(1, Ordering::Relaxed);
}

fn merge(hub: &HubInner, hist: &mut Histogram<u64>) {
    if hist.is_empty() {
        return;
    }
    let _ = hub
        .latency_us
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .add(&*hist);
    hist.reset();
}

/// The opening `snapshot` message, as this server's fleet has it now.
pub(crate) async fn snapshot_message(s: &AppState) -> Result<Utf8Bytes, fleet::ServiceError> {
    let snap = s.fleet.snapshot().await?;
    let msg = WsMessage::Snapshot {
        time: snap.time,
        scenario: snap.scenario.clone(),
        region: snap.region.into(),
        hangars: snap.hangars.iter().map(wire::Hangar::from).collect(),
        drones: snap.drones.iter().map(wire::Drone::from).collect(),
        zones: wire::ZoneCollection::new(&snap.zones, snap.time, &s.config_zone_ids),
        incidents: snap.incidents.iter().map(wire::Incident::from).collect(),
        queue: snap.queue.iter().map(|i| i.0).collect(),
    };
    Ok(Utf8Bytes::from(to_json(&msg)))
}
