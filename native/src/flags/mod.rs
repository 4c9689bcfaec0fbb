//! etcd's command-line flags (3.4 names and defaults), each also read from its `ETCD_*`
//! environment variable, and etcd's member and cluster IDs.

mod config_file;

use clap::{CommandFactory, FromArgMatches, Parser};
use orrery_core::cluster::Member;
use sha1::{Digest, Sha1};
use std::path::PathBuf;

/// The flags Orrery supports so far.
#[derive(Clone, Debug, Parser)]
#[command(name = "orrery", version = concat!(env!("CARGO_PKG_VERSION"), " (etcd API 3.4)"), about = "An etcd-compatible key-value store")]
// A flag given twice takes its last value, as with etcd's Go flags (scripts append overrides).
#[command(args_override_self = true)]
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
    /// Raise alarms when backend size exceeds the given quota (0 defaults to low space
    /// quota).
    #[arg(long, env = "ETCD_QUOTA_BACKEND_BYTES", default_value_t = 0)]
    pub quota_backend_bytes: i64,
    /// Maximum client request size in bytes the server will accept.
    #[arg(long, env = "ETCD_MAX_REQUEST_BYTES", default_value_t = 1_572_864)]
    pub max_request_bytes: u64,
    /// Interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for
    /// duration based retention, defaulting to hours if no time unit is provided (e.g.
    /// '5m'). 'revision' for revision number based retention.
    #[arg(long, env = "ETCD_AUTO_COMPACTION_MODE", default_value = "periodic", value_parser = ["periodic", "revision"])]
    pub auto_compaction_mode: String,
    /// Auto compaction retention for mvcc key value store. 0 means disable auto compaction.
    #[arg(long, env = "ETCD_AUTO_COMPACTION_RETENTION", default_value = "0")]
    pub auto_compaction_retention: String,
    /// Log level: debug, info, warn, error.
    #[arg(long, env = "ETCD_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Path to the server configuration file (etcd's YAML keys). When given, the other
    /// flags and environment variables are ignored, as in etcd.
    #[arg(long, env = "ETCD_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,
    /// Keys of the config file that were ignored (logged once logging is up).
    #[arg(skip)]
    pub ignored_config_keys: Vec<String>,
}

/// How often and how far the auto-compactor compacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoCompaction {
    /// Off (retention 0).
    Off,
    /// Keep this much history (etcd `periodic`).
    Periodic(std::time::Duration),
    /// Keep this many revisions (etcd `revision`).
    Revision(i64),
}

impl Flags {
    /// The flags from the command line and `ETCD_*` variables, or, with `--config-file`,
    /// from that file alone. Clap reports bad flags itself (and exits); errors here are one
    /// line naming the flag or the file.
    pub fn load() -> Result<Self, String> {
        let flags = Self::parse();
        match &flags.config_file {
            Some(path) => Self::from_config_file(path),
            None => Ok(flags),
        }
    }

    /// The flags a config file gives, with etcd's defaults for the rest (environment
    /// variables are not read, as etcd ignores them then).
    pub fn from_config_file(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--config-file {}: {e}", path.display()))?;
        let (args, ignored) = config_file::to_args(&text)
            .map_err(|e| format!("--config-file {}: {e}", path.display()))?;
        let mut flags = Self::from_args_without_env(args)
            .map_err(|e| format!("--config-file {}: {e}", path.display()))?;
        flags.config_file = Some(path.to_owned());
        flags.ignored_config_keys = ignored;
        Ok(flags)
    }

    /// Parses `args` (flags only, no program name) with no environment variables.
    pub fn from_args_without_env(args: Vec<String>) -> Result<Self, String> {
        let command = Self::command().mut_args(|a| a.env(None::<&str>));
        let argv = std::iter::once("orrery".to_owned()).chain(args);
        let matches = command.try_get_matches_from(argv).map_err(|e| {
            // Clap's first line names the flag and the bad value.
            e.to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .replace("error: ", "")
        })?;
        Self::from_arg_matches(&matches).map_err(|e| e.to_string())
    }

    /// `--auto-compaction-mode` and `--auto-compaction-retention`, as etcd reads them: a
    /// bare number of hours (or revisions), or a Go duration such as `5m` or `1h30m`.
    pub fn auto_compaction(&self) -> Result<AutoCompaction, String> {
        let r = self.auto_compaction_retention.trim();
        let bad = || {
            format!(
                "--auto-compaction-retention: invalid value {r:?} for mode {:?}",
                self.auto_compaction_mode
            )
        };
        if self.auto_compaction_mode == "revision" {
            let n: i64 = r.parse().map_err(|_| bad())?;
            if n < 0 {
                return Err(bad());
            }
            return Ok(if n == 0 {
                AutoCompaction::Off
            } else {
                AutoCompaction::Revision(n)
            });
        }
        let d = match r.parse::<u64>() {
            Ok(hours) => std::time::Duration::from_secs(hours * 3600),
            Err(_) => config_file::go_duration(r).ok_or_else(bad)?,
        };
        Ok(if d.is_zero() {
            AutoCompaction::Off
        } else {
            AutoCompaction::Periodic(d)
        })
    }

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
        if self.max_request_bytes == 0 {
            return Err("--max-request-bytes must be greater than 0".into());
        }
        if self.quota_backend_bytes < 0 {
            return Err(format!(
                "--quota-backend-bytes: {} is negative",
                self.quota_backend_bytes
            ));
        }
        self.auto_compaction()?;
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
    fn a_flag_given_twice_takes_its_last_value_as_in_etcd() {
        let twice = ["--heartbeat-interval", "20", "--heartbeat-interval", "100"];
        let f = Flags::from_args_without_env(twice.map(String::from).to_vec()).unwrap();
        assert_eq!(f.heartbeat_interval, 100);
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
