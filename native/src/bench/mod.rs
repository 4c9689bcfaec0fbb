//! The load generator behind `cargo xtask bench` (binary `orrery-bench`): drives any etcd v3
//! endpoint (Orrery or etcd) through tonic clients built from our protos (over [`Conn`]),
//! with a chosen number of connections and requests in flight, and reports throughput and
//! latency percentiles from an HDR-style [`histogram::Histogram`] as one JSON line.
//!
//! | workload | what each operation is |
//! |---|---|
//! | `put` | a put of `--value-size` bytes to a random key of `--key-space` (or to key *i* for operation *i* with `--sequential-keys`) |
//! | `get` | a linearizable get of a random key of `--key-space` (written first) |
//! | `get-serializable` | the same, serializable |
//! | `txn` | compare-and-put: `if mod(k) >= 0 then put(k)` on a random key |
//! | `watch` | `--watchers` watchers on one prefix, `--ops` puts under it: latency is put to delivery, throughput is events delivered per second |
//! | `failover-probe` | a put every 10 ms (each waiting up to 2 s), round robin over the endpoints, until one succeeds: `seconds` is how long that took |
//! | `wait-leader` | waits until an endpoint reports a leader |

mod conn;
pub mod histogram;
mod workloads;

pub use conn::Conn;

use crate::pb::etcdserverpb::kv_client::KvClient;
use crate::pb::etcdserverpb::maintenance_client::MaintenanceClient;
use crate::pb::etcdserverpb::StatusRequest;
use histogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Puts.
    Put,
    /// Linearizable gets.
    Get,
    /// Serializable gets.
    GetSerializable,
    /// Compare-and-put txns.
    Txn,
    /// Watch fan-out.
    Watch,
    /// Time until a write succeeds (after the leader was killed).
    FailoverProbe,
    /// Wait until a leader is known.
    WaitLeader,
}

impl Workload {
    /// Parses a workload's name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "put" => Self::Put,
            "get" => Self::Get,
            "get-serializable" => Self::GetSerializable,
            "txn" => Self::Txn,
            "watch" => Self::Watch,
            "failover-probe" => Self::FailoverProbe,
            "wait-leader" => Self::WaitLeader,
            _ => return None,
        })
    }
}

/// How to run it.
#[derive(Clone, Debug)]
pub struct Options {
    /// `host:port` of each member.
    pub endpoints: Vec<String>,
    /// The workload.
    pub workload: Workload,
    /// Operations (puts for `watch`).
    pub ops: u64,
    /// gRPC connections (HTTP/2 channels), spread over the endpoints.
    pub connections: usize,
    /// Requests in flight at once.
    pub in_flight: usize,
    /// Keys to choose from.
    pub key_space: u64,
    /// Operation *i* writes key *i* (loads distinct keys).
    pub sequential_keys: bool,
    /// Value size, bytes.
    pub value_size: usize,
    /// Watchers, for `watch`.
    pub watchers: usize,
    /// Seed of the key choice.
    pub seed: u64,
}

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Operations that succeeded (events delivered, for `watch`).
    pub ok: u64,
    /// Operations that failed.
    pub errors: u64,
    /// Wall time of the measured part.
    pub seconds: f64,
    /// Latencies, µs.
    pub latency: Histogram,
    /// The first error seen, to say why.
    pub first_error: Option<String>,
    /// For `wait-leader`: the index (in `--endpoints`) of the leader.
    pub leader: Option<usize>,
}

impl Report {
    /// One JSON object, on one line.
    pub fn to_json(&self, workload: &str) -> String {
        let ms = |q: f64| self.latency.quantile(q) as f64 / 1000.0;
        format!(
            "{{\"workload\":\"{workload}\",\"ok\":{},\"errors\":{},\"seconds\":{:.4},\"throughput\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"p999_ms\":{:.3},\"max_ms\":{:.3}{}}}",
            self.ok,
            self.errors,
            self.seconds,
            self.ok as f64 / self.seconds.max(1e-9),
            ms(0.5),
            ms(0.99),
            ms(0.999),
            self.latency.max() as f64 / 1000.0,
            self.first_error
                .as_ref()
                .map(|e| format!(",\"first_error\":{e:?}"))
                .unwrap_or_default()
                + &self
                    .leader
                    .map(|l| format!(",\"leader\":{l}"))
                    .unwrap_or_default()
        )
    }

    fn fail(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }
}

/// Connects `n` connections, round robin over the endpoints.
pub async fn connect(endpoints: &[String], n: usize) -> Result<Vec<Conn>, String> {
    let mut conns = Vec::with_capacity(n);
    for i in 0..n.max(1) {
        conns.push(Conn::connect(&endpoints[i % endpoints.len()]).await?);
    }
    Ok(conns)
}

/// How long `wait-leader` waits for one answer.
const ASK_LIMIT: Duration = Duration::from_secs(2);

/// How long the requests in flight may all go unanswered before a run fails.
const STALL_LIMIT: Duration = Duration::from_secs(10);

/// Fails once `started` (operations begun) stays the same for [`STALL_LIMIT`]: every
/// request in flight is stuck, so the member stopped answering.
async fn stalled(started: &AtomicU64) -> String {
    let (mut last, mut since) = (started.load(Ordering::Relaxed), Instant::now());
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = started.load(Ordering::Relaxed);
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() >= STALL_LIMIT {
            return format!("no request was answered for {STALL_LIMIT:?}");
        }
    }
}

/// Waits for every task, failing instead once the run stalls (see [`stalled`]).
async fn join_unless_stalled<T>(
    tasks: Vec<tokio::task::JoinHandle<T>>,
    started: &AtomicU64,
) -> Result<Vec<T>, String> {
    let gather = async {
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            out.push(task.await.map_err(|e| e.to_string())?);
        }
        Ok(out)
    };
    tokio::select! {
        r = gather => r,
        e = stalled(started) => Err(e),
    }
}

/// Runs a workload.
pub async fn run(opts: &Options) -> Result<Report, String> {
    match opts.workload {
        Workload::WaitLeader => wait_leader(&opts.endpoints).await,
        Workload::FailoverProbe => workloads::failover_probe(&opts.endpoints).await,
        Workload::Watch => workloads::watch_fan_out(opts).await,
        _ => workloads::requests(opts).await,
    }
}

/// Polls every endpoint's status until one says it leads and takes a write (30 s at most).
async fn wait_leader(endpoints: &[String]) -> Result<Report, String> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        for (i, addr) in endpoints.iter().enumerate() {
            let Ok(conn) = Conn::connect(addr).await else {
                continue;
            };
            let mut m = MaintenanceClient::new(conn.clone());
            // A member still starting may take the request and not answer yet.
            let status = tokio::time::timeout(ASK_LIMIT, m.status(StatusRequest {})).await;
            if let Ok(Ok(s)) = status {
                let s = s.get_ref();
                let me = s.header.as_ref().map_or(0, |h| h.member_id);
                if s.leader != 0 && s.leader == me {
                    // A write must also work (etcd answers status before it can serve).
                    let mut kv = KvClient::new(conn);
                    let put = workloads::put_once(&mut kv, b"bench/ready", b"1");
                    if let Ok(Ok(())) = tokio::time::timeout(ASK_LIMIT, put).await {
                        return Ok(Report {
                            ok: 1,
                            seconds: start.elapsed().as_secs_f64(),
                            leader: Some(i),
                            ..Report::default()
                        });
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("no leader within 30 s".into())
}
