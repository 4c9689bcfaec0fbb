//! etcd's v3 gRPC services on top of a [`NodeHandle`]: decode, ask the member, encode.
//! Conversions are in [`crate::convert`], errors in [`crate::status`].

mod cluster;
mod kv;
mod lease;
mod maintenance;
mod watch;

use crate::node::{NodeHandle, Reply};
use crate::pb::etcdserverpb as pb;
use crate::status::status;
use orrery_core::server::{ClientRequest, ClientResponse};
use tonic::Status;

/// The etcd version Orrery reports (clients compare against it).
pub const ETCD_VERSION: &str = "3.4.23";

/// The services of one member.
#[derive(Clone, Debug)]
pub struct Services {
    node: NodeHandle,
}

impl Services {
    /// Services answering through `node`.
    pub fn new(node: NodeHandle) -> Self {
        Self { node }
    }

    async fn ask(&self, request: ClientRequest) -> Result<ClientResponse, Status> {
        let reply: Reply = self.node.request(request).await;
        reply.map_err(status)
    }

    /// Every service, ready to add to a tonic router.
    pub fn router(self) -> tonic::service::Routes {
        tonic::service::Routes::new(pb::kv_server::KvServer::new(self.clone()))
            .add_service(pb::maintenance_server::MaintenanceServer::new(self.clone()))
            .add_service(pb::lease_server::LeaseServer::new(self.clone()))
            .add_service(pb::watch_server::WatchServer::new(self.clone()))
            .add_service(pb::cluster_server::ClusterServer::new(self))
    }
}

/// A response kind the member should not have produced for this request.
fn unexpected(what: &str, got: &ClientResponse) -> Status {
    Status::internal(format!("orrery: {what} answered with {got:?}"))
}
