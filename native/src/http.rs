//! Plain HTTP on the client port, as etcd 3.4 serves it next to gRPC (`etcdhttp`):
//! `GET /health`, `GET /version` and `GET /metrics`.

use crate::grpc::ETCD_VERSION;
use crate::metrics::Metrics;
use crate::node::NodeHandle;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use orrery_core::request::RangeRequest;
use orrery_core::server::{ClientRequest, ClientResponse};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// How long `/health`'s quorum read may take (etcd: 1 s).
const HEALTH_READ_TIMEOUT: Duration = Duration::from_secs(1);

/// What the handlers need.
#[derive(Clone, Debug)]
pub struct HttpState {
    /// The member.
    pub node: NodeHandle,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
}

/// The HTTP routes, to merge with the gRPC services.
pub fn router(state: HttpState) -> axum::Router {
    axum::Router::new()
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/metrics", get(metrics))
        .with_state(state)
}

fn json(status: StatusCode, body: String) -> axum::response::Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `{"health":"true"}`, or 503 and `{"health":"false"}` when an alarm is active (NOSPACE
/// not counted with `?exclude=NOSPACE`), there is no leader, or a quorum read fails within
/// a second (etcd 3.4 `checkHealth`).
async fn health(
    State(s): State<HttpState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> axum::response::Response {
    let exclude_nospace = query
        .unwrap_or_default()
        .split('&')
        .any(|p| p == "exclude=NOSPACE");
    let m = &s.metrics;
    let alarmed = m.alarm_corrupt.load(Relaxed) == 1
        || (m.alarm_nospace.load(Relaxed) == 1 && !exclude_nospace);
    let healthy = !alarmed && m.has_leader.load(Relaxed) == 1 && quorum_read(&s.node).await;
    if healthy {
        json(StatusCode::OK, r#"{"health":"true"}"#.into())
    } else {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"health":"false"}"#.into(),
        )
    }
}

async fn quorum_read(node: &NodeHandle) -> bool {
    let read = node.request(ClientRequest::Range(RangeRequest {
        key: Bytes::from_static(b"health"),
        ..RangeRequest::default()
    }));
    matches!(
        tokio::time::timeout(HEALTH_READ_TIMEOUT, read).await,
        Ok(Ok(ClientResponse::Kv(_)))
    )
}

/// Any other path: gRPC's `Unimplemented` for gRPC requests (what tonic answers), and Go's
/// `404 page not found` for plain HTTP, as etcd's mux does.
pub async fn not_found(request: axum::extract::Request) -> axum::response::Response {
    let grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    if grpc {
        return tonic::Status::unimplemented("").into_http();
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "404 page not found\n",
    )
        .into_response()
}

async fn version() -> axum::response::Response {
    json(
        StatusCode::OK,
        format!(r#"{{"etcdserver":"{ETCD_VERSION}","etcdcluster":"3.4.0"}}"#),
    )
}

async fn metrics(State(s): State<HttpState>) -> axum::response::Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(ETCD_VERSION),
    )
        .into_response()
}
