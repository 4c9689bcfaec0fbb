//! Starting a member from its data dir (etcd `etcdserver.NewServer`'s restart path): the WAL,
//! the newest good snapshot file and the backend are read, and the member starts from the
//! newest of the snapshot file and the backend, replaying only the WAL entries after it.

use crate::backend::writer::Committed;
use crate::backend::{Backend, BackendError};
use crate::data_dir::DataDir;
use crate::node::NodeConfig;
use crate::snap::SnapDir;
use crate::wal::Wal;
use orrery_core::backend::StoredState;
use orrery_core::server::{DurableState, Server};
use std::path::Path;

/// What a started member runs on.
pub struct Recovered {
    /// The member.
    pub server: Server,
    /// The log, open for appending.
    pub wal: Wal,
    /// The snapshot files.
    pub snaps: SnapDir,
    /// The applied state.
    pub backend: Backend,
    /// The member started from the backend's state: its applied index and revision.
    pub from_backend: Option<Committed>,
}

/// Recovers the member (or bootstraps or joins it, if its data dir holds nothing yet).
pub fn recover(config: &NodeConfig, dir: &DataDir, seed: u64) -> Result<Recovered, String> {
    let (wal, replayed) = Wal::open(&dir.wal).map_err(|e| e.to_string())?;
    if replayed.repaired_bytes > 0 {
        tracing::warn!(bytes = replayed.repaired_bytes, "repaired a torn WAL tail");
    }
    let snaps = SnapDir::open(&dir.snap).map_err(|e| e.to_string())?;
    let (snapshot, damaged) = snaps.load_newest().map_err(|e| e.to_string())?;
    for d in damaged {
        tracing::warn!(file = %d.display(), "skipped a damaged snapshot file");
    }
    let (backend, stored) = open_backend(&dir.snap.join("db"))?;
    let cannot = |e: &dyn std::fmt::Display| {
        format!("cannot restart from {}: {e}", config.data_dir.display())
    };
    let mut from_backend = None;
    let server = match snapshot {
        Some(snapshot) => {
            let mut durable = DurableState {
                hard_state: replayed.hard_state,
                snapshot,
                entries: replayed.entries,
                backend_current: false,
            };
            let file_index = durable.snapshot.get_metadata().index;
            match stored {
                Some(state) if state.index >= file_index => {
                    tracing::info!(
                        consistent_index = state.index,
                        revision = state.revision,
                        "restarting member from its backend"
                    );
                    from_backend = Some(Committed {
                        index: state.index,
                        revision: state.revision,
                    });
                    durable.snapshot = state.into_snapshot().map_err(|e| cannot(&e))?;
                    durable.backend_current = true;
                }
                _ => tracing::info!(index = file_index, "restarting member from a snapshot file"),
            }
            let replay = durable.snapshot.get_metadata().index;
            let later = durable.entries.iter().filter(|e| e.index > replay).count();
            tracing::info!(entries = later, "replaying the WAL");
            Server::restart(config.server.clone(), seed, durable).map_err(|e| cannot(&e))?
        }
        None if config.joining => {
            tracing::info!("joining an existing cluster");
            Server::join(config.server.clone(), seed)
        }
        None => {
            tracing::info!(
                members = config.initial_cluster.len(),
                "starting a new cluster"
            );
            Server::bootstrap(config.server.clone(), seed, config.initial_cluster.clone())
        }
    };
    Ok(Recovered {
        server,
        wal,
        snaps,
        backend,
        from_backend,
    })
}

/// Opens the backend and reads it. A damaged one is set aside as `db.damaged` and started
/// afresh: the snapshot file and the WAL hold everything it held (the WAL keeps every entry
/// after the newest snapshot file), and the member rewrites it at start. One written by a
/// newer Orrery is refused rather than overwritten.
fn open_backend(path: &Path) -> Result<(Backend, Option<StoredState>), String> {
    let loaded = Backend::open(path).and_then(|b| {
        let state = b.load()?;
        Ok((b, state))
    });
    match loaded {
        Ok(x) => Ok(x),
        Err(e @ BackendError::NewerFormat(..)) => Err(e.to_string()),
        Err(e) => {
            let aside = path.with_extension("damaged");
            tracing::warn!(
                error = %e,
                moved_to = %aside.display(),
                "the backend is damaged; rebuilding it from the snapshot file and the WAL"
            );
            std::fs::rename(path, &aside)
                .map_err(|io| format!("cannot move the damaged backend aside: {io}"))?;
            let b = Backend::open(path).map_err(|e| e.to_string())?;
            Ok((b, None))
        }
    }
}
