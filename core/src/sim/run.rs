//! One complete checked run, as `cargo xtask sim` and the swarm run it: faults until the heal
//! time, then a calm phase in which liveness must show, then the end-of-run checks.

use super::check::{linearizability, Violation};
use super::faults::{self, FaultRates};
use super::{Sim, SimConfig};
use crate::server::StateRole;

/// After the heal, a leader must be elected and every client must complete a request
/// within this long (virtual ms).
pub const LIVENESS_MS: u64 = 5_000;

/// Search budget of the linearizability check, per key.
const LINEARIZABILITY_STEPS: u64 = 2_000_000;

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The seed.
    pub seed: u64,
    /// Members.
    pub members: usize,
    /// Virtual run length, in ms.
    pub ms: u64,
    /// Events processed.
    pub events: u64,
    /// The run's identity.
    pub trace_hash: u64,
    /// Client operations recorded.
    pub operations: usize,
    /// Watch events received by the watchers.
    pub watch_events: usize,
    /// Times a watcher was told its start revision was compacted.
    pub watch_compactions: usize,
    /// Everything the checkers found.
    pub violations: Vec<Violation>,
}

/// Runs `seed` for `ms` virtual milliseconds with `rates` faults until 60 % of the run.
pub fn run(seed: u64, members: usize, ms: u64, rates: FaultRates) -> RunReport {
    run_traced(seed, members, ms, rates, 0).0
}

/// The simulation of [`run`] without the checks made at its end (liveness,
/// linearizability, backends): what replaying the run costs. The checks made while it runs
/// (Raft safety, watch order) are part of it.
pub fn replay(seed: u64, members: usize, ms: u64, rates: FaultRates) -> Sim {
    simulate(seed, SimConfig::new(members), ms, rates).0
}

/// Runs the default fault schedule (healed at the returned time) to `ms`.
fn simulate(seed: u64, config: SimConfig, ms: u64, rates: FaultRates) -> (Sim, u64) {
    let heal_ms = ms.saturating_sub(LIVENESS_MS).min(ms * 6 / 10);
    let inputs = faults::schedule(seed, config.members as u64, rates, heal_ms);
    let mut sim = Sim::new(seed, config, inputs);
    sim.run_until(ms);
    (sim, heal_ms)
}

/// [`run`], keeping up to `trace_lines` lines of trace.
pub fn run_traced(
    seed: u64,
    members: usize,
    ms: u64,
    rates: FaultRates,
    trace_lines: usize,
) -> (RunReport, Vec<String>) {
    let mut config = SimConfig::new(members);
    config.trace_lines = trace_lines;
    run_config(seed, config, ms, rates)
}

/// [`run_traced`] with the given settings.
pub fn run_config(
    seed: u64,
    config: SimConfig,
    ms: u64,
    rates: FaultRates,
) -> (RunReport, Vec<String>) {
    let members = config.members;
    let (sim, heal_ms) = simulate(seed, config, ms, rates);
    let mut violations = sim.violations().to_vec();
    violations.extend(liveness(&sim, heal_ms));
    violations.extend(sim.check_watchers());
    // Members without a backend never wrote one: `backend_matches` has nothing to compare.
    for slot in sim.slots() {
        if let Some(server) = &slot.server {
            if let Err(detail) = slot.disk.backend_matches(server) {
                violations.push(Violation {
                    at_ms: ms,
                    checker: "backend",
                    detail,
                });
            }
        }
    }
    let history = sim.history_with_outstanding();
    if let Err(e) = linearizability::check(&history, LINEARIZABILITY_STEPS) {
        violations.push(Violation {
            at_ms: ms,
            checker: "linearizability",
            detail: format!("{e:?}"),
        });
    }
    let report = RunReport {
        seed,
        members,
        ms,
        events: sim.events(),
        trace_hash: sim.trace_hash(),
        operations: sim.history().len(),
        watch_events: sim.watch_logs().map(|l| l.events.len()).sum(),
        watch_compactions: sim.watch_logs().map(|l| l.compactions.len()).sum(),
        violations,
    };
    (report, sim.trace().lines().to_vec())
}

/// Liveness after heal: one leader all members follow, and every client finished a request
/// it sent after the heal.
pub fn liveness(sim: &Sim, heal_ms: u64) -> Vec<Violation> {
    let mut out = Vec::new();
    let end = sim.now_ms();
    if end < heal_ms + LIVENESS_MS {
        return out;
    }
    let fail = |detail: String| Violation {
        at_ms: end,
        checker: "liveness",
        detail,
    };
    let statuses: Vec<_> = sim
        .slots()
        .iter()
        .filter_map(|s| s.server.as_ref())
        .filter(|s| !s.is_removed())
        .map(|s| s.status())
        .collect();
    let leaders: Vec<_> = statuses
        .iter()
        .filter(|s| s.role == StateRole::Leader)
        .collect();
    match leaders.as_slice() {
        [l] => {
            let lost: Vec<u64> = statuses
                .iter()
                .filter(|s| s.leader != l.id)
                .map(|s| s.id)
                .collect();
            if !lost.is_empty() {
                out.push(fail(format!(
                    "members {lost:?} do not follow leader n{}",
                    l.id
                )));
            }
        }
        _ => out.push(fail(format!(
            "{} leaders {LIVENESS_MS} ms after the heal",
            leaders.len()
        ))),
    }
    for c in 0..sim.config().clients as u64 {
        let done = sim
            .history()
            .iter()
            .any(|op| op.client == c && op.invoke_ms >= heal_ms && op.complete_ms.is_some());
        if !done {
            out.push(fail(format!(
                "client c{c} completed nothing after the heal"
            )));
        }
    }
    out
}
