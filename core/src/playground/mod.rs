//! The browser playground's model: a simulated cluster, the user's input log, the
//! timeline, and the console, without any UI. The web crate only renders
//! [`Playground::frame`] and forwards the user's clicks as [`UserInput`]s.
//!
//! A run is `(seed, members, input log)`: [`script`] writes it as text, and a share link is
//! that text compressed. Replaying it rebuilds the same [`Sim`], so the same moment is
//! reached bit for bit: an input made live at virtual time `t` is stamped `t + 1`, and the
//! simulator processes inputs first within a millisecond, exactly as a replay that knew the
//! input from the start does.
//!
//! Time travel: the run is deterministic, so going back to `t` is replaying the log up to
//! `t` ([`Playground::seek`]). Acting in the past forks: the inputs after that moment move
//! to a saved branch ([`Playground::branches`]) and the new input starts the current one.

pub mod console;
pub mod script;
pub mod view;

use crate::sim::{Action, NetworkParams, Sim, SimConfig, SimInput};

/// A member's number on the page, `n1`..`n9` (the initial members' IDs are 1..=9).
pub type MemberId = u64;

/// Something the user does, as it is recorded in the input log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserInput {
    /// Kill a member (its disk keeps what was synced).
    Crash(MemberId),
    /// Start a crashed member again from its disk.
    Restart(MemberId),
    /// Cut every link to and from a member.
    Isolate(MemberId),
    /// Cut one direction of one link.
    Cut(MemberId, MemberId),
    /// Restore one direction of one link.
    Restore(MemberId, MemberId),
    /// Only members in the same island reach each other.
    Partition(Vec<Vec<MemberId>>),
    /// Restore every link.
    Heal,
    /// Latency and loss of every link.
    Network(NetworkParams),
    /// Latency and loss of one direction of one link (`None`: back to the network's).
    Link(MemberId, MemberId, Option<NetworkParams>),
    /// Start or stop the background clients.
    Workload(bool),
    /// An etcdctl command line typed into the console, sent to a member; `stdin` is what
    /// `txn` reads.
    Console {
        /// The member the console talks to.
        member: MemberId,
        /// The line as typed.
        line: String,
        /// Lines after it (`txn`'s compares and operations).
        stdin: String,
    },
}

/// One entry of the input log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Virtual time, in ms.
    pub at_ms: u64,
    /// What.
    pub input: UserInput,
}

/// A saved future: the inputs a fork replaced, from the moment of the fork.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branch {
    /// Where it left the current history.
    pub forked_at_ms: u64,
    /// The inputs of the whole branch (before and after the fork).
    pub log: Vec<Step>,
    /// How far it had run.
    pub horizon_ms: u64,
}

/// Saved branches kept (older ones are dropped).
pub const MAX_BRANCHES: usize = 16;
/// Inputs in one log (a share link must stay a usable URL).
pub const MAX_STEPS: usize = 4_096;
/// Events one "run until" call may process before giving up.
pub const RUN_UNTIL_EVENTS: u64 = 2_000_000;

/// The playground's state.
pub struct Playground {
    seed: u64,
    members: usize,
    log: Vec<Step>,
    horizon_ms: u64,
    branches: Vec<Branch>,
    sim: Sim,
}

/// Why an input was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    /// The log is full.
    TooManyInputs,
    /// No such member.
    NoSuchMember(MemberId),
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooManyInputs => write!(f, "the input log is full ({MAX_STEPS} inputs)"),
            Self::NoSuchMember(m) => write!(f, "there is no member n{m}"),
        }
    }
}

/// What "run until" waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Some member becomes leader of a term, or the known leader changes.
    LeaderChange,
    /// Some member's commit index moves.
    Commit,
}

/// The simulator's settings for the playground: the sim's defaults with visible pacing.
pub fn sim_config(members: usize) -> SimConfig {
    let mut c = SimConfig::new(members);
    c.clients = 2;
    c.watchers = 0;
    c.think_ms = (200, 600);
    c.network.latency_min_ms = 15;
    c.network.latency_max_ms = 40;
    c.server.tick_ms = 50;
    c.server.heartbeat_ticks = 2;
    c.server.election_ticks = 10;
    c.server.request_timeout_ms = 5_000;
    c.auto_compaction = false;
    c
}

impl Playground {
    /// A fresh run.
    pub fn new(seed: u64, members: usize) -> Self {
        Self::replay(seed, members, Vec::new(), 0)
    }

    /// The run of `log`, played to `at_ms`.
    pub fn replay(seed: u64, members: usize, log: Vec<Step>, at_ms: u64) -> Self {
        let members = members.clamp(1, 9);
        let sim = build(seed, members, &log);
        let mut p = Self {
            seed,
            members,
            log,
            horizon_ms: at_ms,
            branches: Vec::new(),
            sim,
        };
        p.sim.run_until(at_ms);
        p
    }

    /// The run so far, to save or share; it opens at this moment.
    pub fn script(&self) -> script::Script {
        script::Script {
            seed: self.seed,
            members: self.members,
            at_ms: self.sim.now_ms(),
            events: self.sim.events(),
            log: self.log.clone(),
        }
    }

    /// Replays a saved or shared run to the moment it was saved at, exactly: the same
    /// number of events, even between two events of one millisecond.
    pub fn open(s: &script::Script) -> Self {
        let mut p = Self::replay(s.seed, s.members, s.log.clone(), 0);
        while p.sim.events() < s.events && p.sim.step() {}
        if p.sim.now_ms() < s.at_ms {
            p.sim.run_until(s.at_ms);
        }
        p.horizon_ms = p.sim.now_ms();
        p
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How many members the run started with.
    pub fn members(&self) -> usize {
        self.members
    }

    /// The input log of the current branch.
    pub fn log(&self) -> &[Step] {
        &self.log
    }

    /// Saved branches, oldest first.
    pub fn branches(&self) -> &[Branch] {
        &self.branches
    }

    /// The simulator, for views.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Virtual time now.
    pub fn now_ms(&self) -> u64 {
        self.sim.now_ms()
    }

    /// The furthest this branch has run (the end of the timeline).
    pub fn horizon_ms(&self) -> u64 {
        self.horizon_ms.max(self.sim.now_ms())
    }

    /// Records a user input at the next millisecond and runs the simulator to it, so the
    /// input takes effect even while paused. Acting before the end of the timeline forks:
    /// the old future is saved as a branch.
    pub fn act(&mut self, input: UserInput) -> Result<(), InputError> {
        if self.log.len() >= MAX_STEPS {
            return Err(InputError::TooManyInputs);
        }
        check_members(&input, self.sim.slots().len() as u64)?;
        let now = self.sim.now_ms();
        if now < self.horizon_ms || self.log.last().is_some_and(|s| s.at_ms > now) {
            self.fork(now);
        }
        let at_ms = now + 1;
        for action in actions(&input) {
            self.sim.push_input(SimInput { at_ms, action });
        }
        self.log.push(Step { at_ms, input });
        // The input takes effect at once, even while paused: time moves by that 1 ms.
        self.sim.run_until(at_ms);
        self.horizon_ms = self.horizon_ms.max(at_ms);
        Ok(())
    }

    fn fork(&mut self, now: u64) {
        if self.branches.len() == MAX_BRANCHES {
            self.branches.remove(0);
        }
        self.branches.push(Branch {
            forked_at_ms: now,
            log: self.log.clone(),
            horizon_ms: self.horizon_ms,
        });
        self.log.retain(|s| s.at_ms <= now);
        self.horizon_ms = now;
        // The simulator holds the old future's inputs: rebuild it without them.
        self.sim = build(self.seed, self.members, &self.log);
        self.sim.run_until(now);
    }

    /// Switches to saved branch `index`, at the moment it was forked from; the current
    /// history becomes a saved branch in its place.
    pub fn switch_branch(&mut self, index: usize) {
        let Some(b) = self.branches.get(index).cloned() else {
            return;
        };
        let now = self.sim.now_ms();
        self.branches[index] = Branch {
            forked_at_ms: b.forked_at_ms,
            log: std::mem::take(&mut self.log),
            horizon_ms: self.horizon_ms(),
        };
        self.log = b.log;
        self.horizon_ms = b.horizon_ms;
        self.sim = build(self.seed, self.members, &self.log);
        self.sim.run_until(b.forked_at_ms.min(now));
    }

    /// Runs virtual time forward by `ms`.
    pub fn advance(&mut self, ms: u64) {
        let to = self.sim.now_ms() + ms;
        self.sim.run_until(to);
        self.horizon_ms = self.horizon_ms.max(to);
    }

    /// Runs exactly one event (a tick, a delivery, a disk write, ...).
    pub fn step_event(&mut self) {
        self.sim.step();
        self.horizon_ms = self.horizon_ms.max(self.sim.now_ms());
    }

    /// Runs events until `until` happens (or [`RUN_UNTIL_EVENTS`] events went by); true if
    /// it happened.
    pub fn run_until(&mut self, until: Until) -> bool {
        let fingerprint = |sim: &Sim| -> Vec<(u64, u64)> {
            sim.slots()
                .iter()
                .map(|s| match &s.server {
                    Some(srv) => {
                        let st = srv.progress();
                        match until {
                            Until::LeaderChange => (
                                st.term * u64::from(st.role == crate::server::StateRole::Leader),
                                st.leader,
                            ),
                            Until::Commit => (st.commit, 0),
                        }
                    }
                    None => (0, 0),
                })
                .collect()
        };
        let before = fingerprint(&self.sim);
        let mut happened = false;
        for _ in 0..RUN_UNTIL_EVENTS {
            if !self.sim.step() {
                break;
            }
            let now = fingerprint(&self.sim);
            let changed = match until {
                // A leader elected (or lost), not a member merely restarting.
                Until::LeaderChange => now
                    .iter()
                    .zip(&before)
                    .any(|(a, b)| a.0 > b.0 || (a.1 != b.1 && a.1 != 0)),
                Until::Commit => now.iter().zip(&before).any(|(a, b)| a.0 > b.0),
            };
            if changed {
                happened = true;
                break;
            }
        }
        self.horizon_ms = self.horizon_ms.max(self.sim.now_ms());
        happened
    }

    /// Goes to virtual time `ms` of this branch (within `0..=horizon`) by replaying it.
    pub fn seek(&mut self, ms: u64) {
        let horizon = self.horizon_ms();
        let ms = ms.min(horizon);
        if ms >= self.sim.now_ms() {
            self.sim.run_until(ms);
        } else {
            self.sim = build(self.seed, self.members, &self.log);
            self.sim.run_until(ms);
        }
        self.horizon_ms = horizon;
    }
}

/// A fresh simulator with the whole log as its inputs.
fn build(seed: u64, members: usize, log: &[Step]) -> Sim {
    let inputs = log
        .iter()
        .flat_map(|s| {
            actions(&s.input).into_iter().map(|action| SimInput {
                at_ms: s.at_ms,
                action,
            })
        })
        .collect();
    Sim::new(seed, sim_config(members), inputs)
}

fn check_members(input: &UserInput, members: u64) -> Result<(), InputError> {
    let valid = |m: MemberId| {
        if (1..=members).contains(&m) {
            Ok(())
        } else {
            Err(InputError::NoSuchMember(m))
        }
    };
    match input {
        UserInput::Crash(m)
        | UserInput::Restart(m)
        | UserInput::Isolate(m)
        | UserInput::Console { member: m, .. } => valid(*m),
        UserInput::Cut(a, b) | UserInput::Restore(a, b) | UserInput::Link(a, b, _) => {
            valid(*a)?;
            valid(*b)
        }
        UserInput::Partition(groups) => groups.iter().flatten().try_for_each(|m| valid(*m)),
        UserInput::Heal | UserInput::Network(_) | UserInput::Workload(_) => Ok(()),
    }
}

/// The simulator actions an input stands for. A console line that does not parse, or that
/// needs no member (`help`), stands for none: [`console`] prints it from the log alone.
fn actions(input: &UserInput) -> Vec<Action> {
    match input {
        UserInput::Crash(member) => vec![Action::Crash {
            member: *member,
            lose_unsynced: false,
        }],
        UserInput::Restart(member) => vec![Action::Restart { member: *member }],
        UserInput::Isolate(m) => (1..=9u64)
            .filter(|o| o != m)
            .flat_map(|o| {
                [
                    Action::CutLink { from: *m, to: o },
                    Action::CutLink { from: o, to: *m },
                ]
            })
            .collect(),
        UserInput::Cut(from, to) => vec![Action::CutLink {
            from: *from,
            to: *to,
        }],
        UserInput::Restore(from, to) => vec![Action::RestoreLink {
            from: *from,
            to: *to,
        }],
        UserInput::Partition(groups) => vec![Action::Partition {
            groups: groups.clone(),
        }],
        UserInput::Heal => vec![Action::Heal],
        UserInput::Network(p) => vec![Action::SetNetwork(*p)],
        UserInput::Link(from, to, params) => vec![Action::SetLink {
            from: *from,
            to: *to,
            params: *params,
        }],
        UserInput::Workload(running) => vec![Action::Workload { running: *running }],
        UserInput::Console {
            member,
            line,
            stdin,
        } => console::action(*member, line, stdin).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests;
