//! Every error etcd 3.4 sends to clients, and one error enum per operation family.
//!
//! This is the only place where etcd's error strings live. Clients (etcdctl, clientv3, the
//! Rust `etcd-client`, Kubernetes) compare the *message text*, so each string is reproduced
//! byte for byte from etcd v3.4.23 `etcdserver/api/v3rpc/rpctypes/error.go`, together with the
//! gRPC status code and the HTTP status the JSON gateway answers with.
//!
//! Operations return a narrow error type that lists only what they can produce ([`RangeError`],
//! [`PutError`], [`TxnError`], [`CompactError`], [`HashError`], [`LeaseError`],
//! [`WatchError`]); each converts into the complete [`EtcdError`], which front ends (gRPC,
//! the browser console) map onto the wire exactly once.

use std::fmt;

/// gRPC status codes, numbered as in `grpc/codes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)] // the names are the gRPC ones
pub enum GrpcCode {
    Ok = 0,
    Canceled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

impl GrpcCode {
    /// The HTTP status etcd 3.4's JSON gateway (grpc-gateway v1) answers with for this code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Ok => 200,
            Self::Canceled => 408,
            Self::Unknown | Self::Internal | Self::DataLoss => 500,
            Self::InvalidArgument | Self::OutOfRange => 400,
            Self::DeadlineExceeded => 504,
            Self::NotFound => 404,
            Self::AlreadyExists | Self::Aborted => 409,
            Self::PermissionDenied => 403,
            Self::ResourceExhausted => 429,
            Self::FailedPrecondition => 412,
            Self::Unimplemented => 501,
            Self::Unavailable => 503,
            Self::Unauthenticated => 401,
        }
    }
}

/// Declares [`EtcdError`] from one table row per error: variant, gRPC code, exact message.
macro_rules! etcd_errors {
    ($($(#[$doc:meta])* $name:ident => $code:ident, $msg:literal;)+) => {
        /// Every error etcd 3.4 returns to clients as a gRPC status.
        ///
        /// The message is etcd's exact text; the code is etcd's gRPC code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum EtcdError {
            $($(#[$doc])* $name,)+
        }

        impl EtcdError {
            /// Every error, in table order (for tests and documentation).
            pub const ALL: &'static [EtcdError] = &[$(EtcdError::$name,)+];

            /// The gRPC status code etcd uses for this error.
            pub fn code(self) -> GrpcCode {
                match self { $(EtcdError::$name => GrpcCode::$code,)+ }
            }

            /// etcd's exact message text, e.g. `etcdserver: key is not provided`.
            pub fn message(self) -> &'static str {
                match self { $(EtcdError::$name => $msg,)+ }
            }
        }
    };
}

etcd_errors! {
    /// A request without a key (or a Compare with an empty key).
    EmptyKey => InvalidArgument, "etcdserver: key is not provided";
    /// `ignore_value`/`ignore_lease` on a missing key, or an empty `RequestOp` in a txn.
    KeyNotFound => InvalidArgument, "etcdserver: key not found";
    /// `ignore_value` together with a value.
    ValueProvided => InvalidArgument, "etcdserver: value is provided";
    /// `ignore_lease` together with a lease.
    LeaseProvided => InvalidArgument, "etcdserver: lease is provided";
    /// More than `max-txn-ops` compares, success or failure ops.
    TooManyOps => InvalidArgument, "etcdserver: too many operations in txn request";
    /// One txn branch writes the same key twice.
    DuplicateKey => InvalidArgument, "etcdserver: duplicate key given in txn request";
    /// A read, compaction or hash at a revision that compaction removed.
    Compacted => OutOfRange, "etcdserver: mvcc: required revision has been compacted";
    /// A read, compaction or hash above the current revision.
    FutureRev => OutOfRange, "etcdserver: mvcc: required revision is a future revision";
    /// A write while the NOSPACE alarm is active.
    NoSpace => ResourceExhausted, "etcdserver: mvcc: database space exceeded";
    /// Revoke, put or time-to-live of a lease that does not exist.
    LeaseNotFound => NotFound, "etcdserver: requested lease not found";
    /// Grant with an ID that is already in use.
    LeaseExist => FailedPrecondition, "etcdserver: lease already exists";
    /// Grant with a TTL above 9,000,000,000 s.
    LeaseTtlTooLarge => OutOfRange, "etcdserver: too large lease TTL";
    /// A watch stream closed by the server.
    WatchCanceled => Canceled, "etcdserver: watch canceled";
    /// Member add with an ID already present.
    MemberExist => FailedPrecondition, "etcdserver: member ID already exist";
    /// Member add/update with peer URLs another member has.
    PeerUrlExist => FailedPrecondition, "etcdserver: Peer URLs already exists";
    /// A membership change that would leave too few started members for quorum.
    MemberNotEnoughStarted => FailedPrecondition,
        "etcdserver: re-configuration failed due to not enough started members";
    /// Member URLs that do not parse.
    MemberBadUrls => InvalidArgument, "etcdserver: given member URLs are invalid";
    /// A member ID that is not in the cluster.
    MemberNotFound => NotFound, "etcdserver: member not found";
    /// Promote of a voting member.
    MemberNotLearner => FailedPrecondition, "etcdserver: can only promote a learner member";
    /// Promote of a learner that has not caught up.
    LearnerNotReady => FailedPrecondition,
        "etcdserver: can only promote a learner member which is in sync with leader";
    /// Adding a second learner.
    TooManyLearners => FailedPrecondition, "etcdserver: too many learner members in cluster";
    /// A request above `--max-request-bytes`.
    RequestTooLarge => InvalidArgument, "etcdserver: request is too large";
    /// committed − applied above 5000 entries.
    TooManyRequests => ResourceExhausted, "etcdserver: too many requests";
    /// Auth enable without a `root` user.
    RootUserNotExist => FailedPrecondition, "etcdserver: root user does not exist";
    /// Auth enable while `root` lacks the `root` role.
    RootRoleNotExist => FailedPrecondition, "etcdserver: root user does not have root role";
    /// User add of an existing user.
    UserAlreadyExist => FailedPrecondition, "etcdserver: user name already exists";
    /// A request without a user while auth is enabled.
    UserEmpty => InvalidArgument, "etcdserver: user name is empty";
    /// An unknown user.
    UserNotFound => FailedPrecondition, "etcdserver: user name not found";
    /// Role add of an existing role.
    RoleAlreadyExist => FailedPrecondition, "etcdserver: role name already exists";
    /// An unknown role.
    RoleNotFound => FailedPrecondition, "etcdserver: role name not found";
    /// Role add with an empty name.
    RoleEmpty => InvalidArgument, "etcdserver: role name is empty";
    /// Wrong user name or password.
    AuthFailed => InvalidArgument,
        "etcdserver: authentication failed, invalid user ID or password";
    /// An operation outside the user's permissions.
    PermissionDenied => PermissionDenied, "etcdserver: permission denied";
    /// Revoking a role the user does not have.
    RoleNotGranted => FailedPrecondition, "etcdserver: role is not granted to the user";
    /// Revoking a permission the role does not have.
    PermissionNotGranted => FailedPrecondition,
        "etcdserver: permission is not granted to the role";
    /// Authenticate while auth is disabled.
    AuthNotEnabled => FailedPrecondition, "etcdserver: authentication is not enabled";
    /// An expired or unknown token.
    InvalidAuthToken => Unauthenticated, "etcdserver: invalid auth token";
    /// A malformed auth management request.
    InvalidAuthMgmt => InvalidArgument, "etcdserver: invalid auth management";
    /// A token issued at an auth revision older than the member's.
    AuthOldRevision => InvalidArgument, "etcdserver: revision of auth store is old";
    /// The member knows no leader.
    NoLeader => Unavailable, "etcdserver: no leader";
    /// A leader-only operation on a follower.
    NotLeader => FailedPrecondition, "etcdserver: not leader";
    /// The leader changed while the request was in flight.
    LeaderChanged => Unavailable, "etcdserver: leader changed";
    /// The cluster version does not support the request.
    NotCapable => Unavailable, "etcdserver: not capable";
    /// The server is shutting down.
    Stopped => Unavailable, "etcdserver: server stopped";
    /// The request did not complete in time.
    Timeout => Unavailable, "etcdserver: request timed out";
    /// Timed out after the previous leader failed.
    TimeoutDueToLeaderFail => Unavailable,
        "etcdserver: request timed out, possibly due to previous leader failure";
    /// Timed out after losing the connection to peers.
    TimeoutDueToConnectionLost => Unavailable,
        "etcdserver: request timed out, possibly due to connection lost";
    /// Timed out waiting for the applied index to reach the read index.
    TimeoutWaitAppliedIndex => Unavailable,
        "etcdserver: request timed out, waiting for the applied index took too long";
    /// A membership change while peers are unreachable.
    Unhealthy => Unavailable, "etcdserver: unhealthy cluster";
    /// The CORRUPT alarm is active.
    Corrupt => DataLoss, "etcdserver: corrupt cluster";
    /// Anything but serializable Range and Status on a learner.
    NotSupportedForLearner => Unavailable, "etcdserver: rpc not supported for learner";
    /// Move-leader to a learner, an unstarted member or a non-member.
    BadLeaderTransferee => FailedPrecondition, "etcdserver: bad leader transferee";
}

impl fmt::Display for EtcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for EtcdError {}

/// Declares a family error enum whose variants are a subset of [`EtcdError`].
macro_rules! error_family {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl From<$name> for EtcdError {
            fn from(e: $name) -> Self {
                match e { $($name::$variant => EtcdError::$variant,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EtcdError::from(*self).message())
            }
        }

        impl std::error::Error for $name {}
    };
}

error_family! {
    /// Errors of `Range` (and of reading the store at a revision).
    RangeError {
        /// The request has no key.
        EmptyKey,
        /// The revision is below the compaction revision.
        Compacted,
        /// The revision is above the current revision.
        FutureRev,
    }
}

error_family! {
    /// Errors of `Put`.
    PutError {
        /// The request has no key.
        EmptyKey,
        /// `ignore_value` or `ignore_lease` on a key that does not exist.
        KeyNotFound,
        /// `ignore_value` with a value.
        ValueProvided,
        /// `ignore_lease` with a lease.
        LeaseProvided,
        /// The lease to attach does not exist.
        LeaseNotFound,
    }
}

error_family! {
    /// Errors of `DeleteRange`.
    DeleteError {
        /// The request has no key.
        EmptyKey,
    }
}

error_family! {
    /// Errors of `Txn`: its own limits plus whatever one of its operations can produce.
    TxnError {
        /// A compare or an operation has no key.
        EmptyKey,
        /// An empty operation, or `ignore_*` on a missing key.
        KeyNotFound,
        /// A put with `ignore_value` and a value.
        ValueProvided,
        /// A put with `ignore_lease` and a lease.
        LeaseProvided,
        /// A put attaches a lease that does not exist.
        LeaseNotFound,
        /// More operations than `max-txn-ops` in one list.
        TooManyOps,
        /// One branch writes the same key twice.
        DuplicateKey,
        /// A range reads below the compaction revision.
        Compacted,
        /// A range reads above the current revision.
        FutureRev,
    }
}

error_family! {
    /// Errors of `Compact`.
    CompactError {
        /// The revision is at or below the current compaction revision.
        Compacted,
        /// The revision is above the current revision.
        FutureRev,
    }
}

error_family! {
    /// Errors of `HashKV`.
    HashError {
        /// The revision is at or below the compaction revision.
        Compacted,
        /// The revision is above the current revision.
        FutureRev,
    }
}

error_family! {
    /// Errors of the lease operations (grant, revoke, keep-alive, time-to-live, checkpoint).
    LeaseError {
        /// The lease does not exist (or ID 0 was granted).
        LeaseNotFound,
        /// Grant with an ID that is in use.
        LeaseExist,
        /// Grant with a TTL above the maximum.
        LeaseTtlTooLarge,
        /// Keep-alive or time-to-live on a member that is not the primary lessor (the leader):
        /// the caller forwards the request to the leader.
        NotLeader,
    }
}

macro_rules! family_conversions {
    ($from:ident => $to:ident { $($variant:ident),+ }) => {
        impl From<$from> for $to {
            fn from(e: $from) -> Self {
                match e { $($from::$variant => $to::$variant,)+ }
            }
        }
    };
}

family_conversions!(RangeError => TxnError { EmptyKey, Compacted, FutureRev });
family_conversions!(PutError => TxnError {
    EmptyKey, KeyNotFound, ValueProvided, LeaseProvided, LeaseNotFound
});
family_conversions!(DeleteError => TxnError { EmptyKey });

/// Why a watch could not be created or canceled.
///
/// These are not gRPC statuses: etcd reports them inside a `WatchResponse` (`cancel_reason`)
/// or not at all, so their text is etcd's `mvcc:` error text (`mvcc/watcher.go`), without the
/// `etcdserver:` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WatchError {
    /// The client chose a watch ID that is already in use on the stream.
    DuplicateId,
    /// `range_end` is not after `key`.
    EmptyRange,
    /// Cancel of a watch ID that does not exist (etcd sends no response at all).
    NotFound,
    /// The stream does not exist (closed, or never opened).
    StreamNotFound,
}

impl WatchError {
    /// etcd's exact text, as it appears in `WatchResponse.cancel_reason`.
    pub fn message(self) -> &'static str {
        match self {
            Self::DuplicateId => "mvcc: duplicate watch ID provided on the WatchStream",
            Self::EmptyRange => "mvcc: watcher range is empty",
            Self::NotFound => "mvcc: watcher does not exist",
            // Not an etcd error: a host asked about a stream it already closed.
            Self::StreamNotFound => "orrery: watch stream does not exist",
        }
    }
}

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for WatchError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_unique_and_prefixed() {
        let mut seen = std::collections::BTreeSet::new();
        for e in EtcdError::ALL {
            assert!(e.message().starts_with("etcdserver: "), "{e:?}");
            assert!(seen.insert(e.message()), "duplicate message for {e:?}");
        }
        assert_eq!(EtcdError::ALL.len(), 52);
    }

    #[test]
    fn codes_and_http_status_match_etcd() {
        // Rows confirmed against a running etcd 3.4.23 (code number and gateway status).
        assert_eq!(EtcdError::Compacted.code() as i32, 11);
        assert_eq!(EtcdError::Compacted.code().http_status(), 400);
        assert_eq!(EtcdError::LeaseNotFound.code() as i32, 5);
        assert_eq!(EtcdError::AuthNotEnabled.code() as i32, 9);
        assert_eq!(EtcdError::AuthNotEnabled.code().http_status(), 412);
        assert_eq!(EtcdError::InvalidAuthToken.code() as i32, 16);
        assert_eq!(EtcdError::NoSpace.code().http_status(), 429);
        assert_eq!(EtcdError::NoLeader.code().http_status(), 503);
    }

    #[test]
    fn families_convert_to_the_same_message() {
        assert_eq!(
            RangeError::Compacted.to_string(),
            "etcdserver: mvcc: required revision has been compacted"
        );
        assert_eq!(
            TxnError::from(PutError::LeaseNotFound).to_string(),
            "etcdserver: requested lease not found"
        );
        assert_eq!(
            EtcdError::from(LeaseError::LeaseTtlTooLarge),
            EtcdError::LeaseTtlTooLarge
        );
    }
}
