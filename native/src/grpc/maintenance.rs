//! The Maintenance service: Status, HashKV, MoveLeader, and Alarm GET (no alarm can be raised
//! yet: there is no quota). Alarm activate/deactivate, Defragment, Hash and Snapshot answer
//! `Unimplemented` until they are built.

use super::*;
use crate::convert;
use tonic::{Request, Response as R};

#[tonic::async_trait]
impl pb::maintenance_server::Maintenance for Services {
    type SnapshotStream = tokio_stream::Empty<Result<pb::SnapshotResponse, Status>>;

    async fn alarm(&self, r: Request<pb::AlarmRequest>) -> Result<R<pb::AlarmResponse>, Status> {
        if r.into_inner().action != pb::alarm_request::AlarmAction::Get as i32 {
            return Err(Status::unimplemented(
                "orrery: raising or clearing alarms is not implemented yet",
            ));
        }
        // No alarm can be raised yet (there is no quota): the list is empty.
        let header = match self.ask(ClientRequest::Status).await? {
            ClientResponse::Status(s) => convert::header(s.header),
            other => return Err(unexpected("status", &other)),
        };
        Ok(R::new(pb::AlarmResponse {
            header,
            alarms: Vec::new(),
        }))
    }

    async fn status(&self, _: Request<pb::StatusRequest>) -> Result<R<pb::StatusResponse>, Status> {
        match self.ask(ClientRequest::Status).await? {
            ClientResponse::Status(s) => Ok(R::new(convert::status(s, ETCD_VERSION))),
            other => Err(unexpected("status", &other)),
        }
    }

    async fn defragment(
        &self,
        _: Request<pb::DefragmentRequest>,
    ) -> Result<R<pb::DefragmentResponse>, Status> {
        Err(Status::unimplemented(
            "orrery: defragment is not implemented yet",
        ))
    }

    async fn hash(&self, _: Request<pb::HashRequest>) -> Result<R<pb::HashResponse>, Status> {
        Err(Status::unimplemented(
            "orrery: Hash is not implemented; use HashKV",
        ))
    }

    async fn hash_kv(
        &self,
        r: Request<pb::HashKvRequest>,
    ) -> Result<R<pb::HashKvResponse>, Status> {
        let revision = r.into_inner().revision;
        match self.ask(ClientRequest::HashKv { revision }).await? {
            ClientResponse::HashKv(h) => Ok(R::new(convert::hash_kv(h))),
            other => Err(unexpected("hashkv", &other)),
        }
    }

    async fn snapshot(
        &self,
        _: Request<pb::SnapshotRequest>,
    ) -> Result<R<Self::SnapshotStream>, Status> {
        Err(Status::unimplemented(
            "orrery: snapshot is not implemented yet",
        ))
    }

    async fn move_leader(
        &self,
        r: Request<pb::MoveLeaderRequest>,
    ) -> Result<R<pb::MoveLeaderResponse>, Status> {
        let target = r.into_inner().target_id;
        match self.ask(ClientRequest::MoveLeader { target }).await? {
            ClientResponse::MoveLeader(h) => Ok(R::new(pb::MoveLeaderResponse {
                header: convert::header(h),
            })),
            other => Err(unexpected("move-leader", &other)),
        }
    }
}
