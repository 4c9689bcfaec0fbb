//! etcd's flags, `ETCD_*` variables and `--config-file`: a bad one gets a one-line error
//! naming it and a non-zero exit; a config file starts a member as the flags would.

use orrery_tests::{free_port, http_get, orrery_bin, scratch};
use std::process::Command;
use std::time::{Duration, Instant};

fn fails_with(args: &[&str], env: &[(&str, &str)], expected: &str) {
    let out = Command::new(orrery_bin())
        .args(args)
        .envs(env.iter().copied())
        .current_dir(scratch("flags-cwd"))
        .output()
        .expect("run orrery");
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(expected), "{args:?}: {err}");
}

#[test]
fn bad_flags_and_configs_name_what_is_wrong() {
    fails_with(
        &["--heartbeat-interval", "fast"],
        &[],
        "'--heartbeat-interval <HEARTBEAT_INTERVAL>'",
    );
    fails_with(&["--no-such-flag"], &[], "--no-such-flag");
    fails_with(
        &["--election-timeout", "300"],
        &[],
        "--election-timeout[300ms] should be at least as 5 times as --heartbeat-interval[100ms]",
    );
    fails_with(
        &[],
        &[("ETCD_ELECTION_TIMEOUT", "300")],
        "--election-timeout[300ms]",
    );
    fails_with(
        &["--listen-client-urls", "127.0.0.1:2379"],
        &[],
        "--listen-client-urls: \"127.0.0.1:2379\": URL scheme must be http",
    );
    fails_with(
        &["--initial-cluster-state", "maybe"],
        &[],
        "invalid value 'maybe' for '--initial-cluster-state",
    );
    fails_with(
        &["--name", "n9"],
        &[],
        "couldn't find local name \"n9\" in the initial cluster configuration",
    );
    let dir = scratch("flags-config");
    let config = dir.join("bad.yml");
    std::fs::write(&config, "heartbeat-interval: often\n").unwrap();
    fails_with(
        &["--config-file", config.to_str().unwrap()],
        &[],
        "--config-file",
    );
    std::fs::write(&config, "name: [a\n").unwrap();
    fails_with(
        &["--config-file", config.to_str().unwrap()],
        &[],
        "invalid YAML",
    );
}

#[test]
fn a_config_file_starts_a_member_and_other_flags_are_ignored() {
    let dir = scratch("config-file");
    let (client, peer) = (free_port(), free_port());
    let config = dir.join("orrery.yml");
    std::fs::write(
        &config,
        format!(
            "# etcd's sample keys\nname: infra1\ndata-dir: {data}\nlisten-client-urls: http://127.0.0.1:{client}\nadvertise-client-urls: http://127.0.0.1:{client}\nlisten-peer-urls: http://127.0.0.1:{peer}\ninitial-advertise-peer-urls: http://127.0.0.1:{peer}\ninitial-cluster: infra1=http://127.0.0.1:{peer}\nheartbeat-interval: 20\nelection-timeout: 200\nenable-v2: false\n",
            data = dir.join("infra1").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("log")).unwrap();
    let mut child = Command::new(orrery_bin())
        .args(["--config-file", config.to_str().unwrap()])
        // Ignored, as etcd ignores flags and variables next to a config file.
        .args(["--name", "ignored"])
        .env("ETCD_HEARTBEAT_INTERVAL", "1")
        .stderr(log)
        .spawn()
        .expect("start orrery");
    let endpoint = format!("127.0.0.1:{client}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let healthy = loop {
        let up = std::net::TcpStream::connect(&endpoint).is_ok()
            && http_get(&endpoint, "/health").0 == 200;
        if up || Instant::now() > deadline {
            break up;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    assert!(healthy, "the member never became healthy:\n{log}");
    assert!(log.contains("name=infra1"), "{log}");
    assert!(
        log.contains("ignoring a key Orrery does not support yet key=enable-v2"),
        "{log}"
    );
    assert!(dir.join("infra1/member/identity").is_file());
}
