//! A three-member cluster of orrery processes: losing the leader to kill -9 keeps the
//! cluster writable, and the restarted member catches up.

use orrery_tests::{scratch, skip_without_etcdctl, Cluster};
use std::time::{Duration, Instant};

fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    // A liveness bound, not a speed measurement: elections take a few 200 ms timeouts.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(x) = f() {
            return x;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not happen within 30 s");
}

#[test]
fn the_cluster_survives_kill_9_of_its_leader_and_the_member_catches_up() {
    if skip_without_etcdctl() {
        return;
    }
    let dir = scratch("cluster3");
    let mut c = Cluster::start(&dir, 3);
    let list = c.members[0].as_ref().unwrap().ok(&["member", "list"]);
    assert_eq!(list.lines().count(), 3, "{list}");
    let leader = until("a leader", || c.leader());
    let other = (leader + 1) % 3;
    let m = c.members[other].as_ref().unwrap();
    assert_eq!(m.ok(&["put", "before", "kill"]), "OK\n");
    c.kill(leader);
    let survivor = c.members[other].as_ref().unwrap();
    until("a write after the leader died", || {
        let out = survivor.etcdctl(&["--command-timeout=1s", "put", "after", "kill"], "");
        out.status.success().then_some(())
    });
    c.restart(leader);
    let back = c.members[leader].as_ref().unwrap();
    until("the restarted member catching up", || {
        let v = back.ok(&["get", "after", "--print-value-only", "--consistency=s"]);
        (v == "kill\n").then_some(())
    });
    assert_eq!(back.ok(&["get", "before", "--print-value-only"]), "kill\n");
}

#[test]
fn a_member_added_with_etcdctl_joins_catches_up_restarts_and_can_be_removed() {
    if skip_without_etcdctl() {
        return;
    }
    let dir = scratch("join");
    let mut c = Cluster::start(&dir, 1);
    let first = c.members[0].as_ref().unwrap();
    assert_eq!(first.ok(&["put", "before", "join"]), "OK\n");
    let new = c.add_member();
    let joined = c.members[new].as_ref().unwrap();
    assert_eq!(
        joined.ok(&["get", "before", "--print-value-only"]),
        "join\n",
        "the new member got the data"
    );
    let list = joined.ok(&["member", "list"]);
    assert_eq!(list.matches(", started, ").count(), 2, "{list}");
    assert!(list.contains(", started, n2, "), "{list}");
    assert_eq!(joined.ok(&["put", "through", "n2"]), "OK\n");
    let id = list
        .lines()
        .find(|l| l.contains(", n2, "))
        .and_then(|l| l.split(',').next())
        .unwrap()
        .to_owned();
    // kill -9 and restart with the same flags: the member keeps its ID and data.
    c.kill(new);
    c.restart(new);
    let back = c.members[new].as_ref().unwrap();
    assert_eq!(
        back.ok(&["get", "through", "--print-value-only", "--consistency=s"]),
        "n2\n"
    );
    let status = back.ok(&["endpoint", "status"]);
    assert!(status.contains(&format!(", {id}, 3.4.23, ")), "{status}");
    // Removing it stops its process.
    let first = c.members[0].as_ref().unwrap();
    assert_eq!(
        first.ok(&["member", "remove", &id]),
        // etcdctl prints both with %16x: space-padded.
        format!(
            "Member {id:>16} removed from cluster {:>16}\n",
            cluster_id(first)
        )
    );
    assert_eq!(first.ok(&["put", "after", "remove"]), "OK\n");
    let mut removed = c.members[new].take().unwrap();
    until("the removed member to exit", || {
        removed.exited().then_some(())
    });
}

fn cluster_id(m: &orrery_tests::Member) -> String {
    let json = m.ok(&["endpoint", "status", "-w", "json"]);
    let id: u64 = json
        .split("\"cluster_id\":")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .expect("a cluster ID");
    format!("{id:x}")
}
