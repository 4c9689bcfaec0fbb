//! `orrery`: an etcd-compatible member, started with etcd's flags.

use orrery::flags::Flags;
use std::process::ExitCode;

/// jemalloc: glibc's malloc and free took ~20% of a member's CPU under load, much of it in
/// arena locks when one thread frees what another allocated (a request decoded on one worker
/// is freed after the member task applies it). Same resident size at 100 000 keys; 256 puts in
/// flight: 6-21% more puts/s, measured A/B.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let flags = match Flags::load() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("orrery: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&flags.log_level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // One worker more than there are CPUs: the member task fsyncs the WAL on its worker, and the
    // spare worker keeps the client connections served meanwhile (p99 at 16 puts in flight
    // ~2.4 -> ~1.6 ms). A thread of its own for the WAL's fsyncs cost more in wake-ups than it saved on 2 CPUs
    // (256 in flight: 14.7 -> 19.6 us of member CPU per put, twice the context switches).
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cpus + 1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("orrery: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let mut etcd = orrery::embed::start(&flags).await?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("received interrupt; stopping");
                Ok(())
            }
            r = etcd.wait() => r,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orrery: {e}");
            ExitCode::FAILURE
        }
    }
}
