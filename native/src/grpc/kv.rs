//! The KV service.

use super::*;
use crate::convert;
use orrery_core::request::Response;
use tonic::{Request, Response as R};

#[tonic::async_trait]
impl pb::kv_server::Kv for Services {
    async fn range(&self, r: Request<pb::RangeRequest>) -> Result<R<pb::RangeResponse>, Status> {
        let req = convert::range_request(r.into_inner());
        match self.ask(ClientRequest::Range(req)).await? {
            ClientResponse::Kv(Response::Range(x)) => Ok(R::new(convert::range_response(x))),
            other => Err(unexpected("range", &other)),
        }
    }

    async fn put(&self, r: Request<pb::PutRequest>) -> Result<R<pb::PutResponse>, Status> {
        let req = convert::put_request(r.into_inner());
        match self.ask(ClientRequest::Put(req)).await? {
            ClientResponse::Kv(Response::Put(x)) => Ok(R::new(convert::put_response(x))),
            other => Err(unexpected("put", &other)),
        }
    }

    async fn delete_range(
        &self,
        r: Request<pb::DeleteRangeRequest>,
    ) -> Result<R<pb::DeleteRangeResponse>, Status> {
        let req = convert::delete_request(r.into_inner());
        match self.ask(ClientRequest::DeleteRange(req)).await? {
            ClientResponse::Kv(Response::DeleteRange(x)) => Ok(R::new(convert::delete_response(x))),
            other => Err(unexpected("delete", &other)),
        }
    }

    async fn txn(&self, r: Request<pb::TxnRequest>) -> Result<R<pb::TxnResponse>, Status> {
        let req = convert::txn_request(r.into_inner());
        match self.ask(ClientRequest::Txn(req)).await? {
            ClientResponse::Kv(Response::Txn(x)) => Ok(R::new(convert::txn_response(x))),
            other => Err(unexpected("txn", &other)),
        }
    }

    async fn compact(
        &self,
        r: Request<pb::CompactionRequest>,
    ) -> Result<R<pb::CompactionResponse>, Status> {
        let r = r.into_inner();
        let req = orrery_core::request::CompactionRequest {
            revision: r.revision,
            physical: r.physical,
        };
        match self.ask(ClientRequest::Compact(req)).await? {
            ClientResponse::Kv(Response::Compaction(x)) => Ok(R::new(pb::CompactionResponse {
                header: convert::header(x.header),
            })),
            other => Err(unexpected("compact", &other)),
        }
    }
}
