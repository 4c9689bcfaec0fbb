//! The Cluster service.

use super::*;
use crate::convert;
use tonic::{Request, Response as R};

impl Services {
    async fn members(
        &self,
        request: ClientRequest,
    ) -> Result<orrery_core::server::MembersResponse, Status> {
        match self.ask(request).await? {
            ClientResponse::Members(m) => Ok(m),
            other => Err(unexpected("member call", &other)),
        }
    }
}

#[tonic::async_trait]
impl pb::cluster_server::Cluster for Services {
    async fn member_add(
        &self,
        r: Request<pb::MemberAddRequest>,
    ) -> Result<R<pb::MemberAddResponse>, Status> {
        let r = r.into_inner();
        let m = self
            .members(ClientRequest::MemberAdd {
                peer_urls: r.peer_ur_ls,
                is_learner: r.is_learner,
            })
            .await?;
        let (header, member, members) = convert::members(m);
        Ok(R::new(pb::MemberAddResponse {
            header,
            member,
            members,
        }))
    }

    async fn member_remove(
        &self,
        r: Request<pb::MemberRemoveRequest>,
    ) -> Result<R<pb::MemberRemoveResponse>, Status> {
        let id = r.into_inner().id;
        let (header, _, members) =
            convert::members(self.members(ClientRequest::MemberRemove { id }).await?);
        Ok(R::new(pb::MemberRemoveResponse { header, members }))
    }

    async fn member_update(
        &self,
        r: Request<pb::MemberUpdateRequest>,
    ) -> Result<R<pb::MemberUpdateResponse>, Status> {
        let r = r.into_inner();
        let request = ClientRequest::MemberUpdate {
            id: r.id,
            peer_urls: r.peer_ur_ls,
        };
        let (header, _, members) = convert::members(self.members(request).await?);
        Ok(R::new(pb::MemberUpdateResponse { header, members }))
    }

    async fn member_list(
        &self,
        _: Request<pb::MemberListRequest>,
    ) -> Result<R<pb::MemberListResponse>, Status> {
        let (header, _, members) = convert::members(self.members(ClientRequest::MemberList).await?);
        Ok(R::new(pb::MemberListResponse { header, members }))
    }

    async fn member_promote(
        &self,
        r: Request<pb::MemberPromoteRequest>,
    ) -> Result<R<pb::MemberPromoteResponse>, Status> {
        let id = r.into_inner().id;
        let (header, _, members) =
            convert::members(self.members(ClientRequest::MemberPromote { id }).await?);
        Ok(R::new(pb::MemberPromoteResponse { header, members }))
    }
}
