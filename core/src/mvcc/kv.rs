//! The key-value records the store returns and the events watchers receive (etcd `mvccpb`).

use bytes::Bytes;

/// A key's state at one revision (etcd `mvccpb.KeyValue`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyValue {
    /// The key.
    pub key: Bytes,
    /// The revision of the key's latest creation.
    pub create_revision: i64,
    /// The revision of the key's latest modification.
    pub mod_revision: i64,
    /// 1 at creation, +1 per put; a delete resets it (a re-created key starts at 1 again).
    pub version: i64,
    /// The value.
    pub value: Bytes,
    /// The attached lease ID, or 0.
    pub lease: i64,
}

/// Whether an event is a put or a delete (etcd `mvccpb.Event.EventType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// The key was created or updated.
    Put,
    /// The key was deleted.
    Delete,
}

/// One change to one key (etcd `mvccpb.Event`).
///
/// A `Delete` event's `kv` holds only the key and `mod_revision` = the revision of the delete.
/// A `Put` whose `kv.version == 1` is a creation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// Put or delete.
    pub kind: EventType,
    /// The key after the change.
    pub kv: KeyValue,
    /// The key before the change, when the watcher asked for it and history still has it.
    pub prev_kv: Option<KeyValue>,
}

impl Event {
    /// Whether this event created its key (a put at version 1).
    pub fn is_create(&self) -> bool {
        self.kind == EventType::Put && self.kv.version == 1
    }
}
