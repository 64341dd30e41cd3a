//! Cross-origin requests between the servers of one cluster.
//!
//! The map is loaded from one server of `[cluster] servers` and, when that
//! server dies, carries on with another: its API calls then go to an origin
//! that is not the page's. [`layer`] allows exactly the listed servers'
//! origins (`scheme://host[:port]`, as a browser writes them), the
//! `Authorization` and `Content-Type` headers and the API's methods;
//! requests from any other origin get no `Access-Control-Allow-Origin`, so
//! the browser keeps their answers from the page. No credentials: the map
//! sends its token in the `Authorization` header, never in a cookie.
//!
//! The websocket needs no CORS (browsers do not apply it to websockets);
//! `/ws` takes its token in the query as before.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Method, Uri, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The CORS layer for a cluster's `servers` (`https://HOST:PORT`, as the
/// configuration lists them); `None` for a single server (an empty list):
/// it then answers as a server without CORS does.
pub fn layer(servers: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = servers.iter().filter_map(|s| origin(s)).collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

/// `router` with [`layer`] around it, when `servers` lists any.
pub fn apply<S>(router: Router<S>, servers: &[String]) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    match layer(servers) {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// A server address's origin as a browser sends it in `Origin`: the
/// scheme and host in lower case, the port only when it is not the
/// scheme's default, no path. `None` when `server` is no http(s) URL with
/// a host (the configuration refuses those; such an entry allows nothing).
pub fn origin(server: &str) -> Option<HeaderValue> {
    let uri: Uri = server.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = uri.authority()?;
    // The host of `http://[::1]:8080` is `[::1]`, brackets kept.
    let host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    let origin = match authority.port_u16() {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    };
    HeaderValue::from_str(&origin).ok()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    fn servers() -> Vec<String> {
        vec![
            "http://127.0.0.1:8081".to_owned(),
            "https://B.Example:443/dispatch".to_owned(),
        ]
    }

    fn router(servers: &[String]) -> Router {
        apply(
            Router::new().route("/api/zones", get(|| async { "[]" }).post(|| async { "{}" })),
            servers,
        )
    }

    async fn send(router: &Router, req: Request<Body>) -> axum::response::Response {
        router
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {})
    }

    fn header<'a>(r: &'a axum::response::Response, name: &str) -> Option<&'a str> {
        r.headers().get(name).and_then(|v| v.to_str().ok())
    }

    fn request(method: &str, origin: &str) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri("/api/zones")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn preflight(origin: &str) -> Request<Body> {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/zones")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        let check = |server: &str, expected: Option<&str>| {
            assert_eq!(
                origin(server).as_ref().and_then(|v| v.to_str().ok()),
                expected,
                "{server}"
            );
        };
        check("http://127.0.0.1:8081", Some("http://127.0.0.1:8081"));
        check("HTTPS://B.Example:443/dispatch", Some("https://b.example"));
        check("http://a.example:80", Some("http://a.example"));
        check("https://a.example:80", Some("https://a.example:80"));
        check("http://[::1]:8080", Some("http://[::1]:8080"));
        check("ftp://a.example", None);
        check("https://", None);
        check("a.example:8080", None);
    }

    #[tokio::test]
    async fn a_listed_origin_may_call_the_api_and_another_gets_no_allow_origin() {
        let r = router(&servers());
        let ok = send(&r, request("GET", "http://127.0.0.1:8081")).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            header(&ok, "access-control-allow-origin"),
            Some("http://127.0.0.1:8081")
        );
        let ok = send(&r, request("POST", "https://b.example")).await;
        assert_eq!(
            header(&ok, "access-control-allow-origin"),
            Some("https://b.example")
        );
        for other in [
            "http://127.0.0.1:8082",
            "https://evil.example",
            "null",
            "http://b.example",
        ] {
            let r2 = send(&r, request("GET", other)).await;
            assert_eq!(header(&r2, "access-control-allow-origin"), None, "{other}");
            let p = send(&r, preflight(other)).await;
            assert_eq!(header(&p, "access-control-allow-origin"), None, "{other}");
        }
    }

    #[tokio::test]
    async fn a_listed_origins_preflight_allows_the_token_json_and_the_apis_methods() {
        let r = router(&servers());
        let p = send(&r, preflight("http://127.0.0.1:8081")).await;
        assert_eq!(p.status(), StatusCode::OK);
        assert_eq!(
            header(&p, "access-control-allow-origin"),
            Some("http://127.0.0.1:8081")
        );
        let methods = header(&p, "access-control-allow-methods").unwrap_or_default();
        for m in ["GET", "POST", "DELETE"] {
            assert!(methods.contains(m), "{methods}");
        }
        assert!(!methods.contains("PUT"), "{methods}");
        let headers = header(&p, "access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            headers.contains("authorization") && headers.contains("content-type"),
            "{headers}"
        );
        assert_eq!(header(&p, "access-control-allow-credentials"), None);
        assert_eq!(header(&p, "access-control-max-age"), Some("600"));
    }

    #[tokio::test]
    async fn a_single_server_answers_as_without_cors() {
        assert!(layer(&[]).is_none());
        let r = router(&[]);
        let ok = send(&r, request("GET", "http://127.0.0.1:8081")).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(header(&ok, "access-control-allow-origin"), None);
        assert_eq!(header(&ok, "vary"), None);
        let p = send(&r, preflight("http://127.0.0.1:8081")).await;
        assert_eq!(p.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
