//! etcd's v3 gRPC services on top of a [`NodeHandle`]: decode, ask the member, encode.
//! Conversions are in [`crate::convert`], errors in [`crate::status`].

mod auth;
mod cluster;
mod kv;
mod lease;
mod maintenance;
mod watch;

use crate::metrics::Metrics;
use crate::node::{NodeHandle, Reply};
use crate::pb::etcdserverpb as pb;
use crate::status::status;
use orrery_core::server::{ClientRequest, ClientResponse};
use std::sync::Arc;
use tonic::Status;

/// The etcd version Orrery reports (clients compare against it).
pub const ETCD_VERSION: &str = "3.4.23";

/// Bytes a gRPC message may exceed `--max-request-bytes` by (etcd's `grpcOverheadBytes`):
/// the server decodes it and then refuses it with etcd's `request is too large`.
const GRPC_OVERHEAD_BYTES: usize = 512 * 1024;

/// The services of one member.
#[derive(Clone, Debug)]
pub struct Services {
    node: NodeHandle,
    metrics: Arc<Metrics>,
    max_request_bytes: usize,
}

impl Services {
    /// Services answering through `node`; requests up to `max_request_bytes` (plus gRPC's
    /// overhead) are decoded.
    pub fn new(node: NodeHandle, metrics: Arc<Metrics>, max_request_bytes: u64) -> Self {
        Self {
            node,
            metrics,
            max_request_bytes: max_request_bytes as usize,
        }
    }

    async fn ask(&self, request: ClientRequest) -> Result<ClientResponse, Status> {
        let reply: Reply = self.node.request(request).await;
        reply.map_err(status)
    }

    /// A response header as of now (for answers that carry no state of their own).
    async fn header(&self) -> Result<Option<pb::ResponseHeader>, Status> {
        match self.ask(ClientRequest::Status).await? {
            ClientResponse::Status(s) => Ok(crate::convert::header(s.header)),
            other => Err(unexpected("status", &other)),
        }
    }

    /// Every gRPC service and the plain HTTP endpoints, ready to serve.
    pub fn router(self) -> tonic::service::Routes {
        let max = self.max_request_bytes + GRPC_OVERHEAD_BYTES;
        let http = crate::http::router(crate::http::HttpState {
            node: self.node.clone(),
            metrics: self.metrics.clone(),
        });
        let grpc = tonic::service::Routes::new(
            pb::kv_server::KvServer::new(self.clone()).max_decoding_message_size(max),
        )
        .add_service(pb::maintenance_server::MaintenanceServer::new(self.clone()))
        .add_service(pb::lease_server::LeaseServer::new(self.clone()))
        .add_service(
            pb::watch_server::WatchServer::new(self.clone()).max_decoding_message_size(max),
        )
        .add_service(pb::auth_server::AuthServer::new(self.clone()))
        .add_service(pb::cluster_server::ClusterServer::new(self));
        let all = grpc
            .into_axum_router()
            .merge(http)
            .fallback(crate::http::not_found);
        tonic::service::Routes::from(all)
    }
}

/// A response kind the member should not have produced for this request.
fn unexpected(what: &str, got: &ClientResponse) -> Status {
    Status::internal(format!("orrery: {what} answered with {got:?}"))
}
