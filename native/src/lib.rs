//! Orrery's native node: durable storage and (as the native-node issue progresses) the gRPC
//! server around `orrery-core`'s member.
//!
//! | module | etcd counterpart | what |
//! |---|---|---|
//! | [`wal`] | `wal/` | the write-ahead log: segmented, CRC-32C framed, fsynced, torn-tail repair |
//! | [`snap`] | `etcdserver/api/snap` | Raft snapshot files |
//! | [`data_dir`] | `fileutil.TryLockFile` | the data-dir layout and its exclusive lock |
#![deny(missing_docs)]

pub mod data_dir;
pub mod snap;
pub mod wal;
