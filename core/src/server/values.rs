//! Values kept on the host's disk instead of in memory (see [`crate::mvcc::ValueReader`]).
//!
//! A host whose backend stores every applied batch ([`super::Output::Applied`]) gives the
//! member a reader of that backend, then reports each commit ([`super::Input::ValuesStored`]).
//! The member drops the values the backend holds; reads, watch catch-up, snapshots and
//! hashes read them back. A report is trusted only for batches applied since the state was
//! last replaced (a snapshot install, or a start from a snapshot the backend did not have):
//! earlier batches describe a state the backend is about to forget.

use super::Server;
use crate::mvcc::ValueReader;
use std::sync::Arc;

impl Server {
    /// Lets the member keep values on the host's disk, read back through `reader`.
    pub fn set_value_reader(&mut self, reader: Arc<dyn ValueReader>) {
        self.sm.set_value_reader(reader);
    }

    /// [`super::Input::ValuesStored`].
    pub(super) fn on_values_stored(&mut self, index: u64, revision: i64) {
        if index >= self.state_replaced_at {
            self.sm.evict_values(revision);
        }
    }
}
