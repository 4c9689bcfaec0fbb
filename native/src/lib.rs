//! Orrery's native node: durable storage and (as the native-node issue progresses) the gRPC
//! server around `orrery-core`'s member.
//!
//! | module | etcd counterpart | what |
//! |---|---|---|
//! | [`backend`] | `mvcc/backend` | the applied state in redb, with its consistent index |
//! | [`bench`](mod@bench) | `tools/benchmark` | the load generator `cargo xtask bench` drives both with |
//! | [`backup`] | `snapshot` | the file `etcdctl snapshot save` writes |
//! | [`compactor`] | `v3compactor` | periodic and revision auto-compaction, on the leader |
//! | [`convert`] | `v3rpc` | protobuf ↔ core requests and responses, in one place |
//! | [`recover`] | `etcdserver` (restart) | starting a member from its WAL, snapshot files and backend |
//! | [`pb`] | `etcdserverpb`, `mvccpb`, `authpb` | the generated v3 API types and services |
//! | [`grpc`] | `etcdserver/api/v3rpc` | the gRPC services |
//! | [`node`] | `etcdserver` (run loop) | the task that owns the member: ticks, persist-then-send, replies |
//! | [`wal`] | `wal/` | the write-ahead log: segmented, CRC-32C framed, fsynced, torn-tail repair |
//! | [`status`] | `rpctypes` | etcd errors as gRPC statuses |
//! | [`transport`] | `rafthttp` | member-to-member streams, bounded queues, reconnects |
//! | [`snap`] | `etcdserver/api/snap` | Raft snapshot files |
//! | [`embed`] | `embed` | start a whole member from its flags (binary and in-process tests) |
//! | [`http`] | `etcdhttp` | `/health`, `/version`, `/metrics` on the client port |
//! | [`metrics`] | `prometheus` collectors | the numbers `/metrics` exports, under etcd's names |
//! | [`data_dir`] | `fileutil.TryLockFile` | the data-dir layout and its exclusive lock |
#![deny(missing_docs)]

pub mod backend;
pub mod backup;
pub mod bench;
pub mod compactor;
pub mod convert;
pub mod data_dir;
pub mod deferred_flush;
pub mod embed;
pub mod flags;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod node;
pub mod pb;
pub mod recover;
pub mod snap;
pub mod status;
pub mod transport;
pub mod wal;
