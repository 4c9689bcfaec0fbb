//! Processing one event: ticks, message deliveries, disk completions, client wake-ups,
//! inputs; and routing what a member outputs to the network, its disk and its clients.

use super::*;

impl Sim {
    pub(super) fn process(&mut self, event: Event) {
        match event {
            Event::Tick {
                member,
                incarnation,
            } => {
                if self.slots[member].incarnation != incarnation
                    || self.slots[member].server.is_none()
                {
                    return;
                }
                let next = self.now_ms + self.config.server.tick_ms;
                self.schedule(
                    next,
                    Event::Tick {
                        member,
                        incarnation,
                    },
                );
                if self.slots[member].paused {
                    return;
                }
                self.hash.u64(1);
                self.hash.u64(member as u64);
                self.input(member, Input::Tick);
            }
            Event::Deliver { message, sent } => {
                self.hash.u64(2);
                self.hash.u64(message.from());
                self.hash.u64(message.to());
                self.hash.u64(message.term());
                self.hash.bytes(message.kind().as_bytes());
                let to = match self.index_of(message.to()) {
                    Some(to) if self.network.connected(message.from(), message.to()) => to,
                    _ => return self.snapshot_failed(&message),
                };
                if self.slots[to].paused {
                    self.slots[to].inbox.push(Event::Deliver { message, sent });
                    return;
                }
                if self.slots[to].server.is_none() {
                    return self.snapshot_failed(&message);
                }
                self.snapshot_outcome(&message, true);
                self.input(to, Input::Message(message));
            }
            Event::DiskDone {
                member,
                incarnation,
            } => {
                let slot = &mut self.slots[member];
                if slot.incarnation != incarnation || slot.server.is_none() {
                    return;
                }
                if slot.paused {
                    slot.inbox.push(Event::DiskDone {
                        member,
                        incarnation,
                    });
                    return;
                }
                let number = slot.disk.complete_one().expect("a write was pending");
                self.hash.u64(3);
                self.hash.u64(number);
                self.input(member, Input::Persisted { number });
            }
            Event::ClientWake { client } => self.client_wake(client),
            Event::ClientTimeout { client, request } => self.client_timeout(client, request),
            Event::Input { index } => {
                let action = self.inputs[index].action.clone();
                self.hash.u64(4);
                self.hash.bytes(format!("{action:?}").as_bytes());
                self.act(action);
            }
            Event::SnapshotStatus { member, to, ok } => {
                let slot = &self.slots[member];
                if slot.server.is_some() && !slot.paused {
                    self.hash.u64(6);
                    self.input(member, Input::SnapshotSent { to, ok });
                }
            }
            Event::WatcherCheck { watcher } => self.watcher_check(watcher),
            Event::ConsoleWatch { watch } => self.console_watch_check(watch),
            Event::ConsoleSession { session } => self.session_check(session),
            Event::Compact => self.auto_compact(),
            Event::HashCheck => {
                self.check_hashes();
                self.schedule(self.now_ms + 1_000, Event::HashCheck);
            }
        }
    }

    pub(super) fn snapshot_failed(&mut self, message: &PeerMessage) {
        self.snapshot_outcome(message, false);
    }

    /// A snapshot message was delivered or lost: its sender hears of it (as a host reports
    /// `SnapshotSent` after streaming one).
    fn snapshot_outcome(&mut self, message: &PeerMessage, ok: bool) {
        if let Some(member) = self
            .index_of(message.from())
            .filter(|_| message.is_snapshot())
        {
            let status = Event::SnapshotStatus {
                member,
                to: message.to(),
                ok,
            };
            self.schedule(self.now_ms, status);
        }
    }

    /// Feeds one input to a running member, then routes its outputs and runs the checkers.
    pub(super) fn input(&mut self, member: usize, input: Input) {
        let now = self.now_ms;
        let server = self.slots[member]
            .server
            .as_mut()
            .expect("a running member");
        server.handle(now, input);
        self.drain(member);
        if let Some(server) = &self.slots[member].server {
            match self.safety.observe(member, server, now) {
                Ok(new) if !new.is_empty() => self.reference.committed(new, now),
                Ok(_) => {}
                Err(v) => self.violations.push(v),
            }
        }
    }

    pub(super) fn drain(&mut self, member: usize) {
        // Outputs are bounded by what one input can produce; the loop ends when drained.
        while let Some(out) = self.slots[member]
            .server
            .as_mut()
            .and_then(Server::poll_output)
        {
            self.route(member, out);
        }
    }

    pub(super) fn route(&mut self, member: usize, out: Output) {
        match out {
            Output::Send { to, message, .. } => self.send(to, message),
            Output::Persist(batch) => {
                let lat = self
                    .rng_disk
                    .gen_range(self.config.disk_ms.0..=self.config.disk_ms.1);
                let slot = &mut self.slots[member];
                slot.disk.write(batch);
                let at = (self.now_ms + lat).max(slot.disk_free_at);
                slot.disk_free_at = at;
                let incarnation = slot.incarnation;
                self.schedule(
                    at,
                    Event::DiskDone {
                        member,
                        incarnation,
                    },
                );
            }
            Output::SaveSnapshot(snap) => self.slots[member].disk.save_snapshot(snap),
            Output::Applied(changes) => self.slots[member].disk.record_applied(changes),
            Output::Response { id, result } => self.on_response(id, result),
            Output::Watch { stream, response } => {
                if !self.on_console_watch(member, stream, &response) {
                    self.on_watch(member, stream, response);
                }
            }
            Output::Notice(n) => {
                self.hash.u64(5);
                self.hash.bytes(format!("{n:?}").as_bytes());
                if self.trace.enabled() {
                    let line = format!("n{} {}", member + 1, self.describe_notice(&n));
                    self.trace.push(self.now_ms, line);
                }
            }
        }
    }

    pub(super) fn send(&mut self, to: u64, message: PeerMessage) {
        let p = self.network.params_of(message.from(), to);
        // A fixed number of draws per message, whatever the outcome, so that changing a
        // rate does not shift every later draw.
        let lost = self.rng_net.gen_range(0..1000) < p.loss_permille;
        let dup = self.rng_net.gen_range(0..1000) < p.duplicate_permille;
        let lat = self
            .rng_net
            .gen_range(p.latency_min_ms..=p.latency_max_ms.max(p.latency_min_ms));
        let lat2 = self
            .rng_net
            .gen_range(p.latency_min_ms..=p.latency_max_ms.max(p.latency_min_ms));
        if !self.network.connected(message.from(), to) || lost {
            return self.snapshot_failed(&message);
        }
        if dup && !message.is_snapshot() && !message.is_proposal() {
            self.schedule(
                self.now_ms + lat2,
                Event::Deliver {
                    message: message.clone(),
                    sent: self.now_ms,
                },
            );
        }
        let sent = self.now_ms;
        self.schedule(self.now_ms + lat, Event::Deliver { message, sent });
    }
}
