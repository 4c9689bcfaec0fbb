//! Client histories: what each simulated client asked, when, and what it was told.

use bytes::Bytes;

/// One client operation on one key, as the linearizability checker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The client that issued it (a client has at most one operation outstanding).
    pub client: u64,
    /// Virtual time the request was sent, in ms.
    pub invoke_ms: u64,
    /// Virtual time the answer arrived; `None` if it never did or the answer was an error
    /// that leaves the outcome unknown (a timeout): the operation may have taken effect at
    /// any time after `invoke_ms`, or never.
    pub complete_ms: Option<u64>,
    /// What was asked.
    pub call: Call,
    /// What the answer said; `None` exactly when `complete_ms` is `None`.
    pub outcome: Option<Outcome>,
}

/// A single-key request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// A linearizable get.
    Get {
        /// The key.
        key: Bytes,
    },
    /// A put.
    Put {
        /// The key.
        key: Bytes,
        /// The value (unique per put in generated workloads).
        value: Bytes,
    },
    /// A delete of one key.
    Delete {
        /// The key.
        key: Bytes,
    },
    /// A txn: if the key's value equals `expected` (`None` = the key is absent), put `new`.
    Cas {
        /// The key.
        key: Bytes,
        /// The value compared with.
        expected: Option<Bytes>,
        /// The value written on success.
        new: Bytes,
    },
}

impl Call {
    /// The key the call touches.
    pub fn key(&self) -> &Bytes {
        match self {
            Self::Get { key } | Self::Put { key, .. } | Self::Delete { key } => key,
            Self::Cas { key, .. } => key,
        }
    }
}

/// What a completed call returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The value read (`None` = absent).
    Get(Option<Bytes>),
    /// The put succeeded.
    Put,
    /// How many keys the delete removed (0 or 1).
    Delete {
        /// Removed keys.
        deleted: i64,
    },
    /// Whether the compare held (and the put ran).
    Cas {
        /// The compare held.
        succeeded: bool,
    },
}
