//! Each checker must be able to fail: planted violations are found.

use super::*;
use crate::request::{PutRequest, Request};
use crate::sim::{Sim, SimConfig};

fn calm_cluster() -> Sim {
    let mut config = SimConfig::new(3);
    config.clients = 0;
    let mut sim = Sim::new(21, config, Vec::new());
    sim.run_until(2_000);
    assert!(sim.violations().is_empty());
    sim
}

#[test]
fn two_leaders_in_one_term_are_reported() {
    let sim = calm_cluster();
    let leader = sim
        .slots()
        .iter()
        .filter_map(|s| s.server.as_ref())
        .find(|s| s.status().role == crate::server::StateRole::Leader)
        .expect("a leader after 2 s");
    let status = leader.status();
    let mut safety = RaftSafety::new(3);
    safety.plant_leader(status.term, status.id % 3 + 1);
    let v = safety
        .observe((status.id - 1) as usize, leader, 0)
        .expect_err("a second leader in the term");
    assert!(v.detail.contains("both lead term"), "{v}");
}

#[test]
fn a_changed_committed_entry_is_reported() {
    let sim = calm_cluster();
    let server = sim.slots()[0].server.as_ref().expect("running");
    let mut safety = RaftSafety::new(3);
    let index = server.status().commit;
    safety.plant_committed(index, 999);
    let v = safety.observe(0, server, 0).expect_err("entry differs");
    assert!(v.detail.contains(&format!("index {index}")), "{v}");
}

#[test]
fn members_that_diverge_at_the_same_applied_index_are_reported() {
    let mut sim = calm_cluster();
    sim.tamper(
        1,
        &Request::Put(PutRequest {
            key: "x".into(),
            value: "only on n2".into(),
            ..PutRequest::default()
        }),
    );
    sim.check_hashes();
    assert!(
        sim.violations()
            .iter()
            .any(|v| v.detail.contains("different data")),
        "{:?}",
        sim.violations()
    );
}
