//! Helpers for end-to-end tests: start `orrery` processes on free loopback ports and drive
//! them with the real `etcdctl`.
//!
//! The `orrery` binary is found next to the test executable's target directory
//! (`cargo xtask test` builds it first); `ORRERY_BIN` overrides.
#![deny(missing_docs)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `orrery` binary.
pub fn orrery_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("ORRERY_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/orrery
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("orrery"))
        .expect("target directory");
    assert!(
        bin.is_file(),
        "{} not found: run `cargo xtask test` (it builds it) or `cargo build -p orrery`",
        bin.display()
    );
    bin
}

/// The real `etcdctl` (`ORRERY_ETCDCTL` or `PATH`). `None` only outside CI; under
/// `CI=true` or `ORRERY_REQUIRE_ETCD` a missing etcdctl fails the test.
pub fn etcdctl_bin() -> Option<PathBuf> {
    find_tool("ORRERY_ETCDCTL", "etcdctl", "etcd-client")
}

/// The real `etcd` 3.4 server (`ORRERY_ETCD` or `PATH`), for side-by-side comparisons.
/// `None` only outside CI, like [`etcdctl_bin`].
pub fn etcd_bin() -> Option<PathBuf> {
    find_tool("ORRERY_ETCD", "etcd", "etcd-server")
}

/// `$var`, else `name` on `PATH`; required (a panic naming the Debian `package`) on CI.
fn find_tool(var: &str, name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os(var).map(PathBuf::from).or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    let required = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var_os("ORRERY_REQUIRE_ETCD").is_some();
    if found.is_none() && required {
        panic!("{name} not found: install Debian's {package} (cargo xtask test does)");
    }
    found
}

/// True (after saying so) when etcdctl is missing outside CI: the caller returns. Under CI
/// [`etcdctl_bin`] fails the test instead.
pub fn skip_without_etcdctl() -> bool {
    let missing = etcdctl_bin().is_none();
    if missing {
        eprintln!("SKIPPED: etcdctl not installed (required when CI=true)");
    }
    missing
}

/// A free TCP port on 127.0.0.1, below Linux's ephemeral range (32768–60999): a port the
/// OS handed out for `:0` could be reused as the source port of one of the many etcdctl
/// connections before the member binds it. Each call in a process gets a different port;
/// processes start at different offsets.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    const FIRST: u16 = 20_000;
    const SPAN: u16 = 12_000;
    let offset = (std::process::id() % 40) as u16 * 300;
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = FIRST + (offset + n) % SPAN;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}..{}", FIRST + SPAN)
}

/// A running `orrery` process, killed when dropped.
pub struct Member {
    child: Child,
    /// The client endpoint, `127.0.0.1:<port>`.
    pub endpoint: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its log file.
    pub log: PathBuf,
}

impl Member {
    /// Starts the real etcd as a one-member cluster with etcd's default name and peer URL
    /// (so its member and cluster IDs are the same as an orrery started by
    /// [`Member::start`]), listening on free ports.
    pub fn start_real_etcd(etcd: &Path, data_dir: &Path, port: u16, extra: &[&str]) -> Self {
        Self::start_binary(etcd, data_dir, port, extra)
    }

    /// Starts a one-member cluster with its data in `data_dir`, waiting until it answers.
    pub fn start(data_dir: &Path, port: u16) -> Self {
        Self::start_with(data_dir, port, &[])
    }

    /// [`Member::start`] with more flags.
    pub fn start_with(data_dir: &Path, port: u16, extra: &[&str]) -> Self {
        Self::start_binary(&orrery_bin(), data_dir, port, extra)
    }

    fn start_binary(binary: &Path, data_dir: &Path, port: u16, extra: &[&str]) -> Self {
        // Advertise etcd's default peer URL (so the member ID is etcd's default one) but
        // listen on a free port, so that tests can run side by side.
        let peer = format!("http://127.0.0.1:{}", free_port());
        let mut args = vec!["--listen-peer-urls".to_owned(), peer];
        args.extend(extra.iter().map(|s| s.to_string()));
        let m = Self::spawn_binary(binary, data_dir, port, &args);
        m.wait_ready();
        m
    }

    fn spawn(data_dir: &Path, port: u16, extra: &[String]) -> Self {
        Self::spawn_binary(&orrery_bin(), data_dir, port, extra)
    }

    /// Starts `binary` (orrery or etcd: the flags are the same) serving clients on `port`.
    fn spawn_binary(binary: &Path, data_dir: &Path, port: u16, extra: &[String]) -> Self {
        let endpoint = format!("127.0.0.1:{port}");
        let url = format!("http://{endpoint}");
        std::fs::create_dir_all(data_dir).expect("data dir");
        let log = data_dir.with_extension("log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let child = Command::new(binary)
            .args(["--data-dir"])
            .arg(data_dir)
            .args([
                "--listen-client-urls",
                &url,
                "--advertise-client-urls",
                &url,
            ])
            .args(["--heartbeat-interval", "20", "--election-timeout", "200"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        Self {
            child,
            endpoint,
            data_dir: data_dir.to_owned(),
            log,
        }
    }

    /// Waits until the member answers a quorum read (its cluster has a leader).
    pub fn wait_ready(&self) {
        self.wait_for(&["endpoint", "health"], |_| true);
    }

    /// Waits until this member lists member `name` as started (published).
    pub fn wait_started(&self, name: &str) {
        let published = format!(", started, {name}, ");
        self.wait_for(&["member", "list"], |out| out.contains(&published));
    }

    /// Waits until this member knows it is a learner (`endpoint status` says so). `endpoint
    /// health` cannot tell: it reads with quorum, which a learner refuses (`rpc not
    /// supported for learner`, as etcd's learners do) once it knows what it is.
    pub fn wait_learner(&self) {
        self.wait_for(&["endpoint", "status", "-w", "json"], |out| {
            out.contains("\"isLearner\":true")
        });
    }

    fn wait_for(&self, check: &[&str], ok: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::fs::read_to_string(&self.log).is_ok_and(|l| l.contains("orrery: ")) {
                break; // it exited with an error: say why below
            }
            if let Some(ctl) = etcdctl_bin() {
                let out = Command::new(ctl)
                    .args(["--endpoints", &self.endpoint, "--command-timeout=1s"])
                    .args(check)
                    .output();
                if out.is_ok_and(|o| o.status.success() && ok(&String::from_utf8_lossy(&o.stdout)))
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "orrery did not become ready; log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Whether the process has exited on its own.
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|s| s.is_some())
    }

    /// Kills the process without warning (`kill -9`).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Runs `etcdctl --endpoints <this member> <args>`, with `stdin` as its input.
    pub fn etcdctl(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(etcdctl_bin().expect("etcdctl"))
            .args(["--endpoints", &self.endpoint])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run etcdctl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("etcdctl output")
    }

    /// `etcdctl <args>`'s standard output; panics with stderr if it failed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.etcdctl(args, "");
        assert!(
            out.status.success(),
            "etcdctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// `etcdctl <args>`'s last stderr line; panics if it succeeded.
    pub fn err(&self, args: &[&str]) -> String {
        let out = self.etcdctl(args, "");
        assert!(!out.status.success(), "etcdctl {args:?} should have failed");
        let stderr = String::from_utf8(out.stderr).expect("utf-8");
        stderr.lines().last().unwrap_or("").to_owned()
    }
}

/// A cluster of `n` members on loopback, each restartable with the same flags.
pub struct Cluster {
    /// The members (`None` while killed).
    pub members: Vec<Option<Member>>,
    specs: Vec<(PathBuf, u16, Vec<String>)>,
    /// `name=peerURL` of every member, in order.
    initial: Vec<String>,
    dir: PathBuf,
}

impl Cluster {
    /// Starts `n` members named `n1..` with data under `dir`, and waits until all answer.
    pub fn start(dir: &Path, n: usize) -> Self {
        Self::start_with(dir, n, &[])
    }

    /// [`Cluster::start`], with `extra` flags for every member (later flags win).
    pub fn start_with(dir: &Path, n: usize, extra: &[&str]) -> Self {
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let initial: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("n{}=http://127.0.0.1:{peer}", i + 1))
            .collect();
        let initial_list = initial.clone();
        let initial = initial.join(",");
        let specs: Vec<(PathBuf, u16, Vec<String>)> = ports
            .iter()
            .enumerate()
            .map(|(i, (client, peer))| {
                let peer_url = format!("http://127.0.0.1:{peer}");
                let mut args = vec![
                    "--name".into(),
                    format!("n{}", i + 1),
                    "--initial-cluster".into(),
                    initial.clone(),
                    "--initial-advertise-peer-urls".into(),
                    peer_url.clone(),
                    "--listen-peer-urls".into(),
                    peer_url,
                ];
                args.extend(extra.iter().map(|s| s.to_string()));
                (dir.join(format!("n{}", i + 1)), *client, args)
            })
            .collect();
        let members: Vec<Option<Member>> = specs
            .iter()
            .map(|(d, port, args)| Some(Member::spawn(d, *port, args)))
            .collect();
        for m in members.iter().flatten() {
            m.wait_ready();
        }
        Self {
            members,
            specs,
            initial: initial_list,
            dir: dir.to_owned(),
        }
    }

    /// Adds a member the way the etcd docs do: `etcdctl member add` on a running member,
    /// then a new process with `--initial-cluster-state existing`. Returns its index.
    pub fn add_member(&mut self) -> usize {
        self.add(false)
    }

    /// [`Cluster::add_member`] as a learner (`member add --learner`).
    pub fn add_learner(&mut self) -> usize {
        self.add(true)
    }

    fn add(&mut self, learner: bool) -> usize {
        let i = self.members.len();
        let name = format!("n{}", i + 1);
        let (client, peer) = (free_port(), free_port());
        let peer_url = format!("http://127.0.0.1:{peer}");
        let via = self.members.iter().flatten().next().expect("a live member");
        let peers = format!("--peer-urls={peer_url}");
        let mut args = vec!["member", "add", &name, &peers];
        if learner {
            args.push("--learner");
        }
        let added = via.ok(&args);
        assert!(added.starts_with("Member "), "{added}");
        self.initial.push(format!("{name}={peer_url}"));
        let args = vec![
            "--name".into(),
            name.clone(),
            "--initial-cluster".into(),
            self.initial.join(","),
            "--initial-cluster-state".into(),
            "existing".into(),
            "--initial-advertise-peer-urls".into(),
            peer_url.clone(),
            "--listen-peer-urls".into(),
            peer_url,
        ];
        let spec = (self.dir.join(&name), client, args);
        let m = Member::spawn(&spec.0, spec.1, &spec.2);
        if learner {
            let via = self.members.iter().flatten().next().expect("a live member");
            via.wait_started(&name);
            m.wait_learner();
        } else {
            m.wait_ready();
        }
        self.specs.push(spec);
        self.members.push(Some(m));
        i
    }

    /// Kills member `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        if let Some(m) = self.members[i].take() {
            m.kill();
        }
    }

    /// Starts member `i` again from its data dir.
    pub fn restart(&mut self, i: usize) {
        let (d, port, args) = &self.specs[i];
        let m = Member::spawn(d, *port, args);
        m.wait_ready();
        self.members[i] = Some(m);
    }

    /// The index of the member that says it is the leader.
    pub fn leader(&self) -> Option<usize> {
        self.members.iter().position(|m| {
            m.as_ref().is_some_and(|m| {
                let out = m.etcdctl(&["endpoint", "status"], "");
                out.status.success()
                    && String::from_utf8_lossy(&out.stdout).contains(", true, false, ")
            })
        })
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET http://<endpoint><path>` over HTTP/1.1: the status code and the body.
pub fn http_get(endpoint: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(endpoint).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {endpoint}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (status, body.to_owned())
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("orrery-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
