//! The generated protobuf types and tonic services of etcd's v3 API (`native/proto/`).
#![allow(missing_docs, clippy::all, clippy::use_self)]

/// `mvccpb`: KeyValue and Event.
pub mod mvccpb {
    tonic::include_proto!("mvccpb");
}

/// `authpb`: users, roles and permissions.
pub mod authpb {
    tonic::include_proto!("authpb");
}

/// `orrerypeerpb`: the member-to-member stream.
pub mod orrerypeerpb {
    tonic::include_proto!("orrerypeerpb");
}

/// `etcdserverpb`: the KV, Watch, Lease, Cluster, Maintenance and Auth services.
pub mod etcdserverpb {
    tonic::include_proto!("etcdserverpb");
}
