//! Datadriven scenarios (`core/testdata/*.txt`, in the style of etcd-io/raft's testdata):
//! each block is a command and the state or response it must print.
//!
//! The same files run against a real etcd 3.4 (`scenarios_match_etcd`), so every expected
//! output not marked `core-only` is etcd's own behaviour, not our reading of it.
//! `ORRERY_REWRITE=1 cargo test -p orrery-core --test scenarios` rewrites the expected outputs
//! from the core (then review the diff).

mod scenario;

#[test]
fn scenarios_core() {
    scenario::run_all(scenario::Mode::Core);
}

#[test]
fn scenarios_match_etcd() {
    scenario::run_all(scenario::Mode::Etcd);
}
