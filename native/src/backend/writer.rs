//! The backend's own thread (etcd's backend batch transaction, committed by its own
//! goroutine): the node task hands it the applied changes and goes on; they are written all
//! in **one durable redb transaction every 100 ms** ([`BackendWriter::tick`]) or as soon as
//! [`MAX_PENDING_RECORDS`] are waiting. The changes wait on the node's side and go to the
//! thread together with the commit: waking the thread for each applied batch cost every
//! sequential put two context switches, and the thread has nothing to do with them before.
//!
//! Why: a redb commit costs a tree update and, when durable, an fsync of milliseconds to
//! tens of milliseconds. Done in the node task, every client waited for it (p99 of puts)
//! and every Ready paid a transaction. Off the node task, neither happens; nothing is lost
//! by waiting, because the WAL already holds every applied entry durably and a restart
//! replays the WAL from the backend's last durable index (see [`super`]).
//!
//! Order: jobs are done in the order sent, so the backend always holds a prefix of what
//! was applied. Bounds: at most [`MAX_PENDING_RECORDS`] records (plus the batch that passed
//! the bound) wait to be sent, and at most
//! `QUEUE` (8) jobs wait in the channel: the node waits beyond that (backpressure).

use super::{Backend, BackendError};
use orrery_core::backend::AppliedChanges;
use tokio::sync::{mpsc, oneshot, watch};

/// Jobs waiting for the thread before [`BackendWriter::apply`] waits. A commit job carries
/// up to 100 ms or [`MAX_PENDING_RECORDS`] records of changes.
const QUEUE: usize = 8;
/// Records waiting for their commit before they are committed without waiting for a tick
/// (etcd's `batchLimit` is 10 000 writes).
pub const MAX_PENDING_RECORDS: usize = 10_000;

enum Job {
    /// Commit these batches (the 100 ms cadence, or [`MAX_PENDING_RECORDS`] were waiting).
    Commit(Vec<AppliedChanges>),
    /// Answer once every earlier commit is durable.
    Flush(oneshot::Sender<Result<(), String>>),
    /// Rewrite the file without free pages (after the earlier commits); answer its size
    /// before and after.
    Compact(oneshot::Sender<Result<(u64, u64), String>>),
}

/// The node's side of the backend thread.
pub struct BackendWriter {
    jobs: mpsc::Sender<Job>,
    /// Handed over since the last job went to the thread.
    pending: Vec<AppliedChanges>,
    /// Records written and removed by `pending` (bounded by [`MAX_PENDING_RECORDS`]).
    pending_records: usize,
    thread: Option<std::thread::JoinHandle<()>>,
    committed: watch::Receiver<Committed>,
}

/// The last batch a commit included: its applied index and store revision (what
/// [`orrery_core::server::Input::ValuesStored`] reports). Both 0 before the first commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// The applied index of the batch.
    pub index: u64,
    /// The store revision as of the batch.
    pub revision: i64,
}

/// The backend thread stopped (after a write failed; it logged why).
#[derive(Debug)]
pub struct WriterStopped;

impl BackendWriter {
    /// Moves the backend to its own thread.
    pub fn spawn(backend: Backend) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let (committed_tx, committed) = watch::channel(Committed::default());
        let thread = std::thread::Builder::new()
            .name("backend".into())
            .spawn(move || run(backend, rx, committed_tx))?;
        Ok(Self {
            jobs,
            pending: Vec::new(),
            pending_records: 0,
            thread: Some(thread),
            committed,
        })
    }

    /// Follows the commits (the latest one; every commit marks it changed).
    pub fn committed(&self) -> watch::Receiver<Committed> {
        self.committed.clone()
    }

    /// Hands over one applied batch (written at the next commit).
    pub async fn apply(&mut self, changes: AppliedChanges) -> Result<(), WriterStopped> {
        self.pending_records += changes.state.records.len() + changes.state.removed.len();
        self.pending.push(changes);
        if self.pending_records >= MAX_PENDING_RECORDS {
            self.tick().await?;
        }
        Ok(())
    }

    /// Asks for a commit of everything handed over so far (not waiting for it).
    pub async fn tick(&mut self) -> Result<(), WriterStopped> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.pending_records = 0;
        let batches = std::mem::take(&mut self.pending);
        self.send(Job::Commit(batches)).await
    }

    /// Commits everything handed over so far and waits until it is durable.
    pub async fn flush(&mut self) -> Result<(), String> {
        self.ask(Job::Flush).await
    }

    /// Commits, then compacts the file; its size before and after.
    pub async fn compact(&mut self) -> Result<(u64, u64), String> {
        self.ask(Job::Compact).await
    }

    /// Sends what is waiting, then a job that answers, and waits for the answer.
    async fn ask<T>(
        &mut self,
        job: impl FnOnce(oneshot::Sender<Result<T, String>>) -> Job,
    ) -> Result<T, String> {
        const STOPPED: &str = "the backend thread stopped";
        let (reply, rx) = oneshot::channel();
        self.tick().await.map_err(|_| STOPPED.to_string())?;
        self.send(job(reply))
            .await
            .map_err(|_| STOPPED.to_string())?;
        rx.await.unwrap_or_else(|_| Err(STOPPED.into()))
    }

    async fn send(&self, job: Job) -> Result<(), WriterStopped> {
        self.jobs.send(job).await.map_err(|_| WriterStopped)
    }

    /// Commits what is waiting and stops the thread (waits for it).
    pub async fn close(mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        if self.tick().await.is_err() {
            tracing::error!("the backend could not be synced at shutdown");
        }
        drop(self.jobs);
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

/// Commits `batches` in one transaction and reports the last one.
fn commit(
    backend: &Backend,
    batches: &[AppliedChanges],
    committed: &watch::Sender<Committed>,
) -> Result<(), BackendError> {
    backend.commit(batches)?;
    if let Some(last) = batches.last() {
        committed.send_replace(Committed {
            index: last.index,
            revision: last.state.revision,
        });
    }
    Ok(())
}

/// The thread: commits what it is sent, in order (a commit job holds at most
/// [`MAX_PENDING_RECORDS`] records, plus what the batch that passed the bound brought).
fn run(mut backend: Backend, mut rx: mpsc::Receiver<Job>, committed: watch::Sender<Committed>) {
    while let Some(job) = rx.blocking_recv() {
        // Every earlier job's batches are committed and durable by now.
        let done: Result<(), BackendError> = match job {
            Job::Commit(batches) => commit(&backend, &batches, &committed),
            Job::Flush(reply) => {
                let _ = reply.send(Ok(()));
                Ok(())
            }
            Job::Compact(reply) => {
                let before = backend.file_size();
                let done = backend.compact();
                let answer = match &done {
                    Ok(_) => Ok((before, backend.file_size())),
                    Err(e) => Err(e.to_string()),
                };
                let _ = reply.send(answer);
                done.map(|_| ())
            }
        };
        if let Err(e) = done {
            // Dropping the receiver makes the node's next send fail: it stops too.
            tracing::error!(error = %e, "the backend cannot be written; its thread stops");
            return;
        }
    }
}
