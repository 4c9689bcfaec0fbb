//! Fault schedules: the default one for `cargo xtask sim`, and randomized ones for the swarm,
//! where each seed also picks its own fault rates (VOPR-style swarm testing).

use super::{Action, NetworkParams, SimInput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A uniform index below `n`. Drawn as `u64`: rand draws a `usize` range from 32 bits on
/// wasm32 and 64 bits natively, which would make the same seed diverge.
pub(crate) fn pick(rng: &mut ChaCha8Rng, n: usize) -> usize {
    rng.gen_range(0..n as u64) as usize
}

/// How often faults strike in a generated schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultRates {
    /// Mean gap between faults, in ms.
    pub mean_gap_ms: u64,
    /// Weights of crash, partition, pause, network change (relative).
    pub weights: [u32; 4],
    /// Crashes lose unsynced writes (a disk that lies about fsync is not modelled).
    pub lose_unsynced: bool,
    /// Network during the fault phase.
    pub network: NetworkParams,
}

impl FaultRates {
    /// Moderate faults: the default `cargo xtask sim` schedule.
    pub fn moderate() -> Self {
        Self {
            mean_gap_ms: 1_500,
            weights: [3, 3, 1, 1],
            lose_unsynced: true,
            network: NetworkParams {
                latency_min_ms: 1,
                latency_max_ms: 15,
                loss_permille: 20,
                duplicate_permille: 10,
            },
        }
    }

    /// Rates drawn from the seed (swarm testing: some seeds are calm, some brutal).
    pub fn random(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_fa17);
        let max = rng.gen_range(1..=60);
        Self {
            mean_gap_ms: rng.gen_range(200..=4_000),
            weights: [
                rng.gen_range(0..=4),
                rng.gen_range(0..=4),
                rng.gen_range(0..=2),
                rng.gen_range(1..=2),
            ],
            lose_unsynced: rng.gen_bool(0.5),
            network: NetworkParams {
                latency_min_ms: rng.gen_range(0..=max.min(5)),
                latency_max_ms: max,
                loss_permille: [0, 10, 50, 200][pick(&mut rng, 4)],
                duplicate_permille: [0, 10, 50][pick(&mut rng, 3)],
            },
        }
    }
}

/// A schedule of faults over `[0, heal_ms)`, then everything healed, restarted and resumed
/// at `heal_ms` so that liveness can be checked.
pub fn schedule(seed: u64, members: u64, rates: FaultRates, heal_ms: u64) -> Vec<SimInput> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xfa17_5c4e);
    let mut out = vec![SimInput {
        at_ms: 0,
        action: Action::SetNetwork(rates.network),
    }];
    let total: u32 = rates.weights.iter().sum::<u32>().max(1);
    let mut t = 0;
    // Bounded: one fault per gap of at least 1 ms until the heal time.
    while t < heal_ms {
        t += rng.gen_range(1..=2 * rates.mean_gap_ms.max(1));
        if t >= heal_ms {
            break;
        }
        let member = rng.gen_range(1..=members);
        let mut roll = rng.gen_range(0..total);
        let kind = rates
            .weights
            .iter()
            .position(|&w| {
                if roll < w {
                    true
                } else {
                    roll -= w;
                    false
                }
            })
            .unwrap_or(3);
        let action = match kind {
            0 if rng.gen_bool(0.5) => Action::Crash {
                member,
                lose_unsynced: rates.lose_unsynced,
            },
            0 => Action::Restart { member },
            1 if rng.gen_bool(0.6) => {
                let mut groups = vec![Vec::new(), Vec::new()];
                for m in 1..=members {
                    groups[pick(&mut rng, 2)].push(m);
                }
                Action::Partition { groups }
            }
            1 if rng.gen_bool(0.3) => Action::CutLink {
                from: member,
                to: rng.gen_range(1..=members),
            },
            1 => Action::Heal,
            2 if rng.gen_bool(0.5) => Action::Pause { member },
            2 => Action::Resume { member },
            _ => Action::SetNetwork(NetworkParams {
                latency_max_ms: rng.gen_range(rates.network.latency_min_ms.max(1)..=100),
                ..rates.network
            }),
        };
        out.push(SimInput { at_ms: t, action });
    }
    out.push(SimInput {
        at_ms: heal_ms,
        action: Action::Heal,
    });
    out.push(SimInput {
        at_ms: heal_ms,
        action: Action::SetNetwork(NetworkParams::default()),
    });
    for member in 1..=members {
        out.push(SimInput {
            at_ms: heal_ms,
            action: Action::Restart { member },
        });
        out.push(SimInput {
            at_ms: heal_ms,
            action: Action::Resume { member },
        });
    }
    out
}
