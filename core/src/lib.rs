//! Orrery's deterministic core: etcd 3.4's storage semantics as a sans-IO state machine.
//!
//! Nothing in this crate touches a socket, a file, a clock, a thread or an unseeded random
//! number: time is a number the caller passes in, and the same inputs give bit-identical
//! outputs on every platform, native and wasm32. The native node (`orrery`) and the browser
//! playground drive the same code.
//!
//! ```text
//!   client request ──> request::validate ──(Raft, later)──> apply::StateMachine::apply(now, req)
//!                                                               │          │
//!                                   Response (etcd semantics) <─┘          │ events
//!   lease deadlines:  promote / expired_leases(now) ──> leader proposes     ▼
//!                     LeaseRevoke through Raft                      watch streams ──poll──> client
//! ```
//!
//! | module | etcd counterpart | what |
//! |---|---|---|
//! | [`mvcc`] | `mvcc/` | revisions, key index with generations, the store, compaction, `HashKV` |
//! | [`lease`] | `lease/` | lessor on logical time: grant, revoke, renew, expiry reports, checkpoints |
//! | [`watch`] | `mvcc/watchable_store.go`, `v3rpc/watch.go` | streams, synced/unsynced watchers, fragments |
//! | [`request`] | `etcdserverpb`, `v3rpc/key.go` | requests, responses, pre-Raft validation |
//! | [`apply`] | `etcdserver/apply.go` | [`StateMachine`]: the only writer of replicated state |
//! | [`snapshot`] | bbolt snapshot | versioned, checksummed encoding of the replicated state |
//! | [`error`] | `rpctypes/error.go` | every etcd error string and gRPC code, in one place |
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod alarm;
pub mod apply;
pub mod backend;
pub mod cluster;
pub mod ctl;
pub mod error;
pub mod lease;
pub mod mvcc;
pub mod playground;
pub mod request;
pub mod server;
pub mod sim;
pub mod snapshot;
pub mod watch;
pub mod wire;

pub use apply::{Config, StateMachine};
pub use error::{EtcdError, GrpcCode};
