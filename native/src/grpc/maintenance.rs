//! The Maintenance service: Status, HashKV, MoveLeader, Snapshot, Defragment (compacts the
//! backend file) and Alarm (list, raise, clear; through Raft). Hash answers `Unimplemented`: clients use
//! HashKV.

use super::*;
use crate::convert;
use orrery_core::request::Response;
use tonic::{Request, Response as R};

/// Bytes per Snapshot stream message (etcd: 32 KiB).
const SNAPSHOT_CHUNK: usize = 32 * 1024;

#[tonic::async_trait]
impl pb::maintenance_server::Maintenance for Services {
    type SnapshotStream =
        tokio_stream::Iter<std::vec::IntoIter<Result<pb::SnapshotResponse, Status>>>;

    async fn alarm(&self, r: Request<pb::AlarmRequest>) -> Result<R<pb::AlarmResponse>, Status> {
        let request = convert::alarm_request(r.into_inner());
        match self.ask(ClientRequest::Alarm(request)).await? {
            ClientResponse::Kv(Response::Alarm(a)) => Ok(R::new(convert::alarm_response(a))),
            other => Err(unexpected("alarm", &other)),
        }
    }

    async fn status(&self, _: Request<pb::StatusRequest>) -> Result<R<pb::StatusResponse>, Status> {
        match self.ask(ClientRequest::Status).await? {
            ClientResponse::Status(s) => Ok(R::new(convert::status(s, ETCD_VERSION))),
            other => Err(unexpected("status", &other)),
        }
    }

    /// Compacts the backend's redb file, giving free pages back to the file system, as etcd
    /// defragments bbolt.
    async fn defragment(
        &self,
        _: Request<pb::DefragmentRequest>,
    ) -> Result<R<pb::DefragmentResponse>, Status> {
        let (before, after) = self.node.defragment().await.map_err(status)?;
        tracing::info!(before, after, "defragmented the backend");
        let header = self.header().await?;
        Ok(R::new(pb::DefragmentResponse { header }))
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

    /// The applied state as one file, streamed in 32 KiB chunks with the bytes still to
    /// come, then its SHA-256 as the last chunk (etcd's framing: `etcdctl snapshot save`
    /// checks that the file is a multiple of 512 bytes plus the 32-byte digest). The file
    /// holds raft's protobuf `Snapshot`, not a bbolt database: see `native/STORAGE.md`.
    async fn snapshot(
        &self,
        _: Request<pb::SnapshotRequest>,
    ) -> Result<R<Self::SnapshotStream>, Status> {
        use sha2::Digest;
        let header = self.header().await?;
        let snap = self.node.backup().await.map_err(crate::status::status)?;
        let raw = protobuf::Message::write_to_bytes(&snap)
            .map_err(|e| Status::internal(format!("orrery: encoding the snapshot: {e}")))?;
        let bytes = crate::backup::backup_file(&raw);
        let digest = sha2::Sha256::digest(&bytes);
        let mut remaining = bytes.len() as u64 + digest.len() as u64;
        let mut chunks = Vec::with_capacity(bytes.len() / SNAPSHOT_CHUNK + 2);
        for blob in bytes.chunks(SNAPSHOT_CHUNK).chain([&digest[..]]) {
            remaining -= blob.len() as u64;
            chunks.push(Ok(pb::SnapshotResponse {
                header,
                remaining_bytes: remaining,
                blob: bytes::Bytes::copy_from_slice(blob),
            }));
        }
        Ok(R::new(tokio_stream::iter(chunks)))
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
