//! `orrery-bench`: the load generator `cargo xtask bench` runs against Orrery and etcd
//! (see `orrery::bench`). Prints one JSON line: throughput and latency percentiles.

use clap::Parser;
use orrery::bench::{run, Options, Workload};
use std::process::ExitCode;

/// jemalloc, as in `orrery`: the generator's CPU is taken from the members it measures.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Drives an etcd v3 endpoint and reports throughput and latency percentiles.
#[derive(Parser, Debug)]
#[command(name = "orrery-bench", version)]
struct Args {
    /// Comma-separated `host:port` of the members.
    #[arg(long, default_value = "127.0.0.1:2379", value_delimiter = ',')]
    endpoints: Vec<String>,
    /// put, get, get-serializable, txn, watch, failover-probe or wait-leader.
    #[arg(long, default_value = "put")]
    workload: String,
    /// Operations (puts, for watch).
    #[arg(long, default_value_t = 10_000)]
    ops: u64,
    /// gRPC connections.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1)]
    in_flight: usize,
    /// Keys to choose from.
    #[arg(long, default_value_t = 1_000)]
    key_space: u64,
    /// Operation i writes key i (loads distinct keys).
    #[arg(long)]
    sequential_keys: bool,
    /// Value size in bytes.
    #[arg(long, default_value_t = 256)]
    value_size: usize,
    /// Watchers (watch workload).
    #[arg(long, default_value_t = 1_000)]
    watchers: usize,
    /// Seed of the key choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(workload) = Workload::parse(&args.workload) else {
        eprintln!("orrery-bench: unknown workload {:?}", args.workload);
        return ExitCode::FAILURE;
    };
    let opts = Options {
        endpoints: args.endpoints,
        workload,
        ops: args.ops,
        connections: args.connections,
        in_flight: args.in_flight,
        key_space: args.key_space,
        sequential_keys: args.sequential_keys,
        value_size: args.value_size,
        watchers: args.watchers,
        seed: args.seed,
    };
    // One thread: the generator shares the CPUs with the members it measures, and a single
    // thread spends nothing on waking or stealing between workers (client CPU per put at 16
    // in flight ~17 -> ~14 us, against either system).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(&opts)) {
        Ok(report) => {
            println!("{}", report.to_json(&args.workload));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("orrery-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
