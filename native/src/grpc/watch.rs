//! The Watch service: one bidirectional stream carries many watchers.

use super::*;
use crate::convert;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Request, Response as R, Streaming};

/// Responses buffered per stream between the member and the client connection.
const WATCH_OUT_QUEUE: usize = 16;
/// Queued responses joined per pass (see [`orrery_core::watch::coalesce`]).
const JOIN_AT_MOST: usize = 256;
/// Keys and values in one joined response, at most: far below any client's message limit.
const JOINED_BYTES: usize = 64 * 1024;

#[tonic::async_trait]
impl pb::watch_server::Watch for Services {
    type WatchStream = ReceiverStream<Result<pb::WatchResponse, Status>>;

    async fn watch(
        &self,
        r: Request<Streaming<pb::WatchRequest>>,
    ) -> Result<R<Self::WatchStream>, Status> {
        let mut inbound = r.into_inner();
        let (stream, mut from_member) = self.node.watch_open().await.map_err(status)?;
        let (tx, rx) = tokio::sync::mpsc::channel(WATCH_OUT_QUEUE);
        // Member → client.
        let out = tx.clone();
        tokio::spawn(async move {
            let mut queued = Vec::new();
            while from_member.recv_many(&mut queued, JOIN_AT_MOST).await > 0 {
                // What queued while the client was busy goes out in fewer responses.
                let batch = std::mem::take(&mut queued);
                for resp in orrery_core::watch::coalesce(batch, JOINED_BYTES) {
                    if out.send(Ok(convert::watch_response(resp))).await.is_err() {
                        return;
                    }
                }
            }
        });
        // Client → member; closing the client side closes the stream's watchers.
        let this = self.clone();
        tokio::spawn(async move {
            use pb::watch_request::RequestUnion as U;
            while let Some(Ok(req)) = inbound.next().await {
                let request = match req.request_union {
                    Some(U::CreateRequest(c)) => ClientRequest::WatchCreate {
                        stream,
                        request: convert::watch_create(c),
                    },
                    Some(U::CancelRequest(c)) => ClientRequest::WatchCancel {
                        stream,
                        watch_id: c.watch_id,
                    },
                    Some(U::ProgressRequest(_)) => ClientRequest::WatchProgress { stream },
                    None => continue,
                };
                if let Err(e) = this.ask(request).await {
                    let _ = tx.send(Err(e)).await;
                    break;
                }
            }
            let _ = this.ask(ClientRequest::WatchClose { stream }).await;
        });
        Ok(R::new(ReceiverStream::new(rx)))
    }
}
