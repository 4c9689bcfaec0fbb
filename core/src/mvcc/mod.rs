//! Multi-version concurrency control: the revisioned key-value store (etcd `mvcc/`).

mod cold;
mod hash;
mod key_index;
mod key_range;
mod kv;
mod record_log;
mod revision;
mod store;

pub use cold::ValueReader;
pub use hash::HashKv;
pub use key_index::{Generation, KeyIndex};
pub use key_range::{prefix_end, KeyBounds, KeyRange};
pub use kv::{Event, EventType, KeyValue};
pub use revision::Revision;
pub use store::{Change, ReadOptions, ReadResult, Store, WriteTxn};

pub(crate) use store::{Record, RECORD_OVERHEAD};
