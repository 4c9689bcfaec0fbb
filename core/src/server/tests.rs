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

/// Feeds `input`, then confirms every write the way a host does (no ticks), and returns
/// every other output that came out meanwhile.
fn run_without_ticks(server: &mut Server, now: u64, input: Input) -> Vec<Output> {
    let mut outputs = Vec::new();
    let mut next = vec![input];
    for _ in 0..16 {
        for input in std::mem::take(&mut next) {
            server.handle(now, input);
        }
        while let Some(out) = server.poll_output() {
            match out {
                Output::Persist(b) => next.push(Input::Persisted { number: b.number }),
                other => outputs.push(other),
            }
        }
        if next.is_empty() {
            break;
        }
    }
    outputs
}

/// Which requests were answered, and whether successfully.
fn answered(outputs: &[Output]) -> Vec<(RequestId, bool)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Response { id, result } => Some((*id, result.is_ok())),
            _ => None,
        })
        .collect()
}

/// A single member restarted from its bootstrap snapshot and ticked until it leads; returns
/// it and the host time.
fn single_leader() -> (Server, u64) {
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
    (server, now)
}

fn put(key: &str) -> ClientRequest {
    ClientRequest::Put(crate::request::PutRequest {
        key: key.to_owned().into(),
        value: "v".into(),
        ..Default::default()
    })
}

/// A single member confirms its ReadIndex by itself: a linearizable read must be answered
/// while the host handles it, not a tick (100 ms) later.
#[test]
fn a_single_member_answers_a_linearizable_read_without_waiting_for_a_tick() {
    let (mut server, now) = single_leader();
    let outs = run_without_ticks(
        &mut server,
        now,
        Input::Client {
            id: 1,
            request: put("k"),
        },
    );
    assert_eq!(answered(&outs), [(1, true)]);
    let get = ClientRequest::Range(crate::request::RangeRequest {
        key: "k".into(),
        ..Default::default()
    });
    let outs = run_without_ticks(
        &mut server,
        now,
        Input::Client {
            id: 2,
            request: get,
        },
    );
    assert_eq!(answered(&outs), [(2, true)], "the read waits for an input");
}

/// A watcher that fell behind while its client was slow is caught up by the first input
/// 10 ms after the client has room again, not only at the next tick (100 ms).
#[test]
fn a_resumed_streams_lagging_watcher_is_caught_up_between_ticks() {
    let (mut server, mut now) = single_leader();
    let open = ClientRequest::WatchOpen;
    let outs = run_without_ticks(
        &mut server,
        now,
        Input::Client {
            id: 1,
            request: open,
        },
    );
    let stream = outs
        .iter()
        .find_map(|o| match o {
            Output::Response {
                result: Ok(ClientResponse::WatchOpened(s)),
                ..
            } => Some(*s),
            _ => None,
        })
        .expect("the stream opens");
    let create = ClientRequest::WatchCreate {
        stream,
        request: crate::watch::WatchCreateRequest {
            key: "k".into(),
            range_end: "l".into(),
            ..Default::default()
        },
    };
    run_without_ticks(
        &mut server,
        now,
        Input::Client {
            id: 2,
            request: create,
        },
    );
    let paused = |paused| Input::WatchBackpressure { stream, paused };
    run_without_ticks(&mut server, now, paused(true));
    // More revisions than the stream's outbox holds: the watcher falls behind.
    let puts = 300;
    for i in 0..puts {
        let request = put(&format!("k{i}"));
        run_without_ticks(
            &mut server,
            now,
            Input::Client {
                id: 10 + i,
                request,
            },
        );
    }
    let events = |outs: &[Output]| -> usize {
        outs.iter()
            .map(|o| match o {
                Output::Watch { response, .. } => response.events.len(),
                _ => 0,
            })
            .sum()
    };
    let mut seen = events(&run_without_ticks(&mut server, now, paused(false)));
    assert!(
        seen < puts as usize,
        "the watcher fell behind ({seen} events)"
    );
    now += 10;
    let get = ClientRequest::Range(crate::request::RangeRequest {
        key: "k".into(),
        serializable: true,
        ..Default::default()
    });
    seen += events(&run_without_ticks(
        &mut server,
        now,
        Input::Client {
            id: 9,
            request: get,
        },
    ));
    assert_eq!(seen, puts as usize, "every event, without a tick");
}

/// Three members bootstrapped together. Messages arrive at once and no time passes while
/// they travel, except where a test ticks.
struct Three {
    servers: Vec<Server>,
    now: u64,
    /// A crashed member: it gets no input, and messages to it are lost.
    crashed: Option<usize>,
}

/// A message sent: from, to, kind.
type Sent = (u64, u64, &'static str);

impl Three {
    fn new() -> Self {
        Self::with(true, 1)
    }

    /// Three members with pre-vote on or off (off is etcd 3.4's default, and the native
    /// node's), sending heartbeats every `heartbeat_ticks`.
    fn with(pre_vote: bool, heartbeat_ticks: usize) -> Self {
        let members: Vec<Member> = (1..=3)
            .map(|id| Member {
                id,
                name: format!("n{id}"),
                peer_urls: vec![format!("http://127.0.0.1:238{id}")],
                ..Member::default()
            })
            .collect();
        let servers = (1..=3)
            .map(|id| {
                let mut config = ServerConfig::new(id, 7, format!("n{id}"));
                config.pre_vote = pre_vote;
                config.heartbeat_ticks = heartbeat_ticks;
                Server::bootstrap(config, id, members.clone())
            })
            .collect();
        let mut c = Self {
            servers,
            now: 0,
            crashed: None,
        };
        c.deliver(&mut Vec::new());
        while c.leader().is_none() {
            assert!(c.now < 10_000, "no leader after {} ms", c.now);
            c.now += c.servers[0].config().tick_ms;
            for s in &mut c.servers {
                s.handle(c.now, Input::Tick);
            }
            c.deliver(&mut Vec::new());
        }
        c
    }

    /// A running member that leads.
    fn leader(&self) -> Option<usize> {
        let leads = |s: &Server| s.status().role == raft::StateRole::Leader;
        (0..self.servers.len()).find(|i| self.crashed != Some(*i) && leads(&self.servers[*i]))
    }

    /// Performs every output until none is left (persists confirmed, messages delivered),
    /// recording the messages in `sent`; returns the answers: (member, request, ok).
    fn deliver(&mut self, sent: &mut Vec<Sent>) -> Vec<(u64, RequestId, bool)> {
        let mut answers = Vec::new();
        for _ in 0..1_000 {
            let mut inputs: Vec<(usize, Input)> = Vec::new();
            for (i, s) in self.servers.iter_mut().enumerate() {
                while let Some(out) = s.poll_output() {
                    match out {
                        Output::Persist(b) => {
                            inputs.push((i, Input::Persisted { number: b.number }))
                        }
                        Output::Send { to, message, .. } => {
                            sent.push((message.from(), to, message.kind()));
                            if self.crashed != Some(to as usize - 1) {
                                inputs.push((to as usize - 1, Input::Message(message)));
                            }
                        }
                        Output::Response { id, result } => {
                            answers.push((i as u64 + 1, id, result.is_ok()));
                        }
                        _ => {}
                    }
                }
            }
            if inputs.is_empty() {
                return answers;
            }
            for (i, input) in inputs {
                self.servers[i].handle(self.now, input);
            }
        }
        panic!("the cluster never went quiet");
    }

    /// One tick of host time, on each running member in turn with the messages delivered
    /// after each (real members' tickers are out of phase); the messages go into `sent`.
    fn tick_each(&mut self, sent: &mut Vec<Sent>) {
        self.now += self.servers[0].config().tick_ms;
        for i in 0..self.servers.len() {
            if self.crashed != Some(i) {
                self.servers[i].handle(self.now, Input::Tick);
                self.deliver(sent);
            }
        }
    }

    /// `leader` still leads in `term`, and nobody asked for a vote in `sent`.
    fn assert_undisturbed(&self, leader: usize, term: u64, sent: &[Sent]) {
        assert_eq!(self.leader(), Some(leader));
        for s in &self.servers {
            assert_eq!(s.status().term, term);
        }
        let campaigns = sent.iter().filter(|m| m.2.contains("Vote")).count();
        assert_eq!(campaigns, 0, "{sent:?}");
    }

    /// Ticks until a running member other than `old` leads; returns the ticks it took.
    fn ticks_to_new_leader(&mut self, old: usize) -> usize {
        for ticks in 1..=100 {
            self.tick_each(&mut Vec::new());
            if self.leader().is_some_and(|new| new != old) {
                return ticks;
            }
        }
        panic!("no new leader in 100 ticks");
    }
}

/// Puts a member takes in one call reach the leader in one proposal, and the leader sends
/// each follower one append for them (and one that carries the new commit index), not one
/// message per put.
#[test]
fn proposals_taken_together_travel_together() {
    let mut c = Three::new();
    let leader = c.leader().expect("elected");
    let follower = (leader + 1) % 3;
    let (leader_id, follower_id) = (leader as u64 + 1, follower as u64 + 1);
    // The first put moves the followers' progress from probing to replicating.
    let warm_up = Input::Client {
        id: 100,
        request: put("warm"),
    };
    c.servers[follower].handle(c.now, warm_up);
    assert_eq!(c.deliver(&mut Vec::new()), [(follower_id, 100, true)]);

    let puts = (0..10).map(|i| Input::Client {
        id: i,
        request: put(&format!("k{i}")),
    });
    c.servers[follower].handle_all(c.now, puts);
    let mut sent = Vec::new();
    let mut answers = c.deliver(&mut sent);
    answers.sort();
    let want: Vec<_> = (0..10).map(|i| (follower_id, i, true)).collect();
    assert_eq!(answers, want);
    let count = |from, kind| sent.iter().filter(|m| m.0 == from && m.2 == kind).count();
    assert_eq!(count(follower_id, "MsgProp"), 1, "{sent:?}");
    assert!(count(leader_id, "MsgApp") <= 4, "{sent:?}");
}

/// A killed leader: its followers, told by their hosts that its connection is refused,
/// elect a new one (the lowest ID first) after three silent ticks; without the news
/// they wait out the election timeout. With and without pre-vote.
#[test]
fn followers_told_their_leader_is_down_elect_a_new_one_within_a_few_ticks() {
    let election_ticks = ServerConfig::new(1, 7, "n1").election_ticks;
    for (pre_vote, told) in [(false, true), (false, false), (true, true), (true, false)] {
        let mut c = Three::with(pre_vote, 1);
        let old = c.leader().expect("elected");
        c.crashed = Some(old);
        let term = c.servers[(old + 1) % 3].status().term;
        if told {
            for i in (0..3).filter(|i| *i != old) {
                let peer = old as u64 + 1;
                c.servers[i].handle(c.now, Input::PeerDown { peer });
            }
        }
        let ticks = c.ticks_to_new_leader(old);
        let new = c.leader().expect("elected");
        let case = format!("pre-vote {pre_vote}, told {told}: {ticks} ticks");
        if told {
            assert!(ticks <= SILENT_HEARTBEATS + 2, "{case}");
            let lowest = (0..3).find(|i| *i != old).unwrap();
            assert_eq!(new, lowest, "{case}");
        } else {
            assert!(ticks >= election_ticks, "{case}");
        }
        assert_eq!(
            c.servers[new].status().term,
            term + 1,
            "{case}: a split vote"
        );
    }
}

/// A follower wrongly told its leader is down (only its own link to it was refused), which
/// still hears from the leader, neither campaigns nor raises the term: with pre-vote off
/// (the native default), a campaign alone would unseat the leader. Heartbeats come every
/// other tick, so a tick can pass without one, as between real members' tickers.
#[test]
fn a_follower_told_its_live_leader_is_down_does_not_unseat_it() {
    for pre_vote in [false, true] {
        let mut c = Three::with(pre_vote, 2);
        let leader = c.leader().expect("elected");
        let term = c.servers[leader].status().term;
        let peer = leader as u64 + 1;
        let mut sent = Vec::new();
        // Both followers, told on every tick, as hosts retrying a refused connection are.
        for _ in 0..3 * c.servers[0].config().election_ticks {
            for i in (0..3).filter(|i| *i != leader) {
                c.servers[i].handle(c.now, Input::PeerDown { peer });
            }
            c.tick_each(&mut sent);
        }
        c.assert_undisturbed(leader, term, &sent);
    }
}

/// A report that the leader is down is cancelled by the next message from it: a later
/// pause of the leader (a slow disk, say) shorter than the election timeout unseats nobody,
/// though it is longer than the silence that follows a real report.
#[test]
fn a_report_the_leader_answers_leaves_a_later_pause_of_it_alone() {
    let mut c = Three::with(false, 1);
    let leader = c.leader().expect("elected");
    let term = c.servers[leader].status().term;
    let election_ticks = c.servers[0].config().election_ticks;
    let peer = leader as u64 + 1;
    for i in (0..3).filter(|i| *i != leader) {
        c.servers[i].handle(c.now, Input::PeerDown { peer });
    }
    let mut sent = Vec::new();
    c.tick_each(&mut sent); // the leader's heartbeats arrive
    c.crashed = Some(leader); // it pauses: no ticks, nothing sent
    for _ in 0..election_ticks - 3 {
        c.tick_each(&mut sent);
    }
    c.crashed = None;
    for _ in 0..2 * election_ticks {
        c.tick_each(&mut sent);
    }
    c.assert_undisturbed(leader, term, &sent);
}
