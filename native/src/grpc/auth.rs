//! The Auth service before users and roles can be created: an auth store that is always
//! empty, answering exactly as etcd does with no users and auth off. `Authenticate` says
//! `authentication is not enabled`, `AuthDisable` succeeds, lists are empty, lookups find no
//! user or role, and `AuthEnable` finds no root user. Only `UserAdd` and `RoleAdd` answer
//! `Unimplemented`: they are what the auth issue builds.

use super::*;
use orrery_core::EtcdError;
use tonic::{Request, Response as R};

fn not_yet() -> Status {
    Status::unimplemented("orrery: adding users and roles is not implemented yet")
}

fn etcd(e: EtcdError) -> Status {
    crate::status::status(e)
}

#[tonic::async_trait]
impl pb::auth_server::Auth for Services {
    async fn authenticate(
        &self,
        _: Request<pb::AuthenticateRequest>,
    ) -> Result<R<pb::AuthenticateResponse>, Status> {
        Err(crate::status::status(
            orrery_core::EtcdError::AuthNotEnabled,
        ))
    }

    async fn auth_disable(
        &self,
        _: Request<pb::AuthDisableRequest>,
    ) -> Result<R<pb::AuthDisableResponse>, Status> {
        Ok(R::new(pb::AuthDisableResponse {
            header: self.header().await?,
        }))
    }

    async fn auth_enable(
        &self,
        _: Request<pb::AuthEnableRequest>,
    ) -> Result<R<pb::AuthEnableResponse>, Status> {
        Err(etcd(EtcdError::RootUserNotExist))
    }

    async fn user_add(
        &self,
        _: Request<pb::AuthUserAddRequest>,
    ) -> Result<R<pb::AuthUserAddResponse>, Status> {
        Err(not_yet())
    }

    async fn user_get(
        &self,
        _: Request<pb::AuthUserGetRequest>,
    ) -> Result<R<pb::AuthUserGetResponse>, Status> {
        Err(etcd(EtcdError::UserNotFound))
    }

    async fn user_list(
        &self,
        _: Request<pb::AuthUserListRequest>,
    ) -> Result<R<pb::AuthUserListResponse>, Status> {
        Ok(R::new(pb::AuthUserListResponse {
            header: self.header().await?,
            users: Vec::new(),
        }))
    }

    async fn user_delete(
        &self,
        _: Request<pb::AuthUserDeleteRequest>,
    ) -> Result<R<pb::AuthUserDeleteResponse>, Status> {
        Err(etcd(EtcdError::UserNotFound))
    }

    async fn user_change_password(
        &self,
        _: Request<pb::AuthUserChangePasswordRequest>,
    ) -> Result<R<pb::AuthUserChangePasswordResponse>, Status> {
        Err(etcd(EtcdError::UserNotFound))
    }

    async fn user_grant_role(
        &self,
        _: Request<pb::AuthUserGrantRoleRequest>,
    ) -> Result<R<pb::AuthUserGrantRoleResponse>, Status> {
        Err(etcd(EtcdError::UserNotFound))
    }

    async fn user_revoke_role(
        &self,
        _: Request<pb::AuthUserRevokeRoleRequest>,
    ) -> Result<R<pb::AuthUserRevokeRoleResponse>, Status> {
        Err(etcd(EtcdError::UserNotFound))
    }

    async fn role_add(
        &self,
        _: Request<pb::AuthRoleAddRequest>,
    ) -> Result<R<pb::AuthRoleAddResponse>, Status> {
        Err(not_yet())
    }

    async fn role_get(
        &self,
        _: Request<pb::AuthRoleGetRequest>,
    ) -> Result<R<pb::AuthRoleGetResponse>, Status> {
        Err(etcd(EtcdError::RoleNotFound))
    }

    async fn role_list(
        &self,
        _: Request<pb::AuthRoleListRequest>,
    ) -> Result<R<pb::AuthRoleListResponse>, Status> {
        Ok(R::new(pb::AuthRoleListResponse {
            header: self.header().await?,
            roles: Vec::new(),
        }))
    }

    async fn role_delete(
        &self,
        _: Request<pb::AuthRoleDeleteRequest>,
    ) -> Result<R<pb::AuthRoleDeleteResponse>, Status> {
        Err(etcd(EtcdError::RoleNotFound))
    }

    async fn role_grant_permission(
        &self,
        _: Request<pb::AuthRoleGrantPermissionRequest>,
    ) -> Result<R<pb::AuthRoleGrantPermissionResponse>, Status> {
        Err(etcd(EtcdError::RoleNotFound))
    }

    async fn role_revoke_permission(
        &self,
        _: Request<pb::AuthRoleRevokePermissionRequest>,
    ) -> Result<R<pb::AuthRoleRevokePermissionResponse>, Status> {
        Err(etcd(EtcdError::RoleNotFound))
    }
}
