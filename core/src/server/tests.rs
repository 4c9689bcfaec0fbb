//! Server start-up from persisted state.

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
