//! The workloads' loops: `in_flight` tasks share one operation counter, each with its own
//! histogram (merged at the end), so the generator itself takes no lock per request.

use super::histogram::Histogram;
use super::{connect, join_unless_stalled, Conn, Options, Report, Workload};
use crate::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use crate::pb::etcdserverpb::kv_client::KvClient;
use crate::pb::etcdserverpb::request_op::Request;
use crate::pb::etcdserverpb::watch_client::WatchClient;
use crate::pb::etcdserverpb::watch_request::RequestUnion;
use crate::pb::etcdserverpb::{
    Compare, PutRequest, RangeRequest, RequestOp, TxnRequest, WatchCreateRequest, WatchRequest,
};
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keys written before a read workload, at most (the rest of the key space reads as absent).
const MAX_PRELOAD: u64 = 100_000;
/// How long a watch run waits for the last deliveries after its last put.
const WATCH_DRAIN: Duration = Duration::from_secs(30);
/// How long a watch stream may take to answer its opening.
const WATCH_OPEN_LIMIT: Duration = Duration::from_secs(10);
/// How long the failover probe tries.
const PROBE_LIMIT: Duration = Duration::from_secs(60);

/// splitmix64: a tiny seeded generator for key choice (no dependency, same on every run).
struct KeyRng(u64);

impl KeyRng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % below.max(1)
    }
}

fn key(i: u64) -> Bytes {
    Bytes::from(format!("bench/{i:08}"))
}

fn put_request(key: &[u8], value: &[u8]) -> PutRequest {
    PutRequest {
        key: Bytes::copy_from_slice(key),
        value: Bytes::copy_from_slice(value),
        ..PutRequest::default()
    }
}

pub(super) async fn put_once(
    kv: &mut KvClient<Conn>,
    key: &[u8],
    value: &[u8],
) -> Result<(), tonic::Status> {
    kv.put(put_request(key, value)).await.map(|_| ())
}

/// put, get, get-serializable and txn.
pub(super) async fn requests(opts: &Options) -> Result<Report, String> {
    let channels = connect(&opts.endpoints, opts.connections).await?;
    let value = Bytes::from(vec![b'v'; opts.value_size]);
    if matches!(opts.workload, Workload::Get | Workload::GetSerializable) {
        preload(&channels, opts.key_space.min(MAX_PRELOAD), &value).await?;
    }
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(opts.in_flight);
    for t in 0..opts.in_flight.max(1) {
        let mut kv = KvClient::new(channels[t % channels.len()].clone());
        let (next, value, opts) = (next.clone(), value.clone(), opts.clone());
        tasks.push(tokio::spawn(async move {
            let mut report = Report::default();
            let mut rng = KeyRng(opts.seed ^ (t as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= opts.ops {
                    break;
                }
                let k = if opts.sequential_keys {
                    key(i)
                } else {
                    key(rng.next(opts.key_space))
                };
                let began = Instant::now();
                let result = match opts.workload {
                    Workload::Put => kv
                        .put(PutRequest {
                            key: k,
                            value: value.clone(),
                            ..PutRequest::default()
                        })
                        .await
                        .map(|_| ()),
                    Workload::Get | Workload::GetSerializable => kv
                        .range(RangeRequest {
                            key: k,
                            serializable: opts.workload == Workload::GetSerializable,
                            ..RangeRequest::default()
                        })
                        .await
                        .map(|_| ()),
                    _ => kv.txn(compare_and_put(k, value.clone())).await.map(|_| ()),
                };
                match result {
                    Ok(()) => {
                        report.ok += 1;
                        report.latency.record(began.elapsed().as_micros() as u64);
                    }
                    Err(e) => report.fail(e.message()),
                }
            }
            report
        }));
    }
    let mut total = Report::default();
    for r in join_unless_stalled(tasks, &next).await? {
        total.ok += r.ok;
        total.errors += r.errors;
        total.latency.merge(&r.latency);
        total.first_error = total.first_error.or(r.first_error);
    }
    total.seconds = start.elapsed().as_secs_f64();
    Ok(total)
}

/// `if mod(k) >= 0 then put(k, v)`: a compare that always holds, then a write.
fn compare_and_put(k: Bytes, value: Bytes) -> TxnRequest {
    TxnRequest {
        compare: vec![Compare {
            result: CompareResult::Greater as i32,
            target: CompareTarget::Mod as i32,
            key: k.clone(),
            range_end: Bytes::new(),
            target_union: Some(TargetUnion::ModRevision(-1)),
        }],
        success: vec![RequestOp {
            request: Some(Request::RequestPut(PutRequest {
                key: k,
                value,
                ..PutRequest::default()
            })),
        }],
        failure: Vec::new(),
    }
}

/// Writes keys `0..n` (64 at a time) before a read workload; not measured.
async fn preload(channels: &[Conn], n: u64, value: &Bytes) -> Result<(), String> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks: Vec<tokio::task::JoinHandle<Result<(), String>>> = Vec::new();
    for t in 0..64 {
        let mut kv = KvClient::new(channels[t % channels.len()].clone());
        let (next, value) = (next.clone(), value.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok(());
                }
                put_once(&mut kv, &key(i), &value)
                    .await
                    .map_err(|e| format!("preload: {}", e.message()))?;
            }
        }));
    }
    join_unless_stalled(tasks, &next)
        .await
        .map_err(|e| format!("preload: {e}"))?
        .into_iter()
        .collect()
}

/// `watchers` watchers on `bench/` over `connections` streams, then `ops` puts (16 in
/// flight) whose values carry their send time: each delivery's latency is measured.
pub(super) async fn watch_fan_out(opts: &Options) -> Result<Report, String> {
    let channels = connect(&opts.endpoints, opts.connections).await?;
    let origin = Instant::now();
    let delivered = Arc::new(AtomicU64::new(0));
    let last_delivery_us = Arc::new(AtomicU64::new(0));
    let mut receivers = Vec::new();
    let mut created = Vec::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let streams = channels.len();
    for (s, channel) in channels.iter().enumerate() {
        let watchers = opts.watchers / streams + usize::from(s < opts.watchers % streams);
        let (tx, rx) = tokio::sync::mpsc::channel(watchers.max(1));
        for _ in 0..watchers {
            let create = WatchRequest {
                request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                    key: Bytes::from_static(b"bench/"),
                    range_end: Bytes::from_static(b"bench0"),
                    ..WatchCreateRequest::default()
                })),
            };
            tx.send(create).await.map_err(|e| e.to_string())?;
        }
        let mut client = WatchClient::new(channel.clone());
        let opened = client.watch(tokio_stream::wrappers::ReceiverStream::new(rx));
        let mut stream = tokio::time::timeout(WATCH_OPEN_LIMIT, opened)
            .await
            .map_err(|_| format!("watch: no answer within {WATCH_OPEN_LIMIT:?}"))?
            .map_err(|e| format!("watch: {}", e.message()))?
            .into_inner();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        created.push(ready_rx);
        let (delivered, last) = (delivered.clone(), last_delivery_us.clone());
        let mut stop = stop_rx.clone();
        receivers.push(tokio::spawn(async move {
            let _keep_open = tx;
            let mut latency = Histogram::default();
            let (mut made, mut ready_tx) = (0, Some(ready_tx));
            if watchers == 0 {
                let _ = ready_tx.take().map(|r| r.send(()));
            }
            loop {
                let resp = tokio::select! {
                    m = stream.message() => match m {
                        Ok(Some(resp)) => resp,
                        _ => break,
                    },
                    _ = stop.changed() => break,
                };
                if resp.created {
                    made += 1;
                    if made == watchers {
                        let _ = ready_tx.take().map(|r| r.send(()));
                    }
                }
                let now = origin.elapsed().as_micros() as u64;
                for ev in &resp.events {
                    let Some(kv) = &ev.kv else { continue };
                    let sent = kv
                        .value
                        .get(..8)
                        .map_or(now, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
                    latency.record(now.saturating_sub(sent));
                    delivered.fetch_add(1, Ordering::Relaxed);
                    last.fetch_max(now, Ordering::Relaxed);
                }
            }
            latency
        }));
    }
    for r in created {
        tokio::time::timeout(Duration::from_secs(30), r)
            .await
            .map_err(|_| "watchers not created within 30 s")?
            .map_err(|_| "a watch stream ended before its watchers were created")?;
    }
    // The writer.
    let first_put_us = origin.elapsed().as_micros() as u64;
    let mut report = Report::default();
    let next = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for t in 0..opts.in_flight.max(1) {
        let mut kv = KvClient::new(channels[t % channels.len()].clone());
        let (next, ops, size) = (next.clone(), opts.ops, opts.value_size.max(8));
        writers.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= ops {
                    return errors;
                }
                let mut value = vec![0u8; size];
                let sent = origin.elapsed().as_micros() as u64;
                value[..8].copy_from_slice(&sent.to_le_bytes());
                if let Err(e) = put_once(&mut kv, &key(i), &value).await {
                    errors.push(e.message().to_owned());
                }
            }
        }));
    }
    for e in join_unless_stalled(writers, &next)
        .await?
        .into_iter()
        .flatten()
    {
        report.fail(e);
    }
    let expected = (opts.ops - report.errors) * opts.watchers as u64;
    let drained = Instant::now();
    while delivered.load(Ordering::Relaxed) < expected && drained.elapsed() < WATCH_DRAIN {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = stop_tx.send(true);
    for r in receivers {
        report.latency.merge(&r.await.map_err(|e| e.to_string())?);
    }
    drop(channels);
    report.ok = delivered.load(Ordering::Relaxed);
    if report.ok < expected {
        report.fail(format!("{} of {expected} events delivered", report.ok));
    }
    let end = last_delivery_us
        .load(Ordering::Relaxed)
        .max(first_put_us + 1);
    report.seconds = (end - first_put_us) as f64 / 1e6;
    Ok(report)
}

/// How often the failover probe starts a put: the resolution of the failover time.
const PROBE_EVERY: Duration = Duration::from_millis(10);
/// How long one probe put may wait (for a leader to be elected, say) before it is dropped.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on probe puts in flight (`PROBE_TIMEOUT / PROBE_EVERY` is 200).
const PROBE_IN_FLIGHT: usize = 256;

/// Starts a put every `PROBE_EVERY`, round robin over the endpoints, each waiting up to
/// `PROBE_TIMEOUT`, until one succeeds. Overlapping puts make the time found as fine as
/// `PROBE_EVERY` whichever way a system treats writes while it has no leader (hold them,
/// or refuse them at once): a put that waited for the election counts when it succeeds.
pub(super) async fn failover_probe(endpoints: &[String]) -> Result<Report, String> {
    let start = Instant::now();
    let mut report = Report::default();
    // tonic's channel here: it reconnects by itself and times each request out.
    let mut clients = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{endpoint}"))
            .map_err(|e| e.to_string())?
            .connect_timeout(Duration::from_millis(200))
            .timeout(PROBE_TIMEOUT)
            .connect_lazy();
        clients.push(KvClient::new(channel));
    }
    let mut attempts = tokio::task::JoinSet::new();
    let mut every = tokio::time::interval(PROBE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Counted per put started (not per pass of the loop): a put refused at once must not
    // make every next put go to the same endpoint.
    let mut next = 0usize;
    loop {
        if start.elapsed() > PROBE_LIMIT {
            return Err(format!("no write succeeded within {PROBE_LIMIT:?}"));
        }
        tokio::select! {
            _ = every.tick(), if attempts.len() < PROBE_IN_FLIGHT => {
                let mut kv = clients[next % clients.len()].clone();
                next += 1;
                attempts.spawn(async move {
                    let began = Instant::now();
                    let put = put_request(b"bench/failover", b"probe");
                    kv.put(put).await.map(|_| began.elapsed())
                });
            }
            Some(done) = attempts.join_next() => {
                match done.map_err(|e| e.to_string())? {
                    Ok(took) => {
                        report.ok = 1;
                        report.latency.record(took.as_micros() as u64);
                        report.seconds = start.elapsed().as_secs_f64();
                        return Ok(report);
                    }
                    Err(e) => report.fail(e.message()),
                }
            }
        }
    }
}
