//! Applying user actions (the input log) to the simulated cluster.

use super::*;

impl Sim {
    pub(super) fn act(&mut self, action: Action) {
        if self.trace.enabled() {
            self.trace.push(self.now_ms, format!("input {action:?}"));
        }
        match action {
            Action::Crash {
                member,
                lose_unsynced,
            } => {
                let Some(i) = self.index_of(member) else {
                    return;
                };
                let slot = &mut self.slots[i];
                if slot.server.take().is_some() {
                    slot.disk.crash(lose_unsynced);
                    slot.incarnation += 1;
                    slot.paused = false;
                    slot.inbox.clear();
                    self.safety.restarted(i);
                }
            }
            Action::Restart { member } => {
                let Some(i) = self.index_of(member) else {
                    return;
                };
                if self.slots[i].server.is_some() {
                    return;
                }
                let incarnation = self.slots[i].incarnation;
                let config = self.server_config(member, i);
                let seed = self.member_seed(member, incarnation);
                let durable = self.slots[i].disk.restart_state();
                let server = Server::restart(config, seed, durable)
                    .expect("the simulated disk holds what the member wrote");
                self.slots[i].server = Some(server);
                self.slots[i].disk_free_at = self.now_ms;
                let tick = self.config.server.tick_ms;
                self.schedule(
                    self.now_ms + tick,
                    Event::Tick {
                        member: i,
                        incarnation,
                    },
                );
                self.drain(i);
            }
            Action::Pause { member } => {
                if let Some(i) = self.index_of(member) {
                    self.slots[i].paused = self.slots[i].server.is_some();
                }
            }
            Action::Resume { member } => {
                let Some(i) = self.index_of(member) else {
                    return;
                };
                if !self.slots[i].paused {
                    return;
                }
                self.slots[i].paused = false;
                for event in std::mem::take(&mut self.slots[i].inbox) {
                    self.schedule(self.now_ms, event);
                }
            }
            Action::Partition { groups } => {
                let ids: Vec<u64> = self.slots.iter().map(|s| s.id).collect();
                self.network.partition(&ids, &groups);
            }
            Action::CutLink { from, to } => self.network.cut(from, to),
            Action::RestoreLink { from, to } => self.network.restore(from, to),
            Action::SetLink { from, to, params } => self.network.set_link(from, to, params),
            Action::Heal => self.network.heal(),
            Action::SetNetwork(p) => self.network.params = p,
            Action::Request { member, request } => {
                let Some(i) = self.index_of(member) else {
                    self.console_requests.push(0);
                    return;
                };
                self.next_request += 1;
                let id = self.next_request;
                self.console_requests.push(id);
                let slot = &self.slots[i];
                if slot.server.is_none() || slot.paused {
                    self.trace
                        .push(self.now_ms, format!("console #{id} -> connection refused"));
                    self.console.push(ConsoleAnswer {
                        request: id,
                        at_ms: self.now_ms,
                        member,
                        result: Err(EtcdError::Stopped),
                    });
                    return;
                }
                self.requests.insert(id, Requester::Console(member));
                self.input(i, Input::Client { id, request });
            }
            Action::Join { member } => {
                if self.index_of(member).is_some() || self.slots.len() >= 9 {
                    return;
                }
                let i = self.slots.len();
                let config = self.server_config(member, i);
                let server = Server::join(config, self.member_seed(member, 0));
                self.slots.push(Slot {
                    id: member,
                    server: Some(server),
                    disk: Disk::default(),
                    incarnation: 0,
                    paused: false,
                    inbox: Vec::new(),
                    disk_free_at: self.now_ms,
                });
                self.safety.add_member();
                let tick = self.config.server.tick_ms;
                self.schedule(
                    self.now_ms + tick,
                    Event::Tick {
                        member: i,
                        incarnation: 0,
                    },
                );
                self.drain(i);
            }
            Action::Watch { member, request } => self.console_watch_start(member, request),
            Action::Lock {
                member,
                name,
                value,
                ttl,
                observe,
            } => self.console_lock_start(member, name, value, ttl, observe),
            Action::Workload { running } => {
                self.workload = running;
                if running {
                    for client in 0..self.clients.len() {
                        self.schedule(self.now_ms, Event::ClientWake { client });
                    }
                }
            }
        }
    }

    /// Applies a request on one member only, bypassing Raft: a planted divergence.
    #[cfg(test)]
    pub(crate) fn tamper(&mut self, member: usize, request: &crate::request::Request) {
        let server = self.slots[member].server.as_mut().expect("running");
        server.apply_locally(request);
    }

    /// Members that applied the same index must hold the same key-value state.
    pub(super) fn check_hashes(&mut self) {
        let mut by_applied: BTreeMap<u64, (u64, u32, i64)> = BTreeMap::new();
        for slot in &self.slots {
            let Some(server) = &slot.server else { continue };
            let applied = server.status().applied;
            let Ok(h) = server.state_machine().hash_kv(0) else {
                continue;
            };
            match by_applied.get(&applied) {
                None => {
                    by_applied.insert(applied, (slot.id, h.hash, h.revision));
                }
                Some(&(other, hash, rev)) if hash != h.hash || rev != h.revision => {
                    self.violations.push(Violation {
                        at_ms: self.now_ms,
                        checker: "raft-safety",
                        detail: format!(
                            "n{other} and n{} applied index {applied} but hold different data \
                             (hash {hash:08x} rev {rev} vs {:08x} rev {})",
                            slot.id, h.hash, h.revision
                        ),
                    });
                }
                Some(_) => {}
            }
        }
    }
}
