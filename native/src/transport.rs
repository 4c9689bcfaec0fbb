//! Member-to-member transport: one long-lived gRPC stream from this member to each peer
//! (`orrerypeerpb.Peer/Stream`), carrying `PeerMessage` bytes. Queues are bounded: when a
//! peer's queue is full, messages are dropped (Raft retransmits) and the member is told the
//! peer is unreachable. Broken connections are retried with backoff; a refused one tells
//! the member the peer is down (its process is gone: see `Input::PeerDown`).

use crate::convert;
use crate::node::{NodeHandle, TransportEvent};
use crate::pb::orrerypeerpb as pb;
use orrery_core::cluster::Member;
use orrery_core::server::{ClientRequest, ClientResponse, PeerMessage};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

/// Messages queued per peer before new ones are dropped.
const PEER_QUEUE: usize = 4096;
/// Frames in flight on one connection.
const FRAME_QUEUE: usize = 256;
/// Largest frame (a snapshot travels as one frame).
pub const MAX_FRAME: usize = 512 * 1024 * 1024;
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Peer ID → its peer URLs, as the member's applied membership says.
pub type PeerUrls = BTreeMap<u64, Vec<String>>;

/// Routes the member's outgoing messages to per-peer connections, forever.
pub fn spawn(
    mut outbound: mpsc::Receiver<PeerMessage>,
    urls: watch::Receiver<PeerUrls>,
    node: NodeHandle,
) {
    tokio::spawn(async move {
        let mut peers: BTreeMap<u64, mpsc::Sender<PeerMessage>> = BTreeMap::new();
        while let Some(m) = outbound.recv().await {
            let to = m.to();
            let tx = peers.entry(to).or_insert_with(|| {
                let (tx, rx) = mpsc::channel(PEER_QUEUE);
                tokio::spawn(peer_loop(to, rx, urls.clone(), node.clone()));
                tx
            });
            if let Err(e) = tx.try_send(m) {
                let m = e.into_inner();
                report_loss(&node, &m).await;
            }
        }
    });
}

async fn report_loss(node: &NodeHandle, m: &PeerMessage) {
    let to = m.to();
    if m.is_snapshot() {
        node.transport_event(TransportEvent::SnapshotSent { to, ok: false })
            .await;
    }
    node.transport_event(TransportEvent::Unreachable { to })
        .await;
}

async fn peer_loop(
    to: u64,
    mut rx: mpsc::Receiver<PeerMessage>,
    urls: watch::Receiver<PeerUrls>,
    node: NodeHandle,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let url = urls.borrow().get(&to).and_then(|u| u.first().cloned());
        let Some(url) = url else {
            // Not (or no longer) a member we know an address for.
            tokio::time::sleep(BACKOFF_MAX).await;
            continue;
        };
        let client = match pb::peer_client::PeerClient::connect(url.clone()).await {
            Ok(c) => c.max_encoding_message_size(MAX_FRAME),
            Err(e) => {
                if refused(&e) {
                    node.transport_event(TransportEvent::PeerDown { to }).await;
                }
                drop_queued(&mut rx, &node).await;
                node.transport_event(TransportEvent::Unreachable { to })
                    .await;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        tracing::debug!(peer = format!("{to:x}"), %url, "connected to peer");
        let (frames, frames_rx) = mpsc::channel(FRAME_QUEUE);
        let mut client = client;
        let mut call =
            tokio::spawn(async move { client.stream(ReceiverStream::new(frames_rx)).await });
        let (mut call_ended, mut carried) = (false, false);
        loop {
            // Watch the call while idle too: a follower sends its leader nothing until it
            // hears from it, so only this notices the leader's connection closing.
            let m = tokio::select! {
                m = rx.recv() => m,
                _ = &mut call => {
                    call_ended = true;
                    break;
                }
            };
            let Some(m) = m else { return }; // the router is gone
            let snapshot = m.is_snapshot();
            let frame = pb::Frame {
                data: m.to_bytes().into(),
            };
            if frames.send(frame).await.is_err() || call.is_finished() {
                report_loss(&node, &m).await;
                break;
            }
            carried = true;
            if snapshot {
                node.transport_event(TransportEvent::SnapshotSent { to, ok: true })
                    .await;
            }
        }
        drop(frames);
        if !call_ended {
            let _ = call.await;
        }
        // A connection that carried frames broke: retry soon (a refusal then reports the
        // peer down). One closed before it carried any backs off like a failed connect.
        if carried {
            backoff = BACKOFF_MIN;
        }
        tokio::time::sleep(backoff).await;
        if !carried {
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
}

/// Whether connecting failed because nothing listens at the address (the peer's process is
/// gone), as opposed to a timeout or an unreachable network.
fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
    // Bounded: error chains here are a few links long.
    std::iter::successors(Some(e), |c| c.source())
        .take(16)
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// While a peer is unreachable, what was queued for it is dropped (Raft will resend).
async fn drop_queued(rx: &mut mpsc::Receiver<PeerMessage>, node: &NodeHandle) {
    while let Ok(m) = rx.try_recv() {
        if m.is_snapshot() {
            let to = m.to();
            node.transport_event(TransportEvent::SnapshotSent { to, ok: false })
                .await;
        }
    }
}

/// The receiving side: frames from a peer become messages for the member.
#[derive(Clone, Debug)]
pub struct PeerService {
    node: NodeHandle,
}

impl PeerService {
    /// A service delivering to `node`.
    pub fn new(node: NodeHandle) -> Self {
        Self { node }
    }

    /// The tonic service, accepting snapshot-sized frames.
    pub fn server(self) -> pb::peer_server::PeerServer<Self> {
        pb::peer_server::PeerServer::new(self).max_decoding_message_size(MAX_FRAME)
    }
}

#[tonic::async_trait]
impl pb::peer_server::Peer for PeerService {
    async fn stream(
        &self,
        r: tonic::Request<tonic::Streaming<pb::Frame>>,
    ) -> Result<tonic::Response<pb::Ack>, tonic::Status> {
        let mut frames = r.into_inner();
        while let Some(frame) = frames.next().await {
            let frame = frame?;
            match PeerMessage::from_bytes(&frame.data) {
                Ok(m) => self.node.peer_message(m).await,
                Err(e) => {
                    return Err(tonic::Status::invalid_argument(format!(
                        "orrery: bad peer frame: {e}"
                    )))
                }
            }
        }
        Ok(tonic::Response::new(pb::Ack {}))
    }

    async fn members(
        &self,
        _: tonic::Request<pb::MembersRequest>,
    ) -> Result<tonic::Response<pb::MembersReply>, tonic::Status> {
        let r = self
            .node
            .request(ClientRequest::MemberList)
            .await
            .map_err(crate::status::status)?;
        let ClientResponse::Members(r) = r else {
            return Err(tonic::Status::internal(
                "orrery: member list answered oddly",
            ));
        };
        Ok(tonic::Response::new(pb::MembersReply {
            cluster_id: r.header.cluster_id,
            members: r.members.into_iter().map(convert::peer_member).collect(),
        }))
    }
}

/// The cluster as an existing member sees it: the cluster ID and the members.
#[derive(Clone, Debug)]
pub struct RemoteCluster {
    /// The cluster ID.
    pub cluster_id: u64,
    /// Its members (the one being started among them, if it was added).
    pub members: Vec<Member>,
}

/// Asks the members at `peer_urls`, in turn, for the cluster they belong to (etcd's
/// `GetClusterFromRemotePeers`); the first answer wins. Each try is bounded by `timeout`.
pub async fn fetch_cluster(
    peer_urls: &[String],
    timeout: Duration,
) -> Result<RemoteCluster, String> {
    let mut errors = Vec::new();
    for url in peer_urls {
        let ask = async {
            let mut c = pb::peer_client::PeerClient::connect(url.clone())
                .await
                .map_err(|e| e.to_string())?;
            c.members(pb::MembersRequest {})
                .await
                .map(tonic::Response::into_inner)
                .map_err(|e| e.message().to_owned())
        };
        match tokio::time::timeout(timeout, ask).await {
            Ok(Ok(r)) => {
                return Ok(RemoteCluster {
                    cluster_id: r.cluster_id,
                    members: r
                        .members
                        .into_iter()
                        .map(convert::member_from_peer)
                        .collect(),
                })
            }
            Ok(Err(e)) => errors.push(format!("{url}: {e}")),
            Err(_) => errors.push(format!("{url}: no answer within {timeout:?}")),
        }
    }
    Err(format!(
        "could not retrieve cluster information from the given URLs ({})",
        errors.join("; ")
    ))
}
