//! The reference model: the whole key-value map of every revision, and the etcd rules applied
//! to it one by one. Nothing here is shared with the implementation except the request and
//! response types it answers with.

use bytes::Bytes;
use orrery_core::mvcc::{Event, EventType, KeyValue};
use orrery_core::request::*;
use orrery_core::EtcdError;
use std::collections::{BTreeMap, BTreeSet};

/// One live key, as the model remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelKv {
    pub value: Bytes,
    pub create: i64,
    pub modified: i64,
    pub version: i64,
}

pub type Map = BTreeMap<Bytes, ModelKv>;

/// The store's history, kept in full: compaction only makes old revisions unreadable.
pub struct Model {
    /// `states[r]` is the map as of revision `r` (`states[0]` is unused, revision 1 is empty).
    states: Vec<Map>,
    /// `changes[r]` are the events revision `r` made, in the order it made them.
    changes: Vec<Vec<Event>>,
    /// The compaction revision (-1 = never compacted).
    pub compacted: i64,
    /// Every revision the store was compacted at.
    pub compactions: BTreeSet<i64>,
}

/// etcd's `key` / `range_end` convention: empty end = one key, `"\0"` = every key ≥ `key`.
pub fn in_span(key: &[u8], start: &[u8], end: &[u8]) -> bool {
    match end {
        [] => key == start,
        [0] => key >= start,
        _ => start <= key && key < end,
    }
}

fn to_kv(key: &Bytes, m: &ModelKv) -> KeyValue {
    KeyValue {
        key: key.clone(),
        create_revision: m.create,
        mod_revision: m.modified,
        version: m.version,
        value: m.value.clone(),
        lease: 0,
    }
}

/// The keys of `map` in `[start, end)`, in key order.
fn select(map: &Map, start: &[u8], end: &[u8]) -> Vec<KeyValue> {
    let found = map.iter().filter(|(k, _)| in_span(k, start, end));
    found.map(|(k, m)| to_kv(k, m)).collect()
}

/// A write in progress: a copy of the latest map, changed op by op, at revision `rev`.
struct Write {
    map: Map,
    rev: i64,
    changes: Vec<Event>,
}

impl Write {
    /// The revision a read inside the write sees (and reports): its own once it wrote.
    fn view(&self) -> i64 {
        if self.changes.is_empty() {
            self.rev - 1
        } else {
            self.rev
        }
    }

    fn put(&mut self, key: &Bytes, value: Bytes, prev_kv: bool) -> PutResponse {
        let prev = self.map.get(key).map(|m| to_kv(key, m));
        let (create, version) = match &prev {
            Some(kv) => (kv.create_revision, kv.version + 1),
            None => (self.rev, 1),
        };
        let m = ModelKv {
            value,
            create,
            modified: self.rev,
            version,
        };
        let kv = to_kv(key, &m);
        self.map.insert(key.clone(), m);
        self.changes.push(Event {
            kind: EventType::Put,
            kv,
            prev_kv: None,
        });
        PutResponse {
            header: ResponseHeader::at(self.rev),
            prev_kv: if prev_kv { prev } else { None },
        }
    }

    fn delete(&mut self, d: &DeleteRangeRequest) -> DeleteRangeResponse {
        let gone = select(&self.map, &d.key, &d.range_end);
        for kv in &gone {
            self.map.remove(&kv.key);
            self.changes.push(Event {
                kind: EventType::Delete,
                kv: KeyValue {
                    key: kv.key.clone(),
                    mod_revision: self.rev,
                    ..KeyValue::default()
                },
                prev_kv: None,
            });
        }
        DeleteRangeResponse {
            header: ResponseHeader::at(self.view()),
            deleted: gone.len() as i64,
            prev_kvs: if d.prev_kv { gone } else { Vec::new() },
        }
    }
}

/// etcd's Range over one map: fetch (limit + 1 unless sorting or filtering), filter, sort,
/// cut. `count` ignores the limit and the filters.
fn read(map: &Map, r: &RangeRequest, header: i64) -> RangeResponse {
    let all = select(map, &r.key, &r.range_end);
    let count = all.len() as i64;
    let mut resp = RangeResponse {
        header: ResponseHeader::at(header),
        count,
        ..RangeResponse::default()
    };
    if r.count_only {
        return resp;
    }
    let filters = [
        r.min_mod_revision,
        r.max_mod_revision,
        r.min_create_revision,
        r.max_create_revision,
    ];
    let filtered = filters.iter().any(|f| *f != 0);
    let limit = r.limit.max(0) as usize;
    let mut kvs = all;
    if r.sort_order == SortOrder::None && !filtered && limit > 0 {
        kvs.truncate(limit + 1);
    }
    let keep = |f: i64, ok: bool| f == 0 || ok;
    kvs.retain(|kv| {
        keep(r.min_mod_revision, kv.mod_revision >= r.min_mod_revision)
            && keep(r.max_mod_revision, kv.mod_revision <= r.max_mod_revision)
            && keep(
                r.min_create_revision,
                kv.create_revision >= r.min_create_revision,
            )
            && keep(
                r.max_create_revision,
                kv.create_revision <= r.max_create_revision,
            )
    });
    let field = |kv: &KeyValue| -> (i64, Bytes) {
        match r.sort_target {
            SortTarget::Key => (0, kv.key.clone()),
            SortTarget::Version => (kv.version, Bytes::new()),
            SortTarget::Create => (kv.create_revision, Bytes::new()),
            SortTarget::Mod => (kv.mod_revision, Bytes::new()),
            SortTarget::Value => (0, kv.value.clone()),
        }
    };
    // Stable sorts: ties stay in key order, in both directions.
    match (r.sort_order, r.sort_target) {
        (SortOrder::None, SortTarget::Key) => {}
        (SortOrder::Descend, _) => kvs.sort_by_key(|kv| std::cmp::Reverse(field(kv))),
        _ => kvs.sort_by_key(field),
    }
    if limit > 0 && kvs.len() > limit {
        kvs.truncate(limit);
        resp.more = true;
    }
    if r.keys_only {
        kvs.iter_mut().for_each(|kv| kv.value = Bytes::new());
    }
    resp.kvs = kvs;
    resp
}

/// Whether every key in the compare's range satisfies it; a missing key compares as zeros,
/// except that a VALUE compare on it is false.
fn holds(map: &Map, c: &Compare) -> bool {
    let kvs = select(map, &c.key, &c.range_end);
    if kvs.is_empty() && matches!(c.target, CompareTarget::Value(_)) {
        return false;
    }
    let zero = KeyValue::default();
    let kvs = if kvs.is_empty() { vec![zero] } else { kvs };
    kvs.iter().all(|kv| {
        let ord = match &c.target {
            CompareTarget::Version(v) => kv.version.cmp(v),
            CompareTarget::Create(v) => kv.create_revision.cmp(v),
            CompareTarget::Mod(v) => kv.mod_revision.cmp(v),
            CompareTarget::Lease(v) => kv.lease.cmp(v),
            CompareTarget::Value(v) => kv.value.cmp(v),
        };
        match c.result {
            CompareResult::Equal => ord.is_eq(),
            CompareResult::NotEqual => ord.is_ne(),
            CompareResult::Greater => ord.is_gt(),
            CompareResult::Less => ord.is_lt(),
        }
    })
}

/// etcd's `checkIntervals` for one branch without nested txns: a key may not be put twice,
/// nor put and deleted. A delete covers its literal `[key, range_end)` interval, so a
/// from-key delete (`range_end = "\0"`) or an inverted one covers nothing.
pub fn has_duplicate_key(ops: &[RequestOp]) -> bool {
    let deletes: Vec<&DeleteRangeRequest> = ops
        .iter()
        .filter_map(|op| match op {
            RequestOp::DeleteRange(d) => Some(d),
            _ => None,
        })
        .collect();
    let covered = |key: &Bytes| {
        deletes.iter().any(|d| match d.range_end.as_ref() {
            [] => d.key == key,
            end => d.key <= key && key.as_ref() < end,
        })
    };
    let mut puts = BTreeSet::new();
    ops.iter().any(|op| match op {
        RequestOp::Put(p) => !puts.insert(p.key.clone()) || covered(&p.key),
        _ => false,
    })
}

impl Model {
    pub fn new() -> Self {
        Self {
            states: vec![Map::new(), Map::new()],
            changes: vec![Vec::new(), Vec::new()],
            compacted: -1,
            compactions: BTreeSet::new(),
        }
    }

    pub fn current(&self) -> i64 {
        self.states.len() as i64 - 1
    }

    pub fn latest(&self) -> &Map {
        self.states.last().expect("revision 1 always exists")
    }

    fn begin(&self) -> Write {
        Write {
            map: self.latest().clone(),
            rev: self.current() + 1,
            changes: Vec::new(),
        }
    }

    /// Commits a write: one new revision if it changed anything.
    fn commit(&mut self, w: Write) {
        if !w.changes.is_empty() {
            self.states.push(w.map);
            self.changes.push(w.changes);
        }
    }

    /// The answer etcd gives to `req` (validation included), updating the model.
    pub fn apply(&mut self, req: &Request) -> Result<Response, EtcdError> {
        match req {
            Request::Range(r) => self.range(r).map(Response::Range),
            Request::Put(p) => self.put(p).map(Response::Put),
            Request::DeleteRange(d) => {
                let mut w = self.begin();
                let resp = w.delete(d);
                self.commit(w);
                Ok(Response::DeleteRange(resp))
            }
            Request::Txn(t) => self.txn(t).map(Response::Txn),
            Request::Compaction(c) => self.compact(c.revision).map(Response::Compaction),
            other => unimplemented!("the model does not do {other:?}"),
        }
    }

    /// Which revision a read at `requested` sees (≤ 0 = latest), or why it cannot.
    fn readable(&self, requested: i64) -> Result<i64, EtcdError> {
        if requested > self.current() {
            return Err(EtcdError::FutureRev);
        }
        let at = if requested <= 0 {
            self.current()
        } else {
            requested
        };
        if at < self.compacted {
            return Err(EtcdError::Compacted);
        }
        Ok(at)
    }

    fn range(&self, r: &RangeRequest) -> Result<RangeResponse, EtcdError> {
        let at = self.readable(r.revision)?;
        Ok(read(&self.states[at as usize], r, self.current()))
    }

    fn put(&mut self, p: &PutRequest) -> Result<PutResponse, EtcdError> {
        let value = match self.latest().get(&p.key) {
            Some(m) if p.ignore_value => m.value.clone(),
            None if p.ignore_value => return Err(EtcdError::KeyNotFound),
            _ => p.value.clone(),
        };
        let mut w = self.begin();
        let resp = w.put(&p.key, value, p.prev_kv);
        self.commit(w);
        Ok(resp)
    }

    fn txn(&mut self, t: &TxnRequest) -> Result<TxnResponse, EtcdError> {
        if has_duplicate_key(&t.success) || has_duplicate_key(&t.failure) {
            return Err(EtcdError::DuplicateKey);
        }
        let succeeded = t.compare.iter().all(|c| holds(self.latest(), c));
        let ops = if succeeded { &t.success } else { &t.failure };
        // Ranges at a revision are checked against the store before the txn writes.
        for op in ops {
            if let RequestOp::Range(r) = op {
                if r.revision > self.current() {
                    return Err(EtcdError::FutureRev);
                }
                if r.revision != 0 && r.revision < self.compacted {
                    return Err(EtcdError::Compacted);
                }
            }
        }
        let mut w = self.begin();
        let mut responses = Vec::new();
        for op in ops {
            responses.push(match op {
                RequestOp::Range(r) if r.revision == 0 => {
                    ResponseOp::Range(read(&w.map, r, w.view()))
                }
                RequestOp::Range(r) => {
                    ResponseOp::Range(read(&self.states[r.revision as usize], r, w.view()))
                }
                RequestOp::Put(p) => ResponseOp::Put(w.put(&p.key, p.value.clone(), p.prev_kv)),
                RequestOp::DeleteRange(d) => ResponseOp::DeleteRange(w.delete(d)),
                RequestOp::Txn(_) => unimplemented!("the model has no nested txns"),
            });
        }
        let header = ResponseHeader::at(w.view());
        self.commit(w);
        Ok(TxnResponse {
            header,
            succeeded,
            responses,
        })
    }

    fn compact(&mut self, rev: i64) -> Result<CompactionResponse, EtcdError> {
        if rev <= self.compacted {
            return Err(EtcdError::Compacted);
        }
        if rev > self.current() {
            return Err(EtcdError::FutureRev);
        }
        self.compacted = rev;
        self.compactions.insert(rev);
        Ok(CompactionResponse {
            header: ResponseHeader::at(self.current()),
        })
    }

    /// What a watcher asking for `prev_kv` gets with `event`: the key as of the revision
    /// before, unless the event created it.
    pub fn prev_kv(&self, event: &Event) -> Option<KeyValue> {
        if event.kind == EventType::Put && event.kv.version == 1 {
            return None;
        }
        let before = &self.states[event.kv.mod_revision as usize - 1];
        before.get(&event.kv.key).map(|m| to_kv(&event.kv.key, m))
    }

    /// The events a watcher of `[start_key, end)` from revision `from` should see, up to now.
    ///
    /// Each comes with whether it may be missing: compacting at revision `R` keeps only the
    /// newest change of a key's generation at `R` (etcd `keyIndex.compact`), so when a txn at
    /// a compaction revision put a key and then deleted it (a from-key delete slips past the
    /// duplicate-key check), a watcher reading `R` from history sees only the delete.
    pub fn watch_events(&self, from: i64, start_key: &[u8], end: &[u8]) -> Vec<(Event, bool)> {
        let mut out = Vec::new();
        for rev in from.max(1)..=self.current() {
            let changes = &self.changes[rev as usize];
            for (i, e) in changes.iter().enumerate() {
                if !in_span(&e.kv.key, start_key, end) {
                    continue;
                }
                let superseded = changes[i + 1..].iter().any(|l| l.kv.key == e.kv.key);
                let droppable =
                    e.kind == EventType::Put && superseded && self.compactions.contains(&rev);
                out.push((e.clone(), droppable));
            }
        }
        out
    }
}
