//! The bench's output: a table for stdout, `BENCHMARKS.md` (table, machine, method, date)
//! and the last line `bench: put=<ratio>x get=<ratio>x rss=<ratio>x`.

use crate::bench::{Case, Kind, Sample};

/// One case's medians.
pub struct Row {
    /// The case.
    pub case: Case,
    /// Orrery's medians.
    pub orrery: Sample,
    /// etcd's medians.
    pub etcd: Sample,
}

/// Orrery-only figures: the simulator and the playground.
pub struct Extra {
    /// Length of the simulated run, minutes.
    pub sim_minutes: f64,
    /// Its events.
    pub sim_events: f64,
    /// Events per second, native.
    pub native_eps: f64,
    /// Events per second, wasm32 under Node.
    pub wasm_eps: f64,
    /// Wall time of the native run, s.
    pub replay_s: f64,
    /// Release `.wasm`, bytes.
    pub wasm_raw: u64,
    /// The same, gzipped.
    pub wasm_gzip: u64,
    /// Frame rate, 9 members at 1x (median of 3).
    pub fps: f64,
}

/// What [`render`] produces.
pub struct Report {
    /// The tables, as text for stdout.
    pub table: String,
    /// The whole `BENCHMARKS.md`.
    pub markdown: String,
    /// `bench: put=…x get=…x rss=…x`.
    pub last_line: String,
}

/// The comparison's goal for a row: (ratio wanted, higher is better).
fn goal(case: &Case) -> Option<(f64, bool)> {
    match case.name {
        "put-seq" | "put-16" | "put-256" | "put-256-3m" | "get-lin" => Some((2.0, true)),
        "rss" => Some((0.5, false)),
        "failover" => Some((1.0, false)),
        _ => None,
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

pub(crate) fn figure(kind: &Kind, s: &Sample) -> String {
    match kind {
        Kind::Rss { .. } => format!("{:.1} MiB", s.value / 1_048_576.0),
        Kind::Failover => format!("{:.2} s", s.value),
        Kind::Load { .. } => format!("{:.0}/s", s.value),
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**not met**"
    }
}

fn comparison(rows: &[Row]) -> String {
    let mut t = String::from(
        "| case | Orrery | etcd | Orrery ÷ etcd | goal | p99 Orrery | p99 etcd | p99 ÷ (goal ≤ 0.5) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let x = ratio(r.orrery.value, r.etcd.value);
        let goal_text = match goal(&r.case) {
            Some((g, true)) => format!("≥ {g:.1}× {}", verdict(x >= g)),
            Some((g, false)) => format!("≤ {g:.1}× {}", verdict(x <= g)),
            None => "—".into(),
        };
        let latency = matches!(r.case.kind, Kind::Load { .. });
        let p99 = ratio(r.orrery.p99, r.etcd.p99);
        t += &format!(
            "| {} | {} | {} | {x:.2}× | {goal_text} | {} | {} | {} |\n",
            r.case.what,
            figure(&r.case.kind, &r.orrery),
            figure(&r.case.kind, &r.etcd),
            if latency {
                format!("{:.2} ms", r.orrery.p99)
            } else {
                "—".into()
            },
            if latency {
                format!("{:.2} ms", r.etcd.p99)
            } else {
                "—".into()
            },
            if latency {
                format!("{p99:.2} {}", verdict(p99 <= 0.5))
            } else {
                "—".into()
            },
        );
    }
    t
}

fn own(e: &Extra) -> String {
    format!(
        "| figure | value | goal |\n|---|---|---|\n\
         | simulator, native | {:.0} events/s | ≥ 1 000 000 {} |\n\
         | simulator, wasm32 (Node) | {:.0} events/s | ≥ 300 000 {} |\n\
         | replay of a {:.0}-minute 5-member simulated run ({:.0} events), native | {:.1} s | — |\n\
         | playground `.wasm` (release) | {} B raw, {} B gzipped | ≤ 500 KB gzipped {} |\n\
         | playground, 9 members, clients running, 1× (headless Chromium) | {:.1} frames/s | 60 {} |\n",
        e.native_eps,
        verdict(e.native_eps >= 1e6),
        e.wasm_eps,
        verdict(e.wasm_eps >= 3e5),
        e.sim_minutes,
        e.sim_events,
        e.replay_s,
        e.wasm_raw,
        e.wasm_gzip,
        verdict(e.wasm_gzip <= 500_000),
        e.fps,
        verdict(e.fps >= 59.0),
    )
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or("?".into(), |kib| {
            format!("{:.1} GiB", kib as f64 / 1_048_576.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpu}, {cores} cores available, {mem} RAM, Linux {}",
        kernel.trim()
    )
}

fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

use std::process::Command;

/// Renders the tables, the markdown and the last line.
pub fn render(rows: &[Row], extra: &Extra, quick: bool, runs: usize, seconds: f64) -> Report {
    let find = |name| rows.iter().find(|r| r.case.name == name);
    let r = |name, f: fn(&Row) -> f64| find(name).map_or(f64::NAN, f);
    let last_line = format!(
        "bench: put={:.2}x get={:.2}x rss={:.2}x",
        r("put-256", |r| ratio(r.orrery.value, r.etcd.value)),
        r("get-lin", |r| ratio(r.orrery.value, r.etcd.value)),
        r("rss", |r| ratio(r.orrery.value, r.etcd.value)),
    );
    let (compared, own) = (comparison(rows), own(extra));
    let table = format!("{compared}\n{own}");
    let markdown = format!(
        "# Benchmarks\n\n\
         `cargo xtask bench{}` on {}: Orrery and etcd 3.4 side by side in one run ({:.0} s in all).\n\n\
         Machine: {}.\n\n\
         ## Orrery and etcd\n\n{}\n\
         The last line of the run: `{last_line}` (put = 256 in flight on one member, get = \
         linearizable; ratios are Orrery ÷ etcd).\n\n\
         ## The simulator and the playground\n\n{}\n\
         ## Method\n\n\
         - Each case starts a fresh cluster of each system with the same flags (etcd's defaults: \
         100 ms heartbeat, 1 s election timeout; data under `target/bench/` on the same \
         filesystem; loopback ports), runs the same load generator against it (`orrery-bench`, \
         ours: tonic clients from our protos over the h2 crate's HTTP/2 client, HDR-style histogram; \
         it shares the machine's CPUs with the members, so it is kept lean: one thread, jemalloc), and stops it.\n\
         - {runs} run(s) per case; runs alternate which system goes first, so machine noise hits \
         both; every figure is the median of its runs.\n\
         - Values are 256 B; keys are chosen at random from 1 000 (reads first write them all).\n\
         - Watch: 1 000 watchers on one prefix over 10 streams; each put carries its send time, \
         and latency is put to delivery; the rate is events delivered per second.\n\
         - RSS: `VmRSS` of the single member after 100 000 puts of distinct keys.\n\
         - Failover: a 3-member cluster; from `kill -9` of the leader to the first put that \
         succeeds on a survivor (the probe starts a put every 10 ms, each waiting up to 2 s). \
         Orrery's followers find the killed leader's peer port closed and campaign once it has \
         been silent for over two heartbeat intervals; etcd 3.4's followers wait out their randomized election timeout \
         (1–2 s).\n\
         - Simulator: `sim replay` (the `sim` example in release: the run without its \
         end-of-run checks) with seed 1, 5 members and the default faults; the same run \
         compiled to wasm32 under Node must give the same trace hash.\n\
         - Frame rate: `node e2e/measure-fps.mjs` (median of 3): headless Chromium, software \
         rendering.\n",
        if quick { " --quick" } else { "" },
        today(),
        seconds,
        machine(),
        compared,
        own,
    );
    Report {
        table,
        markdown,
        last_line,
    }
}
