//! Runs scenario ops against `orrery_core::StateMachine`, as a one-member leader would.

use super::print;
use super::script::Op;
use orrery_core::lease::IdGenerator;
use orrery_core::request::{LeaseRevokeRequest, Request};
use orrery_core::watch::StreamId;
use orrery_core::{Config, StateMachine};
use std::fmt::Write as _;

/// Bounds the drain/sync loop of `watch-events` (each pass makes progress or stops).
const MAX_SYNC_PASSES: usize = 10_000;

pub struct CoreBackend {
    sm: StateMachine,
    now_ms: u64,
    ids: IdGenerator,
    streams: Vec<(String, StreamId)>,
}

impl CoreBackend {
    pub fn new() -> Self {
        let mut sm = StateMachine::new(Config::default());
        sm.promote(0, 0);
        Self {
            sm,
            now_ms: 0,
            ids: IdGenerator::new(0x8e9e_05c5_2164_694d, 0),
            streams: Vec::new(),
        }
    }

    pub fn run(&mut self, op: &Op) -> String {
        match op {
            Op::Request(r) => self.request(r),
            Op::KeepAlive(id) => match self.sm.lease_keep_alive(*id, self.now_ms) {
                Ok(r) => format!("id={} ttl={}", r.id, r.ttl),
                Err(e) => print::etcd_error(e.into()),
            },
            Op::TimeToLive {
                id,
                keys,
                remaining,
            } => match self.sm.lease_time_to_live(*id, *keys, self.now_ms) {
                Ok(r) => print::time_to_live(&r, *keys, *remaining),
                Err(e) => print::etcd_error(e.into()),
            },
            Op::LeaseList => {
                let mut r = self.sm.lease_leases();
                r.leases.sort_unstable();
                let ids: Vec<String> = r.leases.iter().map(i64::to_string).collect();
                format!("rev={} leases=[{}]", r.header.revision, ids.join(" "))
            }
            Op::Hash(rev) => match self.sm.hash_kv(*rev) {
                Ok(h) => format!(
                    "hash={:08x} compact={} rev={}",
                    h.hash, h.compact_revision, h.revision
                ),
                Err(e) => print::etcd_error(e.into()),
            },
            Op::Index(key) => self.index(key),
            Op::Snapshot => self.snapshot(),
            Op::Tick(ms) => {
                self.now_ms += ms;
                format!("now={}ms", self.now_ms)
            }
            Op::Expire => self.expire(),
            Op::Promote => {
                self.sm.promote(self.now_ms, 0);
                "ok".into()
            }
            Op::Demote => {
                self.sm.demote();
                "ok".into()
            }
            Op::Watch { stream, req } => {
                let name = stream
                    .clone()
                    .unwrap_or_else(|| format!("w{}", self.streams.len() + 1));
                let id = match self.streams.iter().find(|(n, _)| *n == name) {
                    Some((_, id)) => *id,
                    None => {
                        let id = self.sm.watch_open();
                        self.streams.push((name.clone(), id));
                        id
                    }
                };
                // Refusals come back as responses on the stream, as in etcd.
                let _ = self.sm.watch_create(id, req);
                name
            }
            Op::WatchEvents => self.watch_events(),
            Op::WatchCancel { stream, id } => {
                let s = self.stream(stream);
                match self.sm.watch_cancel(s, *id) {
                    Ok(()) => "ok".into(),
                    Err(e) => format!("error: {e}"),
                }
            }
            Op::WatchProgress { stream } => {
                let s = self.stream(stream);
                self.sm.watch_progress(s).expect("stream exists");
                "ok".into()
            }
            Op::WatchSync => format!("unsynced={}", self.sm.watch_sync()),
            Op::WatchProgressTick => {
                self.sm.watch_progress_tick();
                "ok".into()
            }
        }
    }

    fn request(&mut self, r: &Request) -> String {
        let mut r = r.clone();
        if let Request::LeaseGrant(g) = &mut r {
            if g.id == 0 {
                g.id = self.ids.next_lease_id(); // the API layer picks IDs before proposing
            }
        }
        match self
            .sm
            .validate(&r)
            .and_then(|()| self.sm.apply(self.now_ms, &r))
        {
            Ok(resp) => print::response(&resp),
            Err(e) => print::etcd_error(e),
        }
    }

    fn index(&self, key: &[u8]) -> String {
        let Some(ki) = self.sm.store().key_index(key) else {
            return "(not indexed)".into();
        };
        let gens = ki.generations();
        let mut out = String::new();
        for (i, g) in gens.iter().enumerate() {
            let revs: Vec<String> = g
                .revs
                .iter()
                .enumerate()
                .map(|(j, r)| {
                    let tomb = i + 1 < gens.len() && j + 1 == g.revs.len();
                    format!("{r}{}", if tomb { "(t)" } else { "" })
                })
                .collect();
            write!(out, "{{{}}} ", revs.join(" ")).unwrap();
        }
        out.trim_end().to_owned()
    }

    fn snapshot(&mut self) -> String {
        let bytes = self.sm.snapshot();
        let before = self.sm.hash_kv(0).expect("current revision");
        self.sm
            .restore(&bytes, self.now_ms)
            .expect("own snapshot restores");
        let after = self.sm.hash_kv(0).expect("current revision");
        assert_eq!(before, after, "restore changed the hash");
        let s = self.sm.store();
        format!(
            "restored rev={} compact={} keys={} revisions={}",
            s.revision(),
            s.compact_revision(),
            s.indexed_keys(),
            s.retained_revisions()
        )
    }

    /// What the leader does every 500 ms: revoke each expired lease through Raft.
    fn expire(&mut self) -> String {
        let expired = self.sm.expired_leases(self.now_ms);
        for id in &expired {
            let revoke = Request::LeaseRevoke(LeaseRevokeRequest { id: *id });
            self.sm
                .apply(self.now_ms, &revoke)
                .expect("an expired lease exists");
        }
        let ids: Vec<String> = expired.iter().map(i64::to_string).collect();
        format!(
            "revoked=[{}] rev={}",
            ids.join(" "),
            self.sm.store().revision()
        )
    }

    fn stream(&self, name: &str) -> StreamId {
        let found = self.streams.iter().find(|(n, _)| n == name);
        found.unwrap_or_else(|| panic!("no watch stream {name}")).1
    }

    /// Everything each stream received, draining and syncing until nothing moves (what a
    /// client sees after waiting for etcd's 100 ms sync loop).
    fn watch_events(&mut self) -> String {
        let mut per_stream = vec![String::new(); self.streams.len()];
        for _ in 0..MAX_SYNC_PASSES {
            let mut any = false;
            for ((name, id), out) in self.streams.iter().zip(&mut per_stream) {
                while let Some(r) = self.sm.watch_poll(*id) {
                    out.push_str(&print::watch_response(name, &r));
                    any = true;
                }
            }
            if !self.sm.watch_sync() && !any {
                break;
            }
        }
        let out = per_stream.concat();
        if out.is_empty() {
            "(none)".into()
        } else {
            out.trim_end().to_owned()
        }
    }
}
