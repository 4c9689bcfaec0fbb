//! `orrery`: an etcd-compatible member, started with etcd's flags.

use clap::Parser;
use orrery::flags::{cluster_id, split_urls, Flags};
use orrery::grpc::Services;
use orrery::node::{self, NodeConfig};
use orrery_core::server::ServerConfig;
use std::net::SocketAddr;
use std::process::ExitCode;

fn listen_addr(flag: &str, url: &str) -> Result<SocketAddr, String> {
    let hostport = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{flag}: {url:?}: only http:// URLs are supported so far"))?;
    let hostport = hostport.trim_end_matches('/');
    let (host, port) = hostport
        .rsplit_once(':')
        .ok_or_else(|| format!("{flag}: {url:?} has no port"))?;
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{port}")
        .parse()
        .map_err(|_| format!("{flag}: {url:?} is not host:port"))
}

fn listen_addrs(flag: &str, urls: &str) -> Result<Vec<SocketAddr>, String> {
    split_urls(urls)
        .iter()
        .map(|u| listen_addr(flag, u))
        .collect()
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&flags.log_level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orrery: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: Flags) -> Result<(), String> {
    flags.validate()?;
    let members = flags.initial_members()?;
    if flags.initial_cluster_state == "existing" {
        return Err(
            "--initial-cluster-state existing needs the peer transport, which is not built yet"
                .into(),
        );
    }
    let me = members
        .iter()
        .find(|m| m.name == flags.name)
        .expect("validated")
        .clone();
    let mut server = ServerConfig::new(me.id, cluster_id(&members), &flags.name);
    server.client_urls = split_urls(&flags.advertise_client_urls);
    server.tick_ms = flags.heartbeat_interval;
    server.election_ticks = (flags.election_timeout / flags.heartbeat_interval) as usize;
    server.pre_vote = flags.pre_vote;
    server.snapshot_count = flags.snapshot_count;
    server.request_timeout_ms = 5_000 + 2 * flags.election_timeout;
    let listen = listen_addrs("--listen-client-urls", &flags.listen_client_urls)?;
    let listen_peer = listen_addrs("--listen-peer-urls", &flags.listen_peer_urls)?;
    let config = NodeConfig {
        server,
        data_dir: flags.data_dir(),
        wal_dir: flags.wal_dir.clone(),
        initial_cluster: members,
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let (outbound, to_peers) = tokio::sync::mpsc::channel(1024);
        let (urls_tx, urls_rx) = tokio::sync::watch::channel(Default::default());
        let handle = node::start(config, outbound, urls_tx)?;
        orrery::transport::spawn(to_peers, urls_rx, handle.clone());
        tracing::info!(
            name = %flags.name,
            data_dir = %flags.data_dir().display(),
            member = format!("{:x}", me.id),
            "starting member"
        );
        let mut servers = Vec::new();
        for addr in listen_peer {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("listen tcp {addr}: {e}"))?;
            tracing::info!(%addr, "serving peer traffic");
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            let peer = orrery::transport::PeerService::new(handle.clone()).server();
            servers.push(tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(peer)
                    .serve_with_incoming(incoming),
            ));
        }
        for addr in listen {
            let routes = Services::new(handle.clone()).router();
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("listen tcp {addr}: {e}"))?;
            tracing::info!(%addr, "serving client traffic");
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            servers.push(tokio::spawn(
                tonic::transport::Server::builder()
                    .add_routes(routes)
                    .serve_with_incoming(incoming),
            ));
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("received interrupt; stopping");
                Ok(())
            }
            r = futures_first(servers) => r,
        }
    })
}

async fn futures_first(
    servers: Vec<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
) -> Result<(), String> {
    for s in servers {
        match s.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}
