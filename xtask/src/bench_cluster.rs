//! Fresh clusters for `cargo xtask bench`: Orrery or etcd started with the same flags (etcd's
//! defaults otherwise: 100 ms heartbeat, 1 s election timeout), data under `target/bench/`
//! on the same filesystem, ports on 127.0.0.1, and the load generator run against them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// Where the data directories and logs go.
pub const BENCH_DIR: &str = "target/bench";

/// The two systems compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    /// Orrery's native node.
    Orrery,
    /// etcd 3.4.
    Etcd,
}

impl System {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Orrery => "orrery",
            Self::Etcd => "etcd",
        }
    }
}

/// The binaries used.
pub struct Binaries {
    /// `target/release/orrery`.
    pub orrery: PathBuf,
    /// etcd 3.4.
    pub etcd: PathBuf,
    /// `target/release/orrery-bench`.
    pub loadgen: PathBuf,
}

/// A running cluster; killed and its data removed when dropped.
pub struct Cluster {
    children: Vec<Option<Child>>,
    /// `127.0.0.1:<port>` of each member.
    pub endpoints: Vec<String>,
    /// The index of the member that led once the cluster took writes.
    pub leader: usize,
    dirs: Vec<PathBuf>,
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

impl Cluster {
    /// Starts `members` members of `system` and waits until a leader takes writes.
    pub fn start(bins: &Binaries, system: System, members: usize) -> Result<Self, String> {
        let binary = match system {
            System::Orrery => &bins.orrery,
            System::Etcd => &bins.etcd,
        };
        let mut ports = Vec::new();
        for _ in 0..members {
            ports.push((free_port()?, free_port()?));
        }
        let initial = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Self {
            children: Vec::new(),
            endpoints: Vec::new(),
            leader: 0,
            dirs: Vec::new(),
        };
        for (i, (client, peer)) in ports.iter().enumerate() {
            let dir = Path::new(BENCH_DIR).join(format!("{}-{i}", system.name()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(BENCH_DIR).map_err(|e| format!("{BENCH_DIR}: {e}"))?;
            let log = std::fs::File::create(dir.with_extension("log"))
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            let client_url = format!("http://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let child = Command::new(binary)
                .args(["--name", &format!("m{i}")])
                .arg("--data-dir")
                .arg(&dir)
                .args(["--listen-client-urls", &client_url])
                .args(["--advertise-client-urls", &client_url])
                .args(["--listen-peer-urls", &peer_url])
                .args(["--initial-advertise-peer-urls", &peer_url])
                .args(["--initial-cluster", &initial])
                .args(["--initial-cluster-token", "bench"])
                .args(["--initial-cluster-state", "new"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| format!("{}: {e}", binary.display()))?;
            cluster.children.push(Some(child));
            cluster.endpoints.push(format!("127.0.0.1:{client}"));
            cluster.dirs.push(dir);
        }
        // Wait for a leader that takes writes.
        let out = loadgen(bins, &cluster.endpoints, &["--workload", "wait-leader"])?;
        cluster.leader = json_number(&out, "leader")
            .map(|l| l as usize)
            .ok_or_else(|| format!("no leader in {out}"))?;
        Ok(cluster)
    }

    /// The process ID of member `i`.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.children.get(i)?.as_ref().map(Child::id)
    }

    /// `kill -9` of member `i`; returns when it is dead.
    pub fn kill(&mut self, i: usize) -> Instant {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let at = Instant::now();
            let _ = c.wait();
            return at;
        }
        Instant::now()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Runs the load generator; returns its JSON line.
pub fn loadgen(bins: &Binaries, endpoints: &[String], args: &[&str]) -> Result<String, String> {
    let out = Command::new(&bins.loadgen)
        .arg("--endpoints")
        .arg(endpoints.join(","))
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", bins.loadgen.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        return Err(format!(
            "orrery-bench {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(stdout)
}

/// The number after `"key":` in a flat JSON object.
pub fn json_number(json: &str, key: &str) -> Option<f64> {
    let (_, rest) = json.split_once(&format!("\"{key}\":"))?;
    rest.split([',', '}']).next()?.trim().parse().ok()
}

/// Resident set size of a process, bytes (Linux `/proc`).
pub fn rss_bytes(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| format!("no VmRSS for {pid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_are_read_by_key() {
        let j = r#"{"workload":"put","ok":10,"throughput":123.5,"p99_ms":1.250,"leader":2}"#;
        assert_eq!(json_number(j, "ok"), Some(10.0));
        assert_eq!(json_number(j, "throughput"), Some(123.5));
        assert_eq!(json_number(j, "leader"), Some(2.0));
        assert_eq!(json_number(j, "missing"), None);
    }
}
