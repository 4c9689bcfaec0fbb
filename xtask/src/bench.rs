//! `cargo xtask bench [--quick]`: Orrery against etcd 3.4 on the same machine in one run,
//! then the simulator's and the playground's own numbers.
//!
//! Every case starts a fresh cluster of each system with the same flags, runs the same load
//! generator (`orrery-bench`) against it, and stops it. Runs alternate which system goes
//! first, so machine noise hits both; each figure is the median of the runs. The full run
//! rewrites `BENCHMARKS.md`; `--quick` (fewer operations, one run) writes
//! `target/bench/BENCHMARKS-quick.md`. The last line of stdout is
//! `bench: put=<ratio>x get=<ratio>x rss=<ratio>x`.

use crate::bench_cluster::{json_number, loadgen, rss_bytes, Binaries, Cluster, System};
use crate::bench_report::{self, Extra, Row};
use std::process::Command;
use std::time::Instant;

/// What one case measures.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A load-generator workload on a cluster of `members`.
    Load {
        /// Members.
        members: usize,
        /// `orrery-bench` arguments.
        args: Vec<String>,
    },
    /// Resident size of a single member after loading `keys` keys of 256 B.
    Rss {
        /// Keys loaded.
        keys: u64,
    },
    /// Time from `kill -9` of a 3-member cluster's leader to the first successful write.
    Failover,
}

/// One comparison.
#[derive(Clone, Debug)]
pub struct Case {
    /// Short name (`put-256`).
    pub name: &'static str,
    /// What it does, for the table.
    pub what: String,
    /// How.
    pub kind: Kind,
}

/// One run's figures: throughput (ops/s, or bytes for RSS, or seconds for failover) and
/// latency percentiles (ms).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// The main figure.
    pub value: f64,
    /// p50 latency, ms.
    pub p50: f64,
    /// p99 latency, ms.
    pub p99: f64,
}

/// A load-generator case: `workload` for `ops` operations with `in_flight` requests over
/// `connections` connections, plus `extra` arguments.
fn load(
    (name, what): (&'static str, &str),
    members: usize,
    (workload, ops): (&str, &str),
    (in_flight, connections): (u32, u32),
    extra: &[&str],
) -> Case {
    let mut args: Vec<String> = vec![
        "--workload".into(),
        workload.into(),
        "--ops".into(),
        ops.into(),
        "--in-flight".into(),
        in_flight.to_string(),
        "--connections".into(),
        connections.to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Case {
        name,
        what: what.to_owned(),
        kind: Kind::Load { members, args },
    }
}

/// The cases, scaled down for `--quick`.
fn plan(quick: bool) -> Vec<Case> {
    let n = |full: u64, q: u64| if quick { q } else { full }.to_string();
    let (seq, c16, c256, gets, txns, watch_puts) = (
        n(2_000, 300),
        n(20_000, 3_000),
        n(50_000, 8_000),
        n(50_000, 8_000),
        n(20_000, 4_000),
        n(1_000, 200),
    );
    let watchers = ["--watchers", "1000"];
    vec![
        load(
            ("put-seq", "put, 1 client, 1 in flight"),
            1,
            ("put", &seq),
            (1, 1),
            &[],
        ),
        load(
            ("put-16", "put, 16 in flight"),
            1,
            ("put", &c16),
            (16, 16),
            &[],
        ),
        load(
            ("put-256", "put, 256 in flight"),
            1,
            ("put", &c256),
            (256, 16),
            &[],
        ),
        load(
            ("get-lin", "linearizable get, 64 in flight"),
            1,
            ("get", &gets),
            (64, 16),
            &[],
        ),
        // One read at a time shows what each read waits for (a single member confirms its
        // ReadIndex alone; a tick-late answer showed here as ~10 reads/s).
        load(
            ("get-lin-1", "linearizable get, 1 in flight"),
            1,
            ("get", &seq),
            (1, 1),
            &[],
        ),
        load(
            ("get-ser", "serializable get, 64 in flight"),
            1,
            ("get-serializable", &gets),
            (64, 16),
            &[],
        ),
        load(
            ("txn", "txn compare-and-put, 64 in flight"),
            1,
            ("txn", &txns),
            (64, 16),
            &[],
        ),
        // 16 writers put while the 1 000 watchers receive.
        load(
            ("watch", "watch fan-out: 1 000 watchers, events delivered/s"),
            1,
            ("watch", &watch_puts),
            (16, 10),
            &watchers,
        ),
        load(
            ("put-256-3m", "put, 256 in flight, 3 members"),
            3,
            ("put", &c256),
            (256, 16),
            &[],
        ),
        Case {
            name: "rss",
            what: "resident size after 100 000 keys of 256 B".into(),
            kind: Kind::Rss { keys: 100_000 },
        },
        Case {
            name: "failover",
            what: "kill -9 of the leader to the first write, s".into(),
            kind: Kind::Failover,
        },
    ]
}

/// Runs one case once against one system.
fn measure(bins: &Binaries, system: System, case: &Case) -> Result<Sample, String> {
    match &case.kind {
        Kind::Load { members, args } => {
            let cluster = Cluster::start(bins, system, *members)?;
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = loadgen(bins, &cluster.endpoints, &args)?;
            if json_number(&out, "errors").unwrap_or(0.0) > 0.0 {
                return Err(format!("{} on {}: {out}", case.name, system.name()));
            }
            let get = |k| json_number(&out, k).unwrap_or(f64::NAN);
            Ok(Sample {
                value: get("throughput"),
                p50: get("p50_ms"),
                p99: get("p99_ms"),
            })
        }
        Kind::Rss { keys } => {
            let cluster = Cluster::start(bins, system, 1)?;
            let ops = keys.to_string();
            let args = [
                "--workload",
                "put",
                "--sequential-keys",
                "--ops",
                &ops,
                "--in-flight",
                "256",
                "--connections",
                "16",
            ];
            let out = loadgen(bins, &cluster.endpoints, &args)?;
            if json_number(&out, "errors").unwrap_or(0.0) > 0.0 {
                return Err(format!("loading {keys} keys into {}: {out}", system.name()));
            }
            let pid = cluster.pid(0).ok_or("the member is gone")?;
            Ok(Sample {
                value: rss_bytes(pid)? as f64,
                ..Sample::default()
            })
        }
        Kind::Failover => {
            let mut cluster = Cluster::start(bins, system, 3)?;
            let leader = cluster.leader;
            let others: Vec<String> = (0..3)
                .filter(|i| *i != leader)
                .map(|i| cluster.endpoints[i].clone())
                .collect();
            let killed = cluster.kill(leader);
            loadgen(bins, &others, &["--workload", "failover-probe"])?;
            Ok(Sample {
                value: killed.elapsed().as_secs_f64(),
                ..Sample::default()
            })
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn medians(samples: &[Sample]) -> Sample {
    let of = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
    Sample {
        value: of(|s| s.value),
        p50: of(|s| s.p50),
        p99: of(|s| s.p99),
    }
}

fn describe(system: System, case: &Case, s: &Sample) -> String {
    let figure = crate::bench_report::figure(&case.kind, s);
    match case.kind {
        Kind::Load { .. } => format!(
            "{}: {figure}, p50 {:.2} ms, p99 {:.2} ms",
            system.name(),
            s.p50,
            s.p99
        ),
        _ => format!("{}: {figure}", system.name()),
    }
}

/// `cargo xtask bench [--quick]`.
pub fn bench(args: &[String]) -> Result<(), String> {
    let quick = match args {
        [] => false,
        [q] if q == "--quick" => true,
        _ => return Err("usage: cargo xtask bench [--quick]".into()),
    };
    let started = Instant::now();
    println!("==> tools");
    crate::tools::ensure_make()?;
    let etcd = crate::tools::ensure_etcd(true)?.ok_or("etcd is required")?;
    // Everything the later steps need, before the long comparison rather than after it.
    crate::tools::ensure_wasm_target()?;
    let runner = crate::tools::ensure_wasm_bindgen_test_runner(true)?.ok_or("runner")?;
    crate::tools::ensure_npm_packages()?;
    let (chromium, _) = crate::tools::ensure_chromium(true)?.ok_or("chromium")?;
    println!("==> cargo build --release -p orrery (orrery, orrery-bench)");
    crate::tools::run(crate::cargo().args([
        "build",
        "--release",
        "--locked",
        "-p",
        "orrery",
        "--bins",
    ]))?;
    let bins = Binaries {
        orrery: "target/release/orrery".into(),
        etcd,
        loadgen: "target/release/orrery-bench".into(),
    };
    // Seven: a put run lasts about a second, and this machine's speed moves by tens of percent
    // within minutes; the median of seven alternating runs holds still where five did not.
    let runs = if quick { 1 } else { 7 };
    let mut rows = Vec::new();
    for case in plan(quick) {
        println!("==> {} ({}), {runs} run(s) each", case.name, case.what);
        let mut samples: [Vec<Sample>; 2] = [Vec::new(), Vec::new()];
        for run in 0..runs {
            let order = if run % 2 == 0 {
                [System::Orrery, System::Etcd]
            } else {
                [System::Etcd, System::Orrery]
            };
            for system in order {
                let s = measure(&bins, system, &case)?;
                println!("    run {}/{runs} {}", run + 1, describe(system, &case, &s));
                samples[usize::from(system == System::Etcd)].push(s);
            }
        }
        rows.push(Row {
            case: case.clone(),
            orrery: medians(&samples[0]),
            etcd: medians(&samples[1]),
        });
    }
    let extra = own_numbers(quick, &runner, &chromium)?;
    let report = bench_report::render(&rows, &extra, quick, runs, started.elapsed().as_secs_f64());
    println!("\n{}", report.table);
    let path = if quick {
        "target/bench/BENCHMARKS-quick.md"
    } else {
        "BENCHMARKS.md"
    };
    std::fs::write(path, &report.markdown).map_err(|e| format!("{path}: {e}"))?;
    println!(
        "==> wrote {path} ({:.0} s in all)",
        started.elapsed().as_secs_f64()
    );
    println!("{}", report.last_line);
    Ok(())
}

/// The simulator's speed natively and in wasm, the replay time of a 10-minute run, the
/// playground's bundle size and frame rate.
fn own_numbers(
    quick: bool,
    runner: &std::path::Path,
    chromium: &std::path::Path,
) -> Result<Extra, String> {
    let sim_ms = if quick { "60000" } else { "600000" };
    let minutes = sim_ms.parse::<f64>().unwrap_or(0.0) / 60_000.0;
    println!("==> simulator: replaying a {minutes:.0}-minute 5-member run, natively");
    let out = crate::sim_command(&["replay", "--seed", "1", "--members", "5", "--ms", sim_ms])
        .output()
        .map_err(|e| format!("sim: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "sim replay failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .ok_or_else(|| format!("sim printed no {name}\n{stdout}"))
    };
    let events: f64 = field("events:")?.parse().map_err(|_| "events")?;
    let native_eps: f64 = field("events-per-sec:")?
        .parse()
        .map_err(|_| "events-per-sec")?;
    let hash = field("trace-hash:")?;
    // The run's own time (cargo may have compiled the example first).
    let replay_s: f64 = field("replay-seconds:")?
        .parse()
        .map_err(|_| "replay-seconds")?;
    println!("    {events} events, {native_eps:.0} events/s, {replay_s:.1} s");
    println!("==> simulator: the same run in wasm32 under Node");
    let spec = format!("1:5:{sim_ms}:{hash}");
    let out = crate::wasm_node_test(
        "wasm_determinism",
        ("ORRERY_BENCH_RUN", &spec),
        runner,
        &[
            "--nocapture",
            "a_replay_in_wasm_is_timed_and_matches_native",
        ],
    )
    .output()
    .map_err(|e| format!("wasm sim: {e}"))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("the wasm run failed:\n{text}"));
    }
    let wasm_eps: f64 = text
        .split("events_per_sec=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no events_per_sec in the wasm run's output:\n{text}"))?;
    println!("    {wasm_eps:.0} events/s");
    println!("==> playground bundle");
    let size = crate::web::dist()?;
    println!("==> playground frame rate (9 members, clients running, 1x; 3 runs)");
    let mut fps = Vec::new();
    for _ in 0..3 {
        let out = Command::new("node")
            .arg("e2e/measure-fps.mjs")
            .env("DIST_DIR", crate::web::DIST)
            .env("CHROMIUM_PATH", chromium)
            .output()
            .map_err(|e| format!("node: {e}"))?;
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        let value = line
            .split(": ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
            .ok_or_else(|| {
                format!(
                    "measure-fps printed: {line}{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })?;
        println!("    {value:.1} fps");
        fps.push(value);
    }
    Ok(Extra {
        sim_minutes: minutes,
        sim_events: events,
        native_eps,
        wasm_eps,
        replay_s,
        wasm_raw: size.raw,
        wasm_gzip: size.gzip,
        fps: median(fps),
    })
}
