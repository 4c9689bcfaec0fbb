//! The console transcript: what each typed etcdctl line printed, rebuilt from the input
//! log and the simulator's answers (so a replayed run shows the same console).
//!
//! A line that needs a member becomes an [`Action::Request`] (or an [`Action::Watch`]); the
//! k-th such request in the log is the simulator's k-th console request, which is how an
//! answer finds its line. Lines that do not parse, `help` and `version` print from the
//! line alone.

use super::{MemberId, Step, UserInput};
use crate::ctl::{self, Endpoint, Invocation, Printed};
use crate::sim::{Action, Sim};
use crate::EtcdError;

/// One block of the console, in time order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleEntry {
    /// Virtual time it was printed (typed, for a command; arrival, for a watch event).
    pub at_ms: u64,
    /// The member it concerns.
    pub member: MemberId,
    /// The typed line (`None` for a watch's later output).
    pub command: Option<String>,
    /// What the command read from standard input (`txn`).
    pub stdin: String,
    /// What it printed so far.
    pub printed: Printed,
    /// Still waiting for the member's answer.
    pub pending: bool,
}

/// The address etcdctl would print for member `m` (the simulated client URL).
fn endpoint(member: MemberId) -> Endpoint {
    Endpoint {
        address: format!("10.0.0.{member}:2379"),
    }
}

/// The simulator action a console line stands for, if it needs a member.
pub(super) fn action(member: MemberId, line: &str, stdin: &str) -> Option<Action> {
    let inv = ctl::parse_with_stdin(line, stdin).ok()?;
    if let Some(w) = inv.watch() {
        return Some(Action::Watch {
            member,
            request: w.clone(),
        });
    }
    if let Some(s) = inv.session() {
        return Some(Action::Lock {
            member,
            name: s.name.clone().into(),
            value: s.value.clone().into(),
            ttl: s.ttl,
            observe: s.observe,
        });
    }
    inv.request()
        .map(|request| Action::Request { member, request })
}

/// Changes whenever [`transcript`] would: the inputs processed so far and the answers,
/// watch responses and session events received (cheap, so a host can skip rebuilding the
/// transcript on frames where nothing reached the console).
pub fn fingerprint(log: &[Step], sim: &Sim) -> [usize; 4] {
    [
        log.partition_point(|s| s.at_ms <= sim.now_ms()),
        sim.console().len(),
        sim.watch_output().len(),
        sim.session_output().len(),
    ]
}

/// Every console block up to now: commands with their answers, and watch output as it
/// streams in.
pub fn transcript(log: &[Step], sim: &Sim) -> Vec<ConsoleEntry> {
    let now = sim.now_ms();
    let requests = sim.console_requests();
    let answers: std::collections::BTreeMap<u64, _> =
        sim.console().iter().map(|a| (a.request, a)).collect();
    let mut out = Vec::new();
    let mut watches: Vec<(MemberId, Invocation)> = Vec::new();
    let mut sessions: Vec<(MemberId, Invocation)> = Vec::new();
    let mut request_count = 0usize;
    for step in log.iter().filter(|s| s.at_ms <= now) {
        let UserInput::Console {
            member,
            line,
            stdin,
        } = &step.input
        else {
            continue;
        };
        let parsed = ctl::parse_with_stdin(line, stdin);
        let mut entry = ConsoleEntry {
            at_ms: step.at_ms,
            member: *member,
            command: Some(line.clone()),
            stdin: stdin.clone(),
            printed: Printed::default(),
            pending: false,
        };
        if let Some(p) = ctl::run_local(&parsed) {
            entry.printed = p;
        } else if let Ok(inv) = parsed {
            if inv.watch().is_some() {
                watches.push((*member, inv));
            } else if inv.session().is_some() {
                sessions.push((*member, inv));
            } else {
                let id = requests.get(request_count).copied();
                request_count += 1;
                match id.and_then(|id| answers.get(&id)) {
                    Some(a) => {
                        entry.printed = match &a.result {
                            // etcdctl cannot reach a stopped member: its dial times out.
                            Err(EtcdError::Stopped) => refused(),
                            r => ctl::print(&inv, &endpoint(*member), r.clone()),
                        }
                    }
                    None => entry.pending = true,
                }
            }
        }
        out.push(entry);
    }
    for r in sim.watch_output() {
        let Some((member, inv)) = watches.get(r.watch) else {
            continue;
        };
        let printed = match &r.response {
            Err(EtcdError::Stopped) => refused(),
            other => ctl::print_watch(inv, other.as_ref()),
        };
        if printed == Printed::default() {
            continue;
        }
        out.push(ConsoleEntry {
            at_ms: r.at_ms,
            member: *member,
            command: None,
            stdin: String::new(),
            printed,
            pending: false,
        });
    }
    for e in sim.session_output() {
        let Some((member, inv)) = sessions.get(e.session) else {
            continue;
        };
        let printed = match &e.outcome {
            crate::sim::SessionOutcome::Failed(EtcdError::Stopped) => refused(),
            outcome => ctl::print_session(inv, outcome),
        };
        out.push(ConsoleEntry {
            at_ms: e.at_ms,
            member: *member,
            command: None,
            stdin: String::new(),
            printed,
            pending: false,
        });
    }
    // Stable: a command typed in the same ms as a watch event stays before it.
    out.sort_by_key(|e| e.at_ms);
    out
}

/// What etcdctl prints when the member does not answer the connection.
fn refused() -> Printed {
    Printed {
        stdout: String::new(),
        stderr: "Error: context deadline exceeded\n".into(),
        exit: ctl::exit::ERROR,
    }
}

/// The transcript as terminal text: `n1$ <line>` then what it printed.
pub fn render(entries: &[ConsoleEntry]) -> String {
    let mut s = String::new();
    for e in entries {
        if let Some(c) = &e.command {
            s += &format!("n{}$ {c}\n", e.member);
            for l in e.stdin.lines() {
                s += &format!("> {l}\n");
            }
        }
        s += &e.printed.stdout;
        s += &e.printed.stderr;
        if e.pending {
            s += "…\n";
        }
    }
    s
}
