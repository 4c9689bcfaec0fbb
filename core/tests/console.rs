//! The console against a simulated member prints what the real etcdctl 3.4.23 printed
//! against the real etcd for the same commands (the transcripts are recorded from the real
//! tools by `tests/tests/console_parity.rs`, never written by hand).

use orrery_core::ctl::transcript::{render, steps, Masks, Step};
use orrery_core::ctl::{
    parse_with_stdin, print, print_session, print_watch, run_local, Endpoint, Invocation, Printed,
};
use orrery_core::sim::{Action, Sim, SimConfig, SimInput};

/// One-shot commands.
const TRANSCRIPT: &str = include_str!("console/etcdctl-3.4.23.txt");
/// Background jobs: `watch`, `lock`, `elect` and `elect -l`.
const STREAMS: &str = include_str!("console/etcdctl-3.4.23-streams.txt");

/// Virtual time a background job is given to start, and to print before it is stopped
/// (the recorder waits as long in real time).
const JOB_SETTLE_MS: u64 = 1_000;

/// A one-member simulated cluster with nothing else going on.
fn quiet_member() -> Sim {
    let mut config = SimConfig::new(1);
    config.clients = 0;
    config.watchers = 0;
    config.auto_compaction = false;
    let mut sim = Sim::new(7, config, Vec::new());
    sim.run_until(2_000);
    sim
}

/// A background job: which console watch or session it is (each numbered from 0).
enum Job {
    Watch(usize, Invocation),
    Session(usize, Invocation),
}

impl Job {
    /// Everything it printed so far.
    fn printed(&self, sim: &Sim) -> Printed {
        let mut stdout = String::new();
        match self {
            Self::Watch(n, inv) => {
                for r in sim.watch_output().iter().filter(|r| r.watch == *n) {
                    stdout += &print_watch(inv, r.response.as_ref()).stdout;
                }
            }
            Self::Session(n, inv) => {
                for e in sim.session_output().iter().filter(|e| e.session == *n) {
                    stdout += &print_session(inv, &e.outcome).stdout;
                }
            }
        }
        Printed {
            stdout,
            ..Printed::default()
        }
    }
}

fn run_for(sim: &mut Sim, ms: u64) {
    let until = sim.now_ms() + ms;
    sim.run_until(until);
}

/// Runs a transcript's commands against a quiet simulated member; returns what it printed.
fn replay(transcript: &str) -> String {
    let mut sim = quiet_member();
    let endpoint = Endpoint {
        address: "10.0.0.1:2379".into(),
    };
    let mut masks = Masks::new(
        1,
        sim.config().server.cluster_id,
        &endpoint.address,
        "http://10.0.0.1:2380",
        "http://10.0.0.1:2379",
    );
    let mut jobs: Vec<Job> = Vec::new();
    let (mut watches, mut sessions) = (0, 0);
    let mut got = String::new();
    for step in steps(transcript) {
        for job in jobs.iter().filter(|j| matches!(j, Job::Session(..))) {
            masks.learn_session_keys(&job.printed(&sim).stdout);
        }
        if let Some(line) = step.background() {
            let inv = parse_with_stdin(&masks.unmask(line), "").expect("a valid job");
            let at_ms = sim.now_ms();
            let action = if let Some(w) = inv.watch() {
                jobs.push(Job::Watch(watches, inv.clone()));
                watches += 1;
                Action::Watch {
                    member: 1,
                    request: w.clone(),
                }
            } else {
                let s = inv.session().expect("watch, lock or elect").clone();
                jobs.push(Job::Session(sessions, inv.clone()));
                sessions += 1;
                Action::Lock {
                    member: 1,
                    name: s.name.into(),
                    value: s.value.into(),
                    ttl: s.ttl,
                    observe: s.observe,
                }
            };
            sim.push_input(SimInput { at_ms, action });
            run_for(&mut sim, JOB_SETTLE_MS);
            got += &render(&step, &Printed::default(), &masks);
            continue;
        }
        if let Some(n) = step.killed_job() {
            run_for(&mut sim, JOB_SETTLE_MS);
            let printed = jobs[n - 1].printed(&sim);
            masks.learn_session_keys(&printed.stdout);
            got += &render(&step, &printed, &masks);
            continue;
        }
        let printed = one_shot(&mut sim, &step, &masks, &endpoint);
        masks.learn_leases(&step, &printed.stdout);
        got += &render(&step, &printed, &masks);
    }
    got
}

/// Runs a one-shot command until it is answered.
fn one_shot(sim: &mut Sim, step: &Step, masks: &Masks, endpoint: &Endpoint) -> Printed {
    let parsed = parse_with_stdin(&masks.unmask(&step.command), &step.stdin);
    if let Some(p) = run_local(&parsed) {
        return p;
    }
    let inv = parsed.expect("run_local prints errors");
    let before = sim.console().len();
    sim.push_input(SimInput {
        at_ms: sim.now_ms(),
        action: Action::Request {
            member: 1,
            request: inv.request().expect("a member request"),
        },
    });
    let deadline = sim.now_ms() + 10_000;
    while sim.console().len() == before && sim.now_ms() < deadline {
        run_for(sim, 1);
    }
    assert!(
        sim.console().len() > before,
        "no answer to `{}` within 10 s",
        step.command
    );
    let answer = sim.console().last().expect("checked").result.clone();
    print(&inv, endpoint, answer)
}

fn assert_same(got: &str, expected: &str) {
    // Line by line first: a failure names the first command that differs.
    for (g, e) in got.lines().zip(expected.lines()) {
        assert_eq!(g, e, "\n--- console transcript ---\n{got}");
    }
    assert_eq!(got, expected);
}

#[test]
fn the_console_prints_what_etcdctl_prints() {
    assert_same(&replay(TRANSCRIPT), TRANSCRIPT);
}

#[test]
fn watch_lock_and_elect_print_what_etcdctl_prints_while_they_run() {
    assert_same(&replay(STREAMS), STREAMS);
}
