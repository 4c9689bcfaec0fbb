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
