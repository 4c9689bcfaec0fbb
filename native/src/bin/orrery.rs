//! `orrery`: an etcd-compatible member, started with etcd's flags.

use orrery::flags::Flags;
use std::process::ExitCode;

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
    let runtime = match tokio::runtime::Runtime::new() {
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
