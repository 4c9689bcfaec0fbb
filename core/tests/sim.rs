//! The simulator: determinism, replay of an input log, and checkers that notice a cluster
//! that cannot make progress.

use orrery_core::request::PutRequest;
use orrery_core::server::ClientRequest;
use orrery_core::sim::faults::FaultRates;
use orrery_core::sim::run::{liveness, run, run_config, run_traced, LIVENESS_MS};
use orrery_core::sim::{Action, Sim, SimConfig, SimInput};

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    let (a, trace_a) = run_traced(11, 3, 8_000, FaultRates::moderate(), 100_000);
    let (b, trace_b) = run_traced(11, 3, 8_000, FaultRates::moderate(), 100_000);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(trace_a, trace_b);
    assert!(a.events > 1_000 && a.operations > 50, "{a:?}");
    assert!(
        a.watch_events > 50,
        "the watcher followed the writes: {a:?}"
    );
    let c = run(12, 3, 8_000, FaultRates::moderate());
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn faulty_runs_keep_every_guarantee() {
    for (seed, members) in [(1, 3), (2, 5), (3, 1), (4, 3)] {
        let r = run(seed, members, 15_000, FaultRates::random(seed));
        assert!(r.violations.is_empty(), "seed {seed}: {:#?}", r.violations);
    }
}

fn put(member: u64, at_ms: u64, key: &str, value: &str) -> SimInput {
    SimInput {
        at_ms,
        action: Action::Request {
            member,
            request: ClientRequest::Put(PutRequest {
                key: key.as_bytes().to_vec().into(),
                value: value.as_bytes().to_vec().into(),
                ..PutRequest::default()
            }),
        },
    }
}

#[test]
fn an_input_log_replays_and_rewinding_is_replaying_to_a_time() {
    let mut config = SimConfig::new(3);
    config.clients = 1;
    config.trace_lines = 10_000;
    let inputs = vec![
        put(2, 500, "greeting", "hello"),
        SimInput {
            at_ms: 800,
            action: Action::Crash {
                member: 1,
                lose_unsynced: true,
            },
        },
        put(3, 2_500, "greeting", "again"),
    ];
    let mut first = Sim::new(5, config.clone(), inputs.clone());
    first.run_until(1_000);
    let at_1000 = first.trace_hash();
    first.run_until(4_000);
    assert!(
        first
            .trace()
            .lines()
            .iter()
            .filter(|l| l.contains("console #") && l.contains("Put("))
            .count()
            == 2,
        "both console puts were answered: {:#?}",
        first.trace().lines()
    );
    let mut rewound = Sim::new(5, config, inputs);
    rewound.run_until(1_000);
    assert_eq!(rewound.trace_hash(), at_1000);
    rewound.run_until(4_000);
    assert_eq!(rewound.trace_hash(), first.trace_hash());
    assert!(first.violations().is_empty(), "{:?}", first.violations());
}

#[test]
fn liveness_fails_when_a_majority_stays_down() {
    let mut config = SimConfig::new(3);
    config.clients = 1;
    let crash = |member| SimInput {
        at_ms: 1_000,
        action: Action::Crash {
            member,
            lose_unsynced: false,
        },
    };
    let mut sim = Sim::new(9, config, vec![crash(1), crash(2)]);
    sim.run_until(2_000 + LIVENESS_MS);
    let v = liveness(&sim, 2_000);
    assert!(
        v.iter().any(|v| v.detail.contains("0 leaders")),
        "no leader can exist without a quorum: {v:?}"
    );
    assert!(
        v.iter().any(|v| v.detail.contains("completed nothing")),
        "{v:?}"
    );
}

/// Members that keep their applied state in a backend ([`orrery_core::backend`]) restart from
/// it after crashes, replaying only later entries; every guarantee still holds, and each
/// running member's backend equals its applied state at the end.
#[test]
fn faulty_runs_with_a_backend_keep_every_guarantee() {
    for (seed, members) in [(21, 3), (22, 5), (23, 1)] {
        let mut config = SimConfig::new(members);
        config.server.applied_changes = true;
        let (r, _) = run_config(seed, config, 15_000, FaultRates::random(seed));
        assert!(r.violations.is_empty(), "seed {seed}: {:#?}", r.violations);
        assert!(r.operations > 50, "{r:?}");
    }
}
