//! The Lease service; keep-alives and time-to-live are answered by the leader (the member
//! forwards them).

use super::*;
use crate::convert;
use orrery_core::request::{LeaseGrantRequest, LeaseRevokeRequest, Response};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response as R, Streaming};

/// Keep-alive responses buffered per stream.
const KEEPALIVE_QUEUE: usize = 64;

#[tonic::async_trait]
impl pb::lease_server::Lease for Services {
    type LeaseKeepAliveStream = ReceiverStream<Result<pb::LeaseKeepAliveResponse, Status>>;

    async fn lease_grant(
        &self,
        r: Request<pb::LeaseGrantRequest>,
    ) -> Result<R<pb::LeaseGrantResponse>, Status> {
        let r = r.into_inner();
        let req = LeaseGrantRequest {
            ttl: r.ttl,
            id: r.id,
        };
        match self.ask(ClientRequest::LeaseGrant(req)).await? {
            ClientResponse::Kv(Response::LeaseGrant(g)) => Ok(R::new(pb::LeaseGrantResponse {
                header: convert::header(g.header),
                id: g.id,
                ttl: g.ttl,
                error: g.error,
            })),
            other => Err(unexpected("lease grant", &other)),
        }
    }

    async fn lease_revoke(
        &self,
        r: Request<pb::LeaseRevokeRequest>,
    ) -> Result<R<pb::LeaseRevokeResponse>, Status> {
        let id = r.into_inner().id;
        match self
            .ask(ClientRequest::LeaseRevoke(LeaseRevokeRequest { id }))
            .await?
        {
            ClientResponse::Kv(Response::LeaseRevoke(x)) => Ok(R::new(pb::LeaseRevokeResponse {
                header: convert::header(x.header),
            })),
            other => Err(unexpected("lease revoke", &other)),
        }
    }

    async fn lease_keep_alive(
        &self,
        r: Request<Streaming<pb::LeaseKeepAliveRequest>>,
    ) -> Result<R<Self::LeaseKeepAliveStream>, Status> {
        let mut inbound = r.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(KEEPALIVE_QUEUE);
        let this = self.clone();
        tokio::spawn(async move {
            while let Some(Ok(req)) = inbound.next().await {
                let answer = match this.ask(ClientRequest::LeaseKeepAlive { id: req.id }).await {
                    Ok(ClientResponse::LeaseKeepAlive(k)) => Ok(pb::LeaseKeepAliveResponse {
                        header: convert::header(k.header),
                        id: k.id,
                        ttl: k.ttl,
                    }),
                    Ok(other) => Err(unexpected("keep-alive", &other)),
                    Err(e) => Err(e),
                };
                let failed = answer.is_err();
                if tx.send(answer).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(R::new(ReceiverStream::new(rx)))
    }

    async fn lease_time_to_live(
        &self,
        r: Request<pb::LeaseTimeToLiveRequest>,
    ) -> Result<R<pb::LeaseTimeToLiveResponse>, Status> {
        let r = r.into_inner();
        let request = ClientRequest::LeaseTimeToLive {
            id: r.id,
            keys: r.keys,
        };
        match self.ask(request).await? {
            ClientResponse::LeaseTimeToLive(t) => Ok(R::new(pb::LeaseTimeToLiveResponse {
                header: convert::header(t.header),
                id: t.id,
                ttl: t.ttl,
                granted_ttl: t.granted_ttl,
                keys: t.keys,
            })),
            other => Err(unexpected("time-to-live", &other)),
        }
    }

    async fn lease_leases(
        &self,
        _: Request<pb::LeaseLeasesRequest>,
    ) -> Result<R<pb::LeaseLeasesResponse>, Status> {
        match self.ask(ClientRequest::LeaseLeases).await? {
            ClientResponse::LeaseLeases(l) => Ok(R::new(pb::LeaseLeasesResponse {
                header: convert::header(l.header),
                leases: l
                    .leases
                    .into_iter()
                    .map(|id| pb::LeaseStatus { id })
                    .collect(),
            })),
            other => Err(unexpected("leases", &other)),
        }
    }
}
