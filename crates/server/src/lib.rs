//! The dispatch server: the only crate that knows HTTP and JSON.
//!
//! [`app`] builds the whole router from an [`AppState`] (so tests drive it
//! with `tower::ServiceExt::oneshot`), [`serve`] runs it on a listener until
//! a shutdown future completes. The fleet itself runs as a service
//! ([`fleet::FleetHandle`]); the server only translates.
//!
//! - `api`: JSON handlers with field-level validation.
//! - `cors`: cross-origin calls from the map of another server of the
//!   cluster (`[cluster] servers`), and from no other origin.
//! - `auth`: bearer tokens and roles (viewer < dispatcher < admin).
//! - `ws`: the websocket, live telemetry fan-out and fleet events.
//! - `video`: a drone's live camera relayed as MJPEG, one upstream
//!   connection per stream shared by its viewers.
//! - `wire`: every body the server sends, typed, converted from the core's
//!   and the fleet's types (routes and zones as GeoJSON among them).
//! - `share`: one-click share links, a read-only live view of one incident
//!   or drone with no login (the decisions sans IO in `share::book`).
//! - `openapi`: the OpenAPI document, generated from the handlers and types.
//! - `standby`: the surface of a server that does not hold the dispatch
//!   lease, and the switch to [`app`] when it becomes the leader;
//!   `follower`: what such a server serves when it has the cluster's bus.
//! - `bus`: the cluster's NATS bus (events, forwarded requests, heartbeats).
//! - `tls` and `listener`: HTTPS with rustls from PEM files, and the
//!   listener both servers serve on, plain or TLS.

pub mod api;
pub mod auth;
pub mod bus;
pub mod cors;
pub mod error;
pub mod follower;
pub mod limits;
pub mod listener;
pub mod openapi;
pub mod reports;
pub mod share;
pub mod standby;
pub mod stills;
pub mod tls;
pub mod traffic;
pub mod video;
pub mod weather;
pub mod wire;
pub mod ws;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post};
use dispatch_core::Scenario;
use dispatch_core::model::IncidentKind;
use fleet::FleetHandle;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

pub use auth::{Role, Tokens};
pub use error::ApiError;
pub use listener::Listener;
pub use tls::{TlsConfig, TlsError};
pub use ws::{Hub, HubConfig, LinkDrones};

/// What every handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub fleet: FleetHandle,
    pub tokens: Arc<Tokens>,
    pub scenario: Arc<Scenario>,
    /// Incident kinds configured in the scenario.
    pub kinds: Arc<Vec<IncidentKind>>,
    /// Zones from the scenario's file (not removable at run time).
    pub config_zone_ids: Arc<HashSet<String>>,
    pub hub: Hub,
    /// Where the web map's files are (`web/` of the repository by default).
    pub web_dir: Option<PathBuf>,
    pub started: Instant,
    /// Rate limit of the write endpoints, per caller.
    pub limiter: limits::Limiter,
    /// Requests refused by it.
    pub rate_limited: Arc<std::sync::atomic::AtomicU64>,
    /// With `--node`: where this server stands in the dispatch lease.
    pub cluster: Option<ClusterView>,
    /// The cluster's servers as the map reaches them (`[cluster] servers`,
    /// empty for a single server): the map moves to another when this one
    /// dies, and their origins may call this server's API (CORS).
    pub servers: Arc<Vec<String>>,
    /// Share links (kept in the fleet's event log; [`share::Shares::recover`]
    /// at start).
    pub shares: share::Shares,
    /// The camera streams being relayed (`video`).
    pub video: video::Relays,
}

/// Where a server of several stands: the lease as it last read it, and
/// its bus with the peers heard on it.
#[derive(Debug, Clone)]
pub struct ClusterView {
    pub status: tokio::sync::watch::Receiver<fleet::cluster::ClusterStatus>,
    pub bus: Option<bus::Bus>,
    pub peers: bus::peers::Peers,
}

impl AppState {
    /// State for a running fleet service: starts the telemetry hub on its link.
    pub fn new(
        fleet: FleetHandle,
        scenario: Scenario,
        tokens: Tokens,
        hub_config: HubConfig,
        web_dir: Option<PathBuf>,
    ) -> AppState {
        let hub = Hub::start(
            hub_config,
            LinkDrones::for_fleet(fleet.links(), &scenario),
            Some(fleet.clone()),
        );
        let mut kinds: Vec<IncidentKind> = scenario.policies.keys().copied().collect();
        kinds.sort_by_key(|k| IncidentKind::ALL.iter().position(|x| x == k));
        let state = AppState {
            servers: Arc::new(scenario.cluster.servers.clone()),
            config_zone_ids: Arc::new(scenario.zones.iter().map(|z| z.id.0.clone()).collect()),
            fleet,
            tokens: Arc::new(tokens),
            kinds: Arc::new(kinds),
            scenario: Arc::new(scenario),
            hub,
            web_dir,
            started: Instant::now(),
            limiter: limits::Limiter::new(limits::WriteLimit::default()),
            rate_limited: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            cluster: None,
            shares: share::Shares::default(),
            video: video::Relays::default(),
        };
        tokio::spawn(stills::arrival::watch(state.clone()));
        state
    }

    /// With another share book (tests: one on a clock of their own).
    pub fn with_shares(mut self, shares: share::Shares) -> AppState {
        self.shares = shares;
        self
    }

    /// A server of several on one database: its health says where it stands.
    pub fn with_cluster(mut self, view: ClusterView) -> AppState {
        self.cluster = Some(view);
        self
    }

    /// With another list of the cluster's servers than the scenario's
    /// `[cluster] servers`.
    pub fn with_servers(mut self, servers: Vec<String>) -> AppState {
        self.servers = Arc::new(servers);
        self
    }

    /// With another write limit (from the configuration).
    pub fn with_write_limit(mut self, limit: limits::WriteLimit) -> AppState {
        self.limiter = limits::Limiter::new(limit);
        self
    }
}

/// The default location of the web map: `web/` in the source tree.
pub fn default_web_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web"))
}

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    let viewer = Router::new()
        .route("/api/config", get(api::config))
        .route("/api/hangars", get(api::hangars))
        .route("/api/drones", get(api::drones))
        .route("/api/drones/{id}", get(api::drone))
        .route("/api/zones", get(api::zones))
        .route("/api/incidents", get(api::incidents))
        .route("/api/incidents/{id}", get(api::incident))
        .route("/api/metrics", get(api::metrics))
        .route("/api/wind", get(weather::get_wind))
        .route("/api/incidents/{id}/timeline", get(reports::timeline))
        .route("/api/incidents/{id}/stills", get(stills::list))
        .route("/api/reports/response-times", get(reports::response_times))
        .route("/api/reports/daily", get(reports::daily))
        .route("/api/traffic", get(traffic::traffic))
        .route_layer(from_fn_with_state(state.clone(), auth::viewer));
    let dispatcher = Router::new()
        .route("/api/incidents", post(api::report))
        .route("/api/incidents/{id}/dispatch", post(api::dispatch))
        .route("/api/incidents/{id}/cancel", post(api::cancel))
        .route("/api/incidents/{id}/resolve", post(api::resolve))
        .route("/api/incidents/{id}/reassign", post(api::reassign))
        .route("/api/incidents/{id}/stills", post(stills::take))
        .route("/api/drones/{id}/command", post(api::command))
        .route(
            "/api/incidents/{id}/launch-anyway",
            post(traffic::launch_anyway),
        )
        .route("/api/shares", post(share::http::create))
        .route("/api/shares/{id}", delete(share::http::revoke))
        .route_layer(from_fn_with_state(state.clone(), limits::writes))
        .route_layer(from_fn_with_state(state.clone(), auth::dispatcher));
    // What a dispatcher reads: who opened which link, from where.
    let dispatcher_reads = Router::new()
        .route("/api/shares", get(share::http::list))
        .route_layer(from_fn_with_state(state.clone(), auth::dispatcher));
    let admin = Router::new()
        .route("/api/zones", post(api::add_zone))
        .route("/api/zones/{id}", delete(api::delete_zone))
        .route("/api/drones/{id}/bind", post(api::bind))
        .route("/api/weather", post(weather::post_weather))
        .route_layer(from_fn_with_state(state.clone(), limits::writes))
        .route_layer(from_fn_with_state(state.clone(), auth::admin));
    let open = Router::new()
        .route("/api/health", get(api::health))
        .route("/api/openapi.json", get(openapi::document))
        .route("/ws", get(ws::handler))
        // A share's token is its key: no bearer token (and none taken).
        .route("/api/share/{token}", get(share::http::view))
        .route("/share/{token}", get(share::http::page))
        .route("/ws/share/{token}", get(share::socket::handler))
        // Authorised inside: the token may be in the query, for <img>.
        .route("/api/drones/{id}/video", get(video::video))
        .route("/api/stills/{id}", get(stills::image))
        // The share's token is the key: only a drone the share shows.
        .route(
            "/api/share/{token}/drones/{id}/video",
            get(share::http::video),
        );
    let mut router = Router::new()
        .merge(viewer)
        .merge(dispatcher)
        .merge(dispatcher_reads)
        .merge(admin)
        .merge(open)
        .fallback(api_not_found);
    if let Some(dir) = &state.web_dir {
        router = web_files(router, dir);
    }
    let servers = Arc::clone(&state.servers);
    let router = router
        .layer(DefaultBodyLimit::max(api::BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state);
    // Outermost, so that preflights and refusals (401, 404) carry it too.
    cors::apply(router, &servers)
}

/// The web map's files under `dir` (`web/`), and a JSON 404 for the rest.
pub fn web_files<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    dir: &std::path::Path,
) -> Router<S> {
    router
        .nest_service(
            "/vendor/leaflet",
            ServeDir::new(dir.join("node_modules/leaflet/dist")),
        )
        .route_service(
            "/basemap.geojson",
            ServeFile::new(dir.join("build/basemap.geojson")),
        )
        .fallback_service(
            ServeDir::new(dir.join("public")).fallback(tower::service_fn(|_| async {
                Ok::<_, std::convert::Infallible>(axum::response::IntoResponse::into_response(
                    ApiError::not_found("no such page or API route"),
                ))
            })),
        )
}

async fn api_not_found() -> ApiError {
    ApiError::not_found("no such API route; see /api/openapi.json")
}

/// Serves `app` on `listener` (a `TcpListener`, or a [`Listener`] over
/// TLS) until `shutdown` completes, then lets open requests finish.
pub async fn serve(
    listener: impl Into<Listener>,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener::serve(listener.into(), app(state), shutdown).await
}
