//! Starting a whole member from its flags (etcd's `embed` package): open the data dir, find
//! out who this member is, start the node task and the peer transport, and serve the client
//! and peer listeners. The `orrery` binary and the in-process tests both start members here.

use crate::data_dir::{DataDir, Identity};
use crate::flags::{cluster_id, split_urls, Flags};
use crate::grpc::Services;
use crate::metrics::Metrics;
use crate::node::{self, NodeConfig, NodeHandle};
use crate::snap::SnapDir;
use crate::transport;
use orrery_core::cluster::Member;
use orrery_core::server::ServerConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// How long a joining member waits for each existing member to list the cluster.
const FETCH_CLUSTER_TIMEOUT: Duration = Duration::from_secs(5);

/// A running member.
#[derive(Debug)]
pub struct Etcd {
    /// The member's node task.
    pub node: NodeHandle,
    /// Its IDs.
    pub identity: Identity,
    /// Where the client listeners are bound (port 0 in a URL becomes a real port).
    pub client_addrs: Vec<SocketAddr>,
    /// Where the peer listeners are bound.
    pub peer_addrs: Vec<SocketAddr>,
    servers: JoinSet<Result<(), String>>,
}

impl Etcd {
    /// Waits until a listener fails or the member stops (removed from the cluster, or its
    /// WAL failed); both run until the process ends otherwise.
    pub async fn wait(&mut self) -> Result<(), String> {
        tokio::select! {
            r = self.servers.join_next() => match r {
                None | Some(Ok(Ok(()))) => Ok(()),
                Some(Ok(Err(e))) => Err(e),
                Some(Err(e)) => Err(e.to_string()),
            },
            () = self.node.closed() => Err("the member stopped (the log says why)".into()),
        }
    }

    /// Stops serving (the node task ends once nothing holds its handle).
    pub fn stop(mut self) {
        self.servers.abort_all();
    }
}

/// Starts the member `flags` describe. Errors are one line naming the flag or file at fault.
pub async fn start(flags: &Flags) -> Result<Etcd, String> {
    flags.validate()?;
    // Bind first: a port in use is the most common mistake and should be the first error.
    let client_listeners = bind_all("--listen-client-urls", &flags.listen_client_urls).await?;
    let peer_listeners = bind_all("--listen-peer-urls", &flags.listen_peer_urls).await?;
    let data_dir = flags.data_dir();
    let dir = DataDir::open(&data_dir, flags.wal_dir.as_deref())?;
    let has_state = SnapDir::open(&dir.snap)
        .map_err(|e| e.to_string())?
        .has_snapshots()
        .map_err(|e| e.to_string())?;
    let saved = dir.identity()?;
    let (identity, initial_cluster, joining) = match saved {
        Some(identity) if has_state => {
            tracing::info!(
                data_dir = %data_dir.display(),
                "the member has already been bootstrapped; ignoring --initial-cluster"
            );
            (identity, Vec::new(), false)
        }
        _ => {
            let (identity, members, joining) = resolve_identity(flags).await?;
            if let Some(saved) = saved.filter(|s| *s != identity) {
                return Err(format!(
                    "data dir {} belongs to member {:x} of cluster {:x}, but the flags describe member {:x} of cluster {:x}",
                    data_dir.display(),
                    saved.member_id,
                    saved.cluster_id,
                    identity.member_id,
                    identity.cluster_id
                ));
            }
            dir.save_identity(identity)?;
            (identity, members, joining)
        }
    };
    let mut server = ServerConfig::new(identity.member_id, identity.cluster_id, &flags.name);
    server.client_urls = split_urls(&flags.advertise_client_urls);
    server.tick_ms = flags.heartbeat_interval;
    server.election_ticks = (flags.election_timeout / flags.heartbeat_interval) as usize;
    server.pre_vote = flags.pre_vote;
    server.applied_changes = true;
    server.snapshot_count = flags.snapshot_count;
    server.request_timeout_ms = 5_000 + 2 * flags.election_timeout;
    server.max_request_bytes = flags.max_request_bytes as usize;
    // 0 means etcd's default (2 GiB).
    if flags.quota_backend_bytes > 0 {
        server.quota_backend_bytes = flags.quota_backend_bytes as u64;
    }
    let server_quota = server.quota_backend_bytes;
    let config = NodeConfig {
        server,
        data_dir: data_dir.clone(),
        initial_cluster,
        joining,
    };
    let metrics = Arc::new(Metrics::default());
    metrics
        .quota_bytes
        .store(server_quota, std::sync::atomic::Ordering::Relaxed);
    metrics
        .member_id
        .store(identity.member_id, std::sync::atomic::Ordering::Relaxed);
    let (outbound, to_peers) = tokio::sync::mpsc::channel(1024);
    let (urls_tx, urls_rx) = tokio::sync::watch::channel(Default::default());
    let node = node::start(config, dir, outbound, urls_tx, metrics.clone())?;
    transport::spawn(to_peers, urls_rx, node.clone());
    crate::compactor::spawn(flags.auto_compaction()?, node.clone(), metrics.clone());
    for key in &flags.ignored_config_keys {
        tracing::warn!(%key, "config file: ignoring a key Orrery does not support yet");
    }
    if server_quota > 8 * 1024 * 1024 * 1024 {
        tracing::warn!(
            quota = server_quota,
            "--quota-backend-bytes exceeds the suggested maximum of 8 GiB"
        );
    }
    tracing::info!(
        name = %flags.name,
        data_dir = %data_dir.display(),
        member = format!("{:x}", identity.member_id),
        cluster = format!("{:x}", identity.cluster_id),
        "starting member"
    );
    let mut servers = JoinSet::new();
    let mut peer_addrs = Vec::new();
    for listener in peer_listeners {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        peer_addrs.push(addr);
        tracing::info!(%addr, "serving peer traffic");
        let incoming = no_delay(listener);
        let peer = transport::PeerService::new(node.clone()).server();
        servers.spawn(async move {
            tonic::transport::Server::builder()
                .add_service(peer)
                .serve_with_incoming(incoming)
                .await
                .map_err(|e| format!("peer listener {addr}: {e}"))
        });
    }
    let mut client_addrs = Vec::new();
    for listener in client_listeners {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        client_addrs.push(addr);
        tracing::info!(%addr, "serving client traffic (gRPC and HTTP)");
        let routes = Services::new(node.clone(), metrics.clone(), flags.max_request_bytes).router();
        let incoming = {
            use tokio_stream::StreamExt;
            no_delay(listener).map(|c| c.map(crate::deferred_flush::DeferredFlush::new))
        };
        servers.spawn(async move {
            tonic::transport::Server::builder()
                .accept_http1(true)
                .add_routes(routes)
                .serve_with_incoming(incoming)
                .await
                .map_err(|e| format!("client listener {addr}: {e}"))
        });
    }
    Ok(Etcd {
        node,
        identity,
        client_addrs,
        peer_addrs,
        servers,
    })
}

/// Who this member is, per the flags: with `--initial-cluster-state new`, IDs hashed from
/// `--initial-cluster` as etcd does; with `existing`, the ID the cluster gave the member
/// when it was added (`etcdctl member add`), found by its peer URLs.
async fn resolve_identity(flags: &Flags) -> Result<(Identity, Vec<Member>, bool), String> {
    let members = flags.initial_members()?;
    let me = members
        .iter()
        .find(|m| m.name == flags.name)
        .expect("initial_members checks that this member is listed");
    if flags.initial_cluster_state == "new" {
        let identity = Identity {
            member_id: me.id,
            cluster_id: cluster_id(&members),
        };
        return Ok((identity, members, false));
    }
    let others: Vec<String> = members
        .iter()
        .filter(|m| m.name != flags.name)
        .flat_map(|m| m.peer_urls.iter().cloned())
        .collect();
    if others.is_empty() {
        return Err(
            "--initial-cluster-state existing: --initial-cluster lists no other member to ask"
                .into(),
        );
    }
    let remote = transport::fetch_cluster(&others, FETCH_CLUSTER_TIMEOUT).await?;
    let mine = remote
        .members
        .iter()
        .find(|m| {
            let mut urls = m.peer_urls.clone();
            urls.sort();
            urls == me.peer_urls
        })
        .ok_or_else(|| {
            format!(
                "--initial-cluster-state existing: no member of cluster {:x} has peer URLs {}; add it first with `etcdctl member add {} --peer-urls={}`",
                remote.cluster_id,
                me.peer_urls.join(","),
                flags.name,
                me.peer_urls.join(",")
            )
        })?;
    let identity = Identity {
        member_id: mine.id,
        cluster_id: remote.cluster_id,
    };
    Ok((identity, remote.members, true))
}

/// The accepted connections of `listener`, with Nagle's algorithm off: a small answer is
/// sent at once instead of waiting for the client's delayed ACK (up to 40 ms on Linux).
/// (tonic's own `tcp_nodelay` applies only to listeners it binds itself.)
fn no_delay(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok(conn)
    })
}

async fn bind_all(flag: &str, urls: &str) -> Result<Vec<TcpListener>, String> {
    let mut out = Vec::new();
    for url in split_urls(urls) {
        let addr = listen_addr(flag, &url)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("{flag}: listen tcp {addr}: {e}"))?;
        out.push(listener);
    }
    if out.is_empty() {
        return Err(format!("{flag}: no URL given"));
    }
    Ok(out)
}

/// `http://host:port` as a socket address (`localhost` is 127.0.0.1).
pub fn listen_addr(flag: &str, url: &str) -> Result<SocketAddr, String> {
    let hostport = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https" | "unix" | "unixs", _)) => {
            return Err(format!(
                "{flag}: {url:?}: TLS and unix sockets are not supported yet (use http://)"
            ))
        }
        _ => return Err(format!("{flag}: {url:?}: URL scheme must be http")),
    };
    let hostport = hostport.trim_end_matches('/');
    let (host, port) = hostport
        .rsplit_once(':')
        .ok_or_else(|| format!("{flag}: {url:?}: missing port in address"))?;
    let host = match host {
        "localhost" => "127.0.0.1",
        "" => "0.0.0.0",
        h => h.trim_start_matches('[').trim_end_matches(']'),
    };
    let ip: std::net::IpAddr = host
        .parse()
        .map_err(|_| format!("{flag}: {url:?}: expected IP in URL for binding"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{flag}: {url:?}: invalid port"))?;
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_urls_parse_as_etcd_accepts_them() {
        let a = |u| listen_addr("--listen-client-urls", u);
        assert_eq!(
            a("http://localhost:2379").unwrap().to_string(),
            "127.0.0.1:2379"
        );
        assert_eq!(
            a("http://0.0.0.0:2379/").unwrap().to_string(),
            "0.0.0.0:2379"
        );
        assert_eq!(a("http://[::1]:2379").unwrap().to_string(), "[::1]:2379");
        assert!(a("127.0.0.1:2379")
            .unwrap_err()
            .contains("scheme must be http"));
        assert!(a("https://127.0.0.1:2379").unwrap_err().contains("TLS"));
        assert!(a("http://127.0.0.1").unwrap_err().contains("missing port"));
        assert!(a("http://example.com:2379")
            .unwrap_err()
            .contains("expected IP"));
    }
}
