use super::*;
use orrery_core::alarm::AlarmType;
use orrery_core::apply::{Config, StateMachine};
use orrery_core::backend::{AppliedChanges, MemoryBackend};
use orrery_core::cluster::{encode_membership, Membership};
use orrery_core::request::*;

fn put(key: &str, value: &str, lease: i64) -> Request {
    Request::Put(PutRequest {
        key: key.as_bytes().to_vec().into(),
        value: value.as_bytes().to_vec().into(),
        lease,
        ..PutRequest::default()
    })
}

/// A state machine that reports its changes, as a native member's does.
fn journaled() -> StateMachine {
    let mut sm = StateMachine::new(Config::default());
    sm.enable_journal(true);
    sm
}

/// Installs a snapshot of another history (one key, `new`), as a leader's snapshot would.
fn replace_with_another_history(sm: &mut StateMachine) {
    let mut other = StateMachine::new(Config::default());
    let _ = other.apply(0, &put("new", "z", 0));
    sm.restore(&other.snapshot(), 0).unwrap();
}

/// Applies `requests` one batch each, writing every batch to `backend` and to the reference.
fn run(
    sm: &mut StateMachine,
    backend: &mut Backend,
    reference: &mut MemoryBackend,
    requests: &[Request],
) {
    for changes in batches(sm, reference, requests) {
        backend.commit(std::slice::from_ref(&changes)).unwrap();
    }
}

/// Applies `requests` one batch each to `sm` and the reference; the batches.
fn batches(
    sm: &mut StateMachine,
    reference: &mut MemoryBackend,
    requests: &[Request],
) -> Vec<AppliedChanges> {
    let mut out = Vec::new();
    for r in requests {
        let _ = sm.apply(0, r);
        let c = sm.take_changes().expect("the journal is on");
        let changes = AppliedChanges {
            index: reference.index() + 1,
            term: 2,
            state: c,
            membership: no_members(),
        };
        reference.apply(&changes);
        out.push(changes);
    }
    out
}

#[tokio::test]
async fn the_writer_thread_commits_batches_in_order_including_a_reset_between_them() {
    let dir = tempdir();
    let path = dir.join("db");
    let mut reference = MemoryBackend::default();
    let mut sm = journaled();
    let mut all = batches(
        &mut sm,
        &mut reference,
        &[put("old", "x", 0), put("old2", "y", 0)],
    );
    replace_with_another_history(&mut sm);
    all.extend(batches(&mut sm, &mut reference, &[put("after", "w", 0)]));
    let mut writer = writer::BackendWriter::spawn(Backend::open(&path).unwrap()).unwrap();
    // All three batches (the third carries the reset) wait to be sent: one commit.
    for changes in all {
        writer.apply(changes).await.unwrap();
    }
    writer.flush().await.unwrap();
    // Handed over after the flush: committed when the writer closes.
    for changes in batches(&mut sm, &mut reference, &[put("last", "v", 0)]) {
        writer.apply(changes).await.unwrap();
    }
    writer.close().await;
    let stored = Backend::open(&path).unwrap().load().unwrap().unwrap();
    assert_eq!(Some(stored.clone()), reference.state());
    assert_eq!(stored.index, 4);
    let keys: Vec<_> = stored.records.iter().map(|r| r.kv.key.clone()).collect();
    assert_eq!(
        keys,
        vec![b"new".to_vec(), b"after".to_vec(), b"last".to_vec()]
    );
}

#[test]
fn the_tables_hold_what_the_reference_backend_holds_across_a_reopen() {
    let dir = tempdir();
    let path = dir.join("db");
    let mut sm = journaled();
    let mut backend = Backend::open(&path).unwrap();
    assert_eq!(
        backend.load().unwrap(),
        None,
        "a new database holds nothing"
    );
    let mut reference = MemoryBackend::default();
    run(
        &mut sm,
        &mut backend,
        &mut reference,
        &[
            Request::LeaseGrant(LeaseGrantRequest { id: 7, ttl: 60 }),
            put("a", "1", 7),
            put("b", "2", 0),
            put("a", "3", 0),
            Request::DeleteRange(DeleteRangeRequest {
                key: b"b".to_vec().into(),
                ..DeleteRangeRequest::default()
            }),
            Request::LeaseGrant(LeaseGrantRequest { id: 8, ttl: 30 }),
            put("c", "4", 8),
            Request::Compaction(CompactionRequest {
                revision: 5,
                ..CompactionRequest::default()
            }),
            Request::LeaseRevoke(LeaseRevokeRequest { id: 8 }),
            Request::Alarm(AlarmRequest {
                action: AlarmAction::Activate,
                member_id: 3,
                alarm: AlarmType::NoSpace,
            }),
        ],
    );
    drop(backend);
    let backend = Backend::open(&path).unwrap();
    let stored = backend.load().unwrap().expect("written");
    assert_eq!(Some(stored.clone()), reference.state());
    assert_eq!(stored.index, 10);
    assert_eq!(stored.compact_revision, 5);
    assert_eq!(stored.leases.len(), 1, "lease 8 was revoked");
    assert_eq!(stored.alarms.len(), 1);
    // The tables restore exactly the applied state.
    let snap = stored.into_snapshot().unwrap();
    let mut restored = StateMachine::new(Config::default());
    let (_, sm_bytes) = orrery_core::server::decode_snapshot_data(&snap.data).unwrap();
    restored.restore(sm_bytes, 0).unwrap();
    assert_eq!(restored.snapshot(), sm.snapshot());
}

#[test]
fn a_reset_replaces_everything() {
    let dir = tempdir();
    let mut backend = Backend::open(&dir.join("db")).unwrap();
    let mut reference = MemoryBackend::default();
    let mut sm = journaled();
    run(
        &mut sm,
        &mut backend,
        &mut reference,
        &[put("old", "x", 0), put("old2", "y", 0)],
    );
    // A snapshot from the leader: another history entirely.
    replace_with_another_history(&mut sm);
    run(
        &mut sm,
        &mut backend,
        &mut reference,
        &[put("after", "w", 0)],
    );
    let stored = backend.load().unwrap().unwrap();
    assert_eq!(Some(stored.clone()), reference.state());
    let keys: Vec<_> = stored.records.iter().map(|r| r.kv.key.clone()).collect();
    assert_eq!(keys, vec![b"new".to_vec(), b"after".to_vec()]);
}

#[test]
fn a_database_of_an_unknown_format_is_refused() {
    let dir = tempdir();
    let path = dir.join("db");
    let mut backend = Backend::open(&path).unwrap();
    let mut sm = journaled();
    run(
        &mut sm,
        &mut backend,
        &mut MemoryBackend::default(),
        &[put("a", "1", 0)],
    );
    let tx = backend.db().begin_write().unwrap();
    tx.open_table(META)
        .unwrap()
        .insert(Meta::FORMAT, &9u32.to_le_bytes()[..])
        .unwrap();
    tx.commit().unwrap();
    let err = backend.load().unwrap_err().to_string();
    assert!(err.contains("which this version cannot read"), "{err}");
}

#[test]
fn revision_keys_are_etcds_and_sort_by_revision() {
    let k = revision_key(Revision::new(2, 1), false);
    assert_eq!(k, b"\0\0\0\0\0\0\0\x02_\0\0\0\0\0\0\0\x01");
    assert_eq!(parse_revision_key(&k), Some((Revision::new(2, 1), false)));
    let t = revision_key(Revision::new(2, 1), true);
    assert_eq!(parse_revision_key(&t), Some((Revision::new(2, 1), true)));
    assert!(
        revision_key(Revision::new(255, 0), false) < revision_key(Revision::new(256, 0), false)
    );
    assert_eq!(parse_revision_key(b"short"), None);
}

fn no_members() -> StoredMembership {
    let mut members = Vec::new();
    encode_membership(&Membership::default(), &mut members);
    StoredMembership {
        members,
        conf_state: ConfState::default(),
    }
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "orrery-backend-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn evicted_values_are_read_back_from_the_committed_tables_and_survive_a_defrag() {
    let dir = tempdir();
    let mut sm = journaled();
    let mut reference = MemoryBackend::default();
    let backend = Backend::open(&dir.join("db")).unwrap();
    sm.set_value_reader(backend.values());
    let mut writer = writer::BackendWriter::spawn(backend).unwrap();
    let committed = writer.committed();
    assert_eq!(*committed.borrow(), writer::Committed::default());
    let requests = [put("a", "1", 0), put("b", "2", 0), put("a", "3", 0)];
    for changes in batches(&mut sm, &mut reference, &requests) {
        writer.apply(changes).await.unwrap();
    }
    writer.flush().await.unwrap();
    let c = *committed.borrow();
    assert_eq!((c.index, c.revision), (3, 4), "the last batch committed");
    assert_eq!(sm.evict_values(c.revision), 3);
    // Defragmenting needs the reader's table closed; the reads below check it reopens.
    writer.compact().await.unwrap();
    let read = |at: i64| {
        let opts = orrery_core::mvcc::ReadOptions {
            revision: at,
            ..Default::default()
        };
        let all =
            orrery_core::mvcc::KeyRange::new(Bytes::from_static(b"a"), Bytes::from_static(b"z"));
        let kvs = sm.store().range(&all, opts).unwrap().kvs;
        kvs.iter()
            .map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(read(0), ["3", "2"]);
    assert_eq!(read(2), ["1"], "history is read back too");
    writer.close().await;
}
