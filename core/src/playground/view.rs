//! What the page draws, read from the simulator: plain data, so components compare it
//! cheaply and tests assert on it without a browser.

use super::{MemberId, Playground};
use crate::server::{Payload, Server, StateRole};
use raft::eraftpb::EntryType;

/// A member's role as the page shows it (also its `data-role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Leads its term.
    Leader,
    /// Follows.
    Follower,
    /// Campaigning.
    Candidate,
    /// Checking it could win before campaigning (pre-vote).
    PreCandidate,
    /// A non-voting member.
    Learner,
    /// Crashed.
    Down,
}

impl Role {
    /// The `data-role` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leader => "leader",
            Self::Follower => "follower",
            Self::Candidate => "candidate",
            Self::PreCandidate => "precandidate",
            Self::Learner => "learner",
            Self::Down => "down",
        }
    }
}

/// One member on the ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberView {
    /// Its ID (`n<id>`).
    pub id: MemberId,
    /// Role.
    pub role: Role,
    /// Current term (the last one it had, when down).
    pub term: u64,
    /// Whom it voted for this term (0 = nobody).
    pub vote: MemberId,
    /// The leader it knows (0 = none).
    pub leader: MemberId,
    /// Commit index.
    pub commit: u64,
    /// Applied index.
    pub applied: u64,
    /// Last log index.
    pub last_index: u64,
    /// MVCC revision.
    pub revision: i64,
    /// Election timer: ticks elapsed and the timeout.
    pub timer: (u64, u64),
    /// Every link to and from it is cut.
    pub isolated: bool,
}

/// What a message in flight is, for its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// Vote and pre-vote requests and answers.
    Vote,
    /// Log appends and their answers.
    Append,
    /// Heartbeats and their answers.
    Heartbeat,
    /// A snapshot.
    Snapshot,
    /// Anything else (forwarded calls, read index, leader transfer).
    Other,
}

impl MessageKind {
    fn of(kind: &str) -> Self {
        match kind {
            "MsgVote" | "MsgVoteResp" | "MsgPreVote" | "MsgPreVoteResp" => Self::Vote,
            "MsgApp" | "MsgAppResp" => Self::Append,
            "MsgHeartbeat" | "MsgHeartbeatResp" => Self::Heartbeat,
            "MsgSnap" => Self::Snapshot,
            _ => Self::Other,
        }
    }

    /// A CSS class name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vote => "vote",
            Self::Append => "append",
            Self::Heartbeat => "heartbeat",
            Self::Snapshot => "snapshot",
            Self::Other => "other",
        }
    }
}

/// A message on its way.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageView {
    /// Sender.
    pub from: MemberId,
    /// Receiver.
    pub to: MemberId,
    /// Kind.
    pub kind: MessageKind,
    /// Raft's name for it.
    pub name: &'static str,
    /// How far along the link it is, 0 to 1.
    pub progress: f64,
}

/// One of the workload's clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    /// The member it talks to.
    pub member: MemberId,
    /// The call it waits on (`get`, `put`, `del`, `txn`), if any.
    pub waiting: Option<&'static str>,
    /// How long it has waited, ms.
    pub waited_ms: u64,
}

/// Everything the cluster view draws at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frame {
    /// Virtual time.
    pub now_ms: u64,
    /// End of the timeline.
    pub horizon_ms: u64,
    /// Events processed.
    pub events: u64,
    /// The members.
    pub members: Vec<MemberView>,
    /// Messages in flight (at most [`MAX_DRAWN_MESSAGES`]).
    pub messages: Vec<MessageView>,
    /// The workload's clients.
    pub clients: Vec<ClientView>,
    /// Directed links that are cut.
    pub cut: Vec<(MemberId, MemberId)>,
    /// Checker violations found so far (described).
    pub violations: Vec<String>,
}

/// Messages drawn at once (the rest are still delivered, just not drawn).
pub const MAX_DRAWN_MESSAGES: usize = 200;

/// One log entry in the member panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryView {
    /// Index.
    pub index: u64,
    /// Term.
    pub term: u64,
    /// Committed on this member.
    pub committed: bool,
    /// A short description (`put foo`, `(leader no-op)`, `conf change`).
    pub what: String,
}

/// One key of the member's store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyView {
    /// Key (lossy UTF-8).
    pub key: String,
    /// Value (lossy UTF-8).
    pub value: String,
    /// Create revision.
    pub create_revision: i64,
    /// Mod revision.
    pub mod_revision: i64,
    /// Version.
    pub version: i64,
    /// Lease (0 = none).
    pub lease: i64,
}

/// One lease of the member's lessor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseView {
    /// ID.
    pub id: i64,
    /// Granted TTL, s.
    pub ttl: i64,
    /// Seconds left, as the leader counts them (`None` on a follower, which does not).
    pub remaining: Option<i64>,
    /// Attached keys.
    pub keys: usize,
}

/// Replication progress of one follower, on a leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowerView {
    /// The follower.
    pub id: MemberId,
    /// Highest index known replicated there.
    pub matched: u64,
    /// Next index to send.
    pub next: u64,
}

/// The member panel.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberDetail {
    /// The member's summary.
    pub member: MemberView,
    /// First index still in the log (earlier ones are in the snapshot).
    pub first_index: u64,
    /// The newest entries (at most [`LOG_SHOWN`]).
    pub log: Vec<EntryView>,
    /// On a leader, its followers.
    pub followers: Vec<FollowerView>,
    /// The store's live keys (at most [`KEYS_SHOWN`]) and how many there are.
    pub keys: Vec<KeyView>,
    /// Live keys in all.
    pub key_count: usize,
    /// Compacted up to.
    pub compact_revision: i64,
    /// Leases.
    pub leases: Vec<LeaseView>,
}

/// Log entries the panel lists.
pub const LOG_SHOWN: u64 = 24;
/// Keys the panel lists.
pub const KEYS_SHOWN: usize = 100;

impl Playground {
    /// The cluster at this moment.
    pub fn frame(&self) -> Frame {
        let sim = &self.sim;
        let now = sim.now_ms();
        let cut: Vec<(MemberId, MemberId)> = sim.network().cut_links().collect();
        let ids: Vec<MemberId> = sim.slots().iter().map(|s| s.id).collect();
        let members = sim
            .slots()
            .iter()
            .map(|slot| self.slot_view(slot))
            .collect();
        let messages = sim
            .in_flight()
            .into_iter()
            .take(MAX_DRAWN_MESSAGES)
            .map(|m| MessageView {
                from: m.from,
                to: m.to,
                kind: MessageKind::of(m.kind),
                name: m.kind,
                progress: if m.arrive_ms <= m.sent_ms {
                    1.0
                } else {
                    (now.saturating_sub(m.sent_ms)) as f64 / (m.arrive_ms - m.sent_ms) as f64
                },
            })
            .collect();
        Frame {
            now_ms: now,
            horizon_ms: self.horizon_ms(),
            events: sim.events(),
            members,
            messages,
            clients: sim
                .client_states()
                .map(|(member, waiting)| ClientView {
                    member,
                    waiting: waiting.map(|(call, _)| call_name(call)),
                    waited_ms: waiting.map_or(0, |(_, at)| now.saturating_sub(at)),
                })
                .collect(),
            cut: cut
                .into_iter()
                .filter(|(a, b)| ids.contains(a) && ids.contains(b))
                .collect(),
            violations: sim.violations().iter().map(|v| format!("{v:?}")).collect(),
        }
    }

    /// One member's summary: every link to and from it cut makes it isolated.
    fn slot_view(&self, slot: &crate::sim::Slot) -> MemberView {
        let network = self.sim.network();
        let others = self.sim.slots().iter().filter(|o| o.id != slot.id);
        let isolated = self.sim.slots().len() > 1
            && others
                .clone()
                .all(|o| !network.connected(slot.id, o.id) && !network.connected(o.id, slot.id));
        member_view(slot.id, slot.server.as_ref(), &slot.disk, isolated)
    }

    /// The member panel of `id`, if it exists.
    pub fn member_detail(&self, id: MemberId) -> Option<MemberDetail> {
        let slot = self.sim.slots().iter().find(|s| s.id == id)?;
        let frame_member = self.slot_view(slot);
        let Some(server) = &slot.server else {
            return Some(MemberDetail {
                member: frame_member,
                first_index: 0,
                log: Vec::new(),
                followers: Vec::new(),
                keys: Vec::new(),
                key_count: 0,
                compact_revision: 0,
                leases: Vec::new(),
            });
        };
        let st = server.status();
        let low = st
            .last_index
            .saturating_sub(LOG_SHOWN - 1)
            .max(st.first_index);
        let log = server
            .log_entries(low, st.last_index + 1)
            .iter()
            .map(|e| EntryView {
                index: e.index,
                term: e.term,
                committed: e.index <= st.commit,
                what: describe_entry(e),
            })
            .collect();
        let sm = server.state_machine();
        let store = sm.store();
        let all = crate::mvcc::KeyRange::new(&b"\0"[..], &b"\0"[..]);
        let read = store
            .range(
                &all,
                crate::mvcc::ReadOptions {
                    limit: KEYS_SHOWN,
                    revision: 0,
                    count_only: false,
                    keys_only: false,
                },
            )
            .ok();
        let keys = read
            .as_ref()
            .map(|r| {
                r.kvs
                    .iter()
                    .map(|kv| KeyView {
                        key: String::from_utf8_lossy(&kv.key).into_owned(),
                        value: String::from_utf8_lossy(&kv.value).into_owned(),
                        create_revision: kv.create_revision,
                        mod_revision: kv.mod_revision,
                        version: kv.version,
                        lease: kv.lease,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let now = self.sim.now_ms();
        let lessor = sm.lessor();
        let leases = lessor
            .iter()
            .map(|l| LeaseView {
                id: l.id,
                ttl: l.ttl,
                remaining: lessor
                    .is_primary()
                    .then(|| lessor.time_to_live(l.id, false, now).ok())
                    .flatten()
                    .map(|t| t.remaining),
                keys: l.keys.len(),
            })
            .collect();
        Some(MemberDetail {
            member: frame_member,
            first_index: st.first_index,
            log,
            followers: server
                .follower_progress()
                .into_iter()
                .map(|p| FollowerView {
                    id: p.id,
                    matched: p.matched,
                    next: p.next,
                })
                .collect(),
            keys,
            key_count: read.map_or(0, |r| r.count),
            compact_revision: store.compact_revision(),
            leases,
        })
    }
}

fn member_view(
    id: MemberId,
    server: Option<&Server>,
    disk: &crate::sim::Disk,
    isolated: bool,
) -> MemberView {
    let Some(server) = server else {
        let durable = disk.durable();
        let hard = &durable.hard_state;
        return MemberView {
            id,
            role: Role::Down,
            term: hard.term,
            vote: hard.vote,
            leader: 0,
            commit: hard.commit,
            applied: 0,
            last_index: durable
                .entries
                .last()
                .map_or(durable.snapshot.get_metadata().index, |e| e.index),
            revision: 0,
            timer: (0, 0),
            isolated,
        };
    };
    let st = server.status();
    let role = if st.learners.contains(&id) {
        Role::Learner
    } else {
        match st.role {
            StateRole::Leader => Role::Leader,
            StateRole::Follower => Role::Follower,
            StateRole::Candidate => Role::Candidate,
            StateRole::PreCandidate => Role::PreCandidate,
        }
    };
    let timer = server.election_progress();
    MemberView {
        id,
        role,
        term: st.term,
        vote: st.vote,
        leader: st.leader,
        commit: st.commit,
        applied: st.applied,
        last_index: st.last_index,
        revision: server.state_machine().store().revision(),
        timer: (timer.elapsed, timer.timeout),
        isolated,
    }
}

fn call_name(call: &crate::sim::history::Call) -> &'static str {
    use crate::sim::history::Call;
    match call {
        Call::Get { .. } => "get",
        Call::Put { .. } => "put",
        Call::Delete { .. } => "del",
        Call::Cas { .. } => "txn",
    }
}

/// A short description of a log entry.
fn describe_entry(e: &raft::eraftpb::Entry) -> String {
    use crate::request::Request;
    if e.get_entry_type() != EntryType::EntryNormal {
        return "conf change".into();
    }
    let key = |k: &[u8]| String::from_utf8_lossy(k).into_owned();
    match Payload::decode(&e.data) {
        Ok(Payload::Noop) => "(new leader's empty entry)".into(),
        Ok(Payload::Request { request, .. }) => match request {
            Request::Put(p) => format!("put {}", key(&p.key)),
            Request::DeleteRange(d) => format!("del {}", key(&d.key)),
            Request::Txn(_) => "txn".into(),
            Request::Range(r) => format!("get {}", key(&r.key)),
            Request::Compaction(c) => format!("compact {}", c.revision),
            Request::LeaseGrant(l) => format!("lease grant {:x}", l.id),
            Request::LeaseRevoke(l) => format!("lease revoke {:x}", l.id),
            Request::LeaseCheckpoint(_) => "lease checkpoint".into(),
            Request::Alarm(_) => "alarm".into(),
        },
        Ok(Payload::Attributes { name, .. }) => format!("publish {name}"),
        Ok(Payload::UpdatePeers { .. }) => "member update".into(),
        Err(_) => "(undecodable)".into(),
    }
}
