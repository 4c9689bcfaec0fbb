//! etcd's command-line flags (3.4 names and defaults), each also read from its `ETCD_*`
//! environment variable, and etcd's member and cluster IDs.

use clap::Parser;
use orrery_core::cluster::Member;
use sha1::{Digest, Sha1};
use std::path::PathBuf;

/// The flags Orrery supports so far.
#[derive(Clone, Debug, Parser)]
#[command(name = "orrery", version = concat!(env!("CARGO_PKG_VERSION"), " (etcd API 3.4)"), about = "An etcd-compatible key-value store")]
pub struct Flags {
    /// Human-readable name for this member.
    #[arg(long, env = "ETCD_NAME", default_value = "default")]
    pub name: String,
    /// Path to the data directory (default: ${name}.etcd).
    #[arg(long, env = "ETCD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Path to a dedicated WAL directory.
    #[arg(long, env = "ETCD_WAL_DIR")]
    pub wal_dir: Option<PathBuf>,
    /// URLs to listen on for client traffic.
    #[arg(
        long,
        env = "ETCD_LISTEN_CLIENT_URLS",
        default_value = "http://localhost:2379"
    )]
    pub listen_client_urls: String,
    /// This member's client URLs to advertise to the cluster.
    #[arg(
        long,
        env = "ETCD_ADVERTISE_CLIENT_URLS",
        default_value = "http://localhost:2379"
    )]
    pub advertise_client_urls: String,
    /// URLs to listen on for peer traffic.
    #[arg(
        long,
        env = "ETCD_LISTEN_PEER_URLS",
        default_value = "http://localhost:2380"
    )]
    pub listen_peer_urls: String,
    /// This member's peer URLs to advertise to the cluster.
    #[arg(
        long,
        env = "ETCD_INITIAL_ADVERTISE_PEER_URLS",
        default_value = "http://localhost:2380"
    )]
    pub initial_advertise_peer_urls: String,
    /// Initial cluster configuration for bootstrapping (name=peerURL,...).
    #[arg(
        long,
        env = "ETCD_INITIAL_CLUSTER",
        default_value = "default=http://localhost:2380"
    )]
    pub initial_cluster: String,
    /// Initial cluster state ('new' or 'existing').
    #[arg(long, env = "ETCD_INITIAL_CLUSTER_STATE", default_value = "new", value_parser = ["new", "existing"])]
    pub initial_cluster_state: String,
    /// Initial cluster token, mixed into the cluster and member IDs.
    #[arg(
        long,
        env = "ETCD_INITIAL_CLUSTER_TOKEN",
        default_value = "etcd-cluster"
    )]
    pub initial_cluster_token: String,
    /// Time (in milliseconds) of a heartbeat interval.
    #[arg(long, env = "ETCD_HEARTBEAT_INTERVAL", default_value_t = 100)]
    pub heartbeat_interval: u64,
    /// Time (in milliseconds) for an election to timeout.
    #[arg(long, env = "ETCD_ELECTION_TIMEOUT", default_value_t = 1000)]
    pub election_timeout: u64,
    /// Number of committed transactions to trigger a snapshot to disk.
    #[arg(long, env = "ETCD_SNAPSHOT_COUNT", default_value_t = 100_000)]
    pub snapshot_count: u64,
    /// Enable the Raft pre-vote algorithm.
    #[arg(long, env = "ETCD_PRE_VOTE", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub pre_vote: bool,
    /// Log level: debug, info, warn, error.
    #[arg(long, env = "ETCD_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

impl Flags {
    /// `--data-dir`, defaulting to `${name}.etcd`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.etcd", self.name)))
    }

    /// Checks what clap cannot: timing relations and URL lists. etcd's wording where it has
    /// one.
    pub fn validate(&self) -> Result<(), String> {
        if self.heartbeat_interval == 0 {
            return Err("--heartbeat-interval must be greater than 0".into());
        }
        if self.election_timeout < 5 * self.heartbeat_interval {
            return Err(format!(
                "--election-timeout[{}ms] should be at least as 5 times as --heartbeat-interval[{}ms]",
                self.election_timeout, self.heartbeat_interval
            ));
        }
        if self.election_timeout > 50_000 {
            return Err(format!(
                "--election-timeout[{}ms] is too long, and should be set less than 50000ms",
                self.election_timeout
            ));
        }
        Ok(())
    }

    /// `--initial-cluster` as members with etcd's IDs; this member must be in it.
    pub fn initial_members(&self) -> Result<Vec<Member>, String> {
        let mut by_name: Vec<(String, Vec<String>)> = Vec::new();
        for part in self.initial_cluster.split(',').filter(|p| !p.is_empty()) {
            let (name, url) = part
                .split_once('=')
                .ok_or_else(|| format!("--initial-cluster: {part:?} is not name=peerURL"))?;
            match by_name.iter_mut().find(|(n, _)| n == name) {
                Some((_, urls)) => urls.push(url.to_owned()),
                None => by_name.push((name.to_owned(), vec![url.to_owned()])),
            }
        }
        let members: Vec<Member> = by_name
            .into_iter()
            .map(|(name, mut urls)| {
                urls.sort();
                Member {
                    id: member_id(&urls, &self.initial_cluster_token),
                    name,
                    peer_urls: urls,
                    client_urls: Vec::new(),
                    is_learner: false,
                }
            })
            .collect();
        let me = members
            .iter()
            .find(|m| m.name == self.name)
            .ok_or_else(|| {
                format!(
                    "couldn't find local name {:?} in the initial cluster configuration",
                    self.name
                )
            })?;
        let mut advertised: Vec<String> = split_urls(&self.initial_advertise_peer_urls);
        advertised.sort();
        if advertised != me.peer_urls {
            return Err(format!(
                "--initial-cluster has {}={} but missing from --initial-advertise-peer-urls={}",
                self.name,
                me.peer_urls.join(","),
                self.initial_advertise_peer_urls
            ));
        }
        Ok(members)
    }
}

/// Splits a comma-separated URL list.
pub fn split_urls(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

/// etcd's member ID: the first 8 bytes (big-endian) of SHA-1 over the sorted peer URLs and the
/// cluster token (`membership.NewMember` without a timestamp).
pub fn member_id(sorted_peer_urls: &[String], token: &str) -> u64 {
    let mut h = Sha1::new();
    for u in sorted_peer_urls {
        h.update(u.as_bytes());
    }
    h.update(token.as_bytes());
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// etcd's cluster ID: SHA-1 over the sorted member IDs (big-endian), first 8 bytes.
pub fn cluster_id(members: &[Member]) -> u64 {
    let mut ids: Vec<u64> = members.iter().map(|m| m.id).collect();
    ids.sort_unstable();
    let mut h = Sha1::new();
    for id in ids {
        h.update(id.to_be_bytes());
    }
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_member_gets_etcds_well_known_ids() {
        let flags = Flags::parse_from(["orrery"]);
        let members = flags.initial_members().unwrap();
        // What a default `etcd` prints: member 8e9e05c52164694d in cluster cdf818194e3a8c32.
        assert_eq!(format!("{:x}", members[0].id), "8e9e05c52164694d");
        assert_eq!(format!("{:x}", cluster_id(&members)), "cdf818194e3a8c32");
    }

    #[test]
    fn bad_timing_and_missing_self_are_refused() {
        let f = Flags::parse_from(["orrery", "--election-timeout", "200"]);
        assert!(f.validate().unwrap_err().contains("5 times"));
        let f = Flags::parse_from(["orrery", "--name", "x"]);
        assert!(f
            .initial_members()
            .unwrap_err()
            .contains("couldn't find local name"));
    }
}
