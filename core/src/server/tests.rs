//! Server start-up from persisted state, and how soon it answers.

use super::*;
use crate::cluster::Member;

fn bootstrap_snapshot() -> (ServerConfig, Snapshot) {
    let config = ServerConfig::new(1, 7, "n1");
    let member = Member {
        id: 1,
        name: "n1".into(),
        peer_urls: vec!["http://127.0.0.1:2380".into()],
        ..Member::default()
    };
    let mut server = Server::bootstrap(config.clone(), 1, vec![member]);
    let snapshot = std::iter::from_fn(|| server.poll_output())
        .find_map(|o| match o {
            Output::SaveSnapshot(s) => Some(s),
            _ => None,
        })
        .expect("bootstrap saves its snapshot");
    (config, snapshot)
}

fn entry(index: u64) -> Entry {
    Entry {
        index,
        term: 1,
        ..Entry::default()
    }
}

#[test]
fn a_restart_refuses_entries_that_do_not_follow_the_snapshot() {
    let (config, snapshot) = bootstrap_snapshot();
    let durable = |entries| DurableState {
        hard_state: HardState {
            term: 1,
            commit: 1,
            ..HardState::default()
        },
        snapshot: snapshot.clone(),
        entries,
        backend_current: false,
    };
    let ok = Server::restart(config.clone(), 1, durable(vec![entry(2), entry(3)]))
        .expect("contiguous entries");
    assert_eq!(ok.status().last_index, 3);
    // Entries the snapshot already covers are skipped.
    assert!(Server::restart(config.clone(), 1, durable(vec![entry(1), entry(2)])).is_ok());
    let gap = Server::restart(config, 1, durable(vec![entry(3)]));
    assert!(gap.is_err(), "index 2 is missing");
}

/// Feeds `input`, then confirms every write the way a host does (no ticks), and returns the
/// responses that came out meanwhile.
fn run_without_ticks(server: &mut Server, now: u64, input: Input) -> Vec<(RequestId, bool)> {
    let mut responses = Vec::new();
    let mut next = vec![input];
    for _ in 0..16 {
        for input in std::mem::take(&mut next) {
            server.handle(now, input);
        }
        while let Some(out) = server.poll_output() {
            match out {
                Output::Persist(b) => next.push(Input::Persisted { number: b.number }),
                Output::Response { id, result } => responses.push((id, result.is_ok())),
                _ => {}
            }
        }
        if next.is_empty() {
            break;
        }
    }
    responses
}

/// A single member confirms its ReadIndex by itself: a linearizable read must be answered
/// while the host handles it, not a tick (100 ms) later.
#[test]
fn a_single_member_answers_a_linearizable_read_without_waiting_for_a_tick() {
    let (config, snapshot) = bootstrap_snapshot();
    let durable = DurableState {
        hard_state: HardState {
            term: 1,
            commit: 1,
            ..HardState::default()
        },
        snapshot,
        entries: Vec::new(),
        backend_current: false,
    };
    let mut server = Server::restart(config, 1, durable).expect("restarts");
    let mut now = 0;
    while server.status().role != raft::StateRole::Leader {
        assert!(now < 10_000, "no leader after {now} ms");
        now += server.config().tick_ms;
        run_without_ticks(&mut server, now, Input::Tick);
    }
    let put = ClientRequest::Put(crate::request::PutRequest {
        key: "k".into(),
        value: "v".into(),
        ..Default::default()
    });
    let answered = run_without_ticks(
        &mut server,
        now,
        Input::Client {
            id: 1,
            request: put,
        },
    );
    assert_eq!(answered, [(1, true)]);
    let get = ClientRequest::Range(crate::request::RangeRequest {
        key: "k".into(),
        ..Default::default()
    });
    let answered = run_without_ticks(
        &mut server,
        now,
        Input::Client {
            id: 2,
            request: get,
        },
    );
    assert_eq!(answered, [(2, true)], "the read waits for an input");
}
