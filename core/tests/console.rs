//! The console against a simulated member prints what the real etcdctl 3.4.23 printed
//! against the real etcd for the same commands (the transcript is recorded from the real
//! tools by `tests/tests/console_parity.rs`, never written by hand).

use orrery_core::ctl::transcript::{render, steps, Masks};
use orrery_core::ctl::{parse_with_stdin, print, run_local, Endpoint};
use orrery_core::sim::{Action, Sim, SimConfig, SimInput};

const TRANSCRIPT: &str = include_str!("console/etcdctl-3.4.23.txt");

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

#[test]
fn the_console_prints_what_etcdctl_prints() {
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
    let mut got = String::new();
    for step in steps(TRANSCRIPT) {
        let parsed = parse_with_stdin(&masks.unmask(&step.command), &step.stdin);
        let printed = match run_local(&parsed) {
            Some(p) => p,
            None => {
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
                    sim.run_until(sim.now_ms() + 1);
                }
                assert!(
                    sim.console().len() > before,
                    "no answer to `{}` within 10 s",
                    step.command
                );
                let answer = sim.console().last().expect("checked").result.clone();
                print(&inv, &endpoint, answer)
            }
        };
        masks.learn_leases(&step, &printed.stdout);
        got += &render(&step, &printed, &masks);
    }
    // Line by line first: a failure names the first command that differs.
    for (g, e) in got.lines().zip(TRANSCRIPT.lines()) {
        assert_eq!(g, e, "\n--- console transcript ---\n{got}");
    }
    assert_eq!(got, TRANSCRIPT);
}
