//! The HTTP surface of a server that does not hold the dispatch lease, and
//! the switch to the whole API when it becomes the leader.
//!
//! Such a server has no fleet service (its links only listen: nothing goes
//! to any vehicle). It answers `GET /api/health` with where it stands (its
//! name, the leader's, the lease's age, its bus and peers). With the
//! cluster's bus it is a follower and serves the rest too
//! ([`crate::follower`]); without one, every other request gets `503
//! standby`, naming the leader. [`switching`] serves that until
//! [`Switch::promote`] puts the leader's router ([`crate::app`]) in its
//! place, on the same listener, for every request from then on (open
//! connections included).

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::wire::cluster::{ClusterHealth, StandbyHealth, StandbyStatus};
use crate::{ApiError, ClusterView};

/// What a standby answers from.
#[derive(Debug, Clone)]
pub struct Standby {
    pub scenario: String,
    pub started: Instant,
    pub cluster: ClusterView,
    /// With the cluster's bus: the parts it serves the rest with.
    pub follower: Option<crate::follower::Follower>,
    /// `[cluster] servers`: their maps may call this one (CORS), as they
    /// may call the leader.
    pub servers: Vec<String>,
}

/// Puts the leader's router in place of the standby's.
#[derive(Debug, Clone)]
pub struct Switch {
    full: Arc<watch::Sender<Option<Router>>>,
}

impl Switch {
    /// From now on every request goes to `full`.
    pub fn promote(&self, full: Router) {
        self.full.send_replace(Some(full));
    }
}

/// The standby's routes.
pub fn app(standby: Standby) -> Router {
    let mut router = Router::new().route("/api/health", get(health));
    router = match &standby.follower {
        Some(f) => crate::follower::routes(router, f),
        None => router.fallback(refuse),
    };
    let servers = standby.servers.clone();
    crate::cors::apply(router.with_state(standby), &servers)
}

/// The standby's routes until [`Switch::promote`], then the leader's.
pub fn switching(standby: Standby) -> (Router, Switch) {
    let (tx, rx) = watch::channel::<Option<Router>>(None);
    let standby = app(standby);
    let service = tower::service_fn(move |req: Request| {
        let router = rx.borrow().clone().unwrap_or_else(|| standby.clone());
        router.oneshot(req)
    });
    (
        Router::new().fallback_service(service),
        Switch { full: Arc::new(tx) },
    )
}

/// Serves `router` on `listener` (plain or TLS) until `shutdown` completes.
pub async fn serve(
    listener: impl Into<crate::Listener>,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::listener::serve(listener.into(), router, shutdown).await
}

async fn health(State(s): State<Standby>) -> Json<StandbyHealth> {
    let cluster = ClusterHealth::of(&s.cluster);
    let database = s
        .cluster
        .status
        .borrow()
        .database
        .as_ref()
        .map(crate::wire::service::DatabaseHealth::from);
    Json(StandbyHealth {
        status: StandbyStatus::Standby,
        scenario: s.scenario.clone(),
        uptime_s: s.started.elapsed().as_secs_f64().round(),
        database,
        cluster,
    })
}

async fn refuse(State(s): State<Standby>) -> Response {
    refuse_now(&s)
}

/// `503 standby`, naming the leader.
pub(crate) fn refuse_now(s: &Standby) -> Response {
    let c = ClusterHealth::from(&*s.cluster.status.borrow());
    let leader = match (&c.leader, c.lease_age_s) {
        (Some(l), Some(age)) => format!("the leader is {l} (lease renewed {age:.1} s ago)"),
        (Some(l), None) => format!("the leader is {l}"),
        (None, _) => "no server holds the dispatch lease just now".to_owned(),
    };
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "standby",
        format!(
            "this server ({}) is a standby without the cluster's bus and serves only /api/health; {leader}: send requests to the leader",
            c.node
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use fleet::cluster::{ClusterStatus, Role};

    use super::*;

    fn status(role: Role, leader: Option<&str>) -> ClusterStatus {
        ClusterStatus {
            node: "b".into(),
            role,
            leader: leader.map(str::to_owned),
            lease_age: Some((Duration::from_millis(400), Instant::now())),
            database: None,
        }
    }

    async fn get(router: &Router, path: &str) -> (StatusCode, serde_json::Value) {
        let r = router
            .clone()
            .oneshot(
                Request::get(path)
                    .body(Body::empty())
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .await
            .unwrap_or_else(|e| match e {});
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn a_standby_answers_health_and_refuses_the_rest_naming_the_leader_until_promoted() {
        let (tx, rx) = watch::channel(status(Role::Standby, Some("a")));
        let (router, switch) = switching(Standby {
            scenario: "demo".into(),
            started: Instant::now(),
            cluster: ClusterView {
                status: rx,
                bus: None,
                peers: Default::default(),
            },
            follower: None,
            servers: Vec::new(),
        });
        let (st, h) = get(&router, "/api/health").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            (&h["status"], &h["cluster"]["role"], &h["cluster"]["leader"]),
            (
                &serde_json::json!("standby"),
                &serde_json::json!("standby"),
                &serde_json::json!("a")
            ),
            "{h}"
        );
        let (st, e) = get(&router, "/api/incidents").await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e["error"]["code"], "standby", "{e}");
        let msg = e["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("(b) is a standby") && msg.contains("the leader is a"),
            "{msg}"
        );
        tx.send_replace(status(Role::Standby, None));
        let (_, e) = get(&router, "/ws").await;
        let msg = e["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("no server holds the dispatch lease"), "{msg}");
        // Promoted: the leader's routes answer.
        switch
            .promote(Router::new().route("/api/incidents", axum::routing::get(|| async { "[]" })));
        let r = router
            .clone()
            .oneshot(
                Request::get("/api/incidents")
                    .body(Body::empty())
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .await
            .unwrap_or_else(|e| match e {});
        assert_eq!(r.status(), StatusCode::OK);
    }
}
