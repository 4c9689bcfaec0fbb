use super::*;
use crate::error::PutError;
use crate::mvcc::{Event, EventType, KeyValue};
use bytes::Bytes;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn sm() -> StateMachine {
    let mut sm = StateMachine::new(Config::default());
    sm.promote(0, 0);
    sm
}

fn put(k: &str, v: &str) -> PutRequest {
    PutRequest {
        key: b(k),
        value: b(v),
        ..PutRequest::default()
    }
}

fn get(k: &str) -> RangeRequest {
    RangeRequest {
        key: b(k),
        ..RangeRequest::default()
    }
}

fn version_eq(k: &str, v: i64) -> Compare {
    Compare {
        key: b(k),
        range_end: Bytes::new(),
        result: CompareResult::Equal,
        target: CompareTarget::Version(v),
    }
}

fn apply(sm: &mut StateMachine, r: Request) -> Result<Response, EtcdError> {
    sm.validate(&r)?;
    sm.apply(0, &r)
}

fn txn_resp(r: Result<Response, EtcdError>) -> TxnResponse {
    match r {
        Ok(Response::Txn(t)) => t,
        other => panic!("expected a txn response, got {other:?}"),
    }
}

fn value(sm: &StateMachine, k: &str) -> Option<Bytes> {
    sm.range(&get(k))
        .unwrap()
        .kvs
        .first()
        .map(|kv| kv.value.clone())
}

#[test]
fn txn_writes_share_one_revision_and_reads_see_earlier_ops() {
    let mut sm = sm();
    let r = txn_resp(apply(
        &mut sm,
        Request::Txn(TxnRequest {
            compare: vec![version_eq("a", 0)],
            success: vec![
                RequestOp::Put(put("a", "1")),
                RequestOp::Put(put("b", "2")),
                RequestOp::Range(get("a")),
            ],
            failure: vec![],
        }),
    ));
    assert!(r.succeeded);
    assert_eq!(r.header.revision, 2);
    let ResponseOp::Range(rr) = &r.responses[2] else {
        panic!()
    };
    assert_eq!((rr.header.revision, rr.kvs[0].mod_revision), (2, 2));
    assert_eq!(sm.store().revision(), 2);
}

#[test]
fn nested_txn_compares_see_the_state_before_the_txn() {
    // Verified against etcd 3.4.23: the nested compare `version(n) = 0` holds although the
    // outer txn put `n` first, and the nested txn's header is empty.
    let mut sm = sm();
    let r = txn_resp(apply(
        &mut sm,
        Request::Txn(TxnRequest {
            compare: vec![],
            success: vec![
                RequestOp::Put(put("n", "1")),
                RequestOp::Txn(TxnRequest {
                    compare: vec![version_eq("n", 0)],
                    success: vec![RequestOp::Range(get("n"))],
                    failure: vec![],
                }),
            ],
            failure: vec![],
        }),
    ));
    let ResponseOp::Txn(nested) = &r.responses[1] else {
        panic!()
    };
    assert!(nested.succeeded);
    assert_eq!(nested.header, ResponseHeader::default());
    let ResponseOp::Range(rr) = &nested.responses[0] else {
        panic!()
    };
    assert_eq!((rr.header.revision, rr.count), (2, 1));
}

#[test]
fn read_only_txn_creates_no_revision() {
    let mut sm = sm();
    apply(&mut sm, Request::Put(put("a", "1"))).unwrap();
    let r = txn_resp(apply(
        &mut sm,
        Request::Txn(TxnRequest {
            compare: vec![version_eq("a", 5)],
            success: vec![],
            failure: vec![RequestOp::Range(get("a"))],
        }),
    ));
    assert!(!r.succeeded);
    assert_eq!((r.header.revision, sm.store().revision()), (2, 2));
}

#[test]
fn a_failing_txn_changes_nothing() {
    let mut sm = sm();
    apply(&mut sm, Request::Put(put("a", "1"))).unwrap();
    let bad_lease = PutRequest {
        lease: 99,
        ..put("b", "1")
    };
    let r = apply(
        &mut sm,
        Request::Txn(TxnRequest {
            compare: vec![],
            success: vec![RequestOp::Put(put("c", "1")), RequestOp::Put(bad_lease)],
            failure: vec![],
        }),
    );
    assert_eq!(r, Err(EtcdError::LeaseNotFound));
    let future = RangeRequest {
        revision: 3,
        ..get("a")
    };
    let r = apply(
        &mut sm,
        Request::Txn(TxnRequest {
            compare: vec![],
            success: vec![RequestOp::Put(put("c", "1")), RequestOp::Range(future)],
            failure: vec![],
        }),
    );
    assert_eq!(r, Err(EtcdError::FutureRev));
    assert_eq!((sm.store().revision(), value(&sm, "c")), (2, None));
}

#[test]
fn from_key_delete_then_ignore_value_put_is_refused_not_a_crash() {
    // etcd 3.4 accepts this txn (its duplicate check cannot see from-key deletes) and then
    // panics in apply; Orrery refuses it before writing.
    let mut sm = sm();
    apply(&mut sm, Request::Put(put("b", "1"))).unwrap();
    let keep = PutRequest {
        ignore_value: true,
        ..put("b", "")
    };
    let from_a = DeleteRangeRequest {
        key: b("a"),
        range_end: b("\0"),
        prev_kv: false,
    };
    let r = apply(
        &mut sm,
        Request::Txn(TxnRequest {
            compare: vec![],
            success: vec![RequestOp::DeleteRange(from_a), RequestOp::Put(keep)],
            failure: vec![],
        }),
    );
    assert_eq!(r, Err(EtcdError::KeyNotFound));
    assert_eq!(value(&sm, "b"), Some(b("1")));
}

#[test]
fn delete_and_recreate_in_one_txn() {
    let mut sm = sm();
    apply(&mut sm, Request::Put(put("a", "old"))).unwrap();
    let from_a = DeleteRangeRequest {
        key: b("a"),
        range_end: b("\0"),
        prev_kv: true,
    };
    let r = txn_resp(apply(
        &mut sm,
        Request::Txn(TxnRequest {
            compare: vec![],
            success: vec![
                RequestOp::DeleteRange(from_a),
                RequestOp::Put(put("a", "new")),
            ],
            failure: vec![],
        }),
    ));
    assert_eq!(r.header.revision, 3);
    let kv = sm.range(&get("a")).unwrap().kvs[0].clone();
    assert_eq!((kv.create_revision, kv.version, kv.value), (3, 1, b("new")));
    sm.apply(
        0,
        &Request::Compaction(CompactionRequest {
            revision: 3,
            physical: false,
        }),
    )
    .unwrap();
    assert_eq!(
        value(&sm, "a"),
        Some(b("new")),
        "etcd #22376: the live value survives"
    );
}

#[test]
fn put_flags_follow_etcd() {
    let mut sm = sm();
    let ignore = PutRequest {
        ignore_value: true,
        ..put("k", "")
    };
    assert_eq!(
        apply(&mut sm, Request::Put(ignore.clone())),
        Err(EtcdError::KeyNotFound)
    );
    assert_eq!(sm.store().revision(), 1);
    let grant = LeaseGrantRequest { ttl: 60, id: 5 };
    apply(&mut sm, Request::LeaseGrant(grant)).unwrap();
    apply(
        &mut sm,
        Request::Put(PutRequest {
            lease: 5,
            ..put("k", "v1")
        }),
    )
    .unwrap();
    let Response::Put(p) = apply(
        &mut sm,
        Request::Put(PutRequest {
            prev_kv: true,
            ..ignore
        }),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(p.prev_kv.map(|kv| kv.value), Some(b("v1")));
    let kv = sm.range(&get("k")).unwrap().kvs[0].clone();
    assert_eq!(
        (kv.value, kv.lease, kv.version),
        (b("v1"), 0, 2),
        "value kept, lease dropped"
    );
    assert!(
        sm.lessor().keys(5).unwrap().is_empty(),
        "detached from the old lease"
    );
    assert_eq!(
        apply(
            &mut sm,
            Request::Put(PutRequest {
                lease: 6,
                ..put("k", "x")
            })
        ),
        Err(PutError::LeaseNotFound.into())
    );
}

#[test]
fn lease_revoke_deletes_its_keys_in_one_revision() {
    let mut sm = sm();
    let stream = sm.watch_open();
    let all = WatchCreateRequest {
        key: b("\0"),
        range_end: b("\0"),
        ..Default::default()
    };
    sm.watch_create(stream, &all).unwrap();
    apply(
        &mut sm,
        Request::LeaseGrant(LeaseGrantRequest { ttl: 5, id: 7 }),
    )
    .unwrap();
    for k in ["b", "a", "c"] {
        apply(
            &mut sm,
            Request::Put(PutRequest {
                lease: 7,
                ..put(k, "v")
            }),
        )
        .unwrap();
    }
    apply(&mut sm, Request::Put(put("c", "no lease"))).unwrap(); // c leaves the lease: 5
    assert_eq!(sm.expired_leases(5_000), vec![7]);
    apply(&mut sm, Request::LeaseRevoke(LeaseRevokeRequest { id: 7 })).unwrap();
    assert_eq!(sm.store().revision(), 6);
    assert_eq!(value(&sm, "c"), Some(b("no lease")));
    let last = std::iter::from_fn(|| sm.watch_poll(stream)).last().unwrap();
    let deleted: Vec<(i64, EventType, Bytes)> = last
        .events
        .iter()
        .map(|e| (e.kv.mod_revision, e.kind, e.kv.key.clone()))
        .collect();
    assert_eq!(
        deleted,
        vec![
            (6, EventType::Delete, b("a")),
            (6, EventType::Delete, b("b"))
        ],
        "one revision, key order"
    );
    assert_eq!(
        apply(&mut sm, Request::LeaseRevoke(LeaseRevokeRequest { id: 7 })),
        Err(EtcdError::LeaseNotFound)
    );
    let empty_lease = LeaseGrantRequest { ttl: 5, id: 8 };
    apply(&mut sm, Request::LeaseGrant(empty_lease)).unwrap();
    apply(&mut sm, Request::LeaseRevoke(LeaseRevokeRequest { id: 8 })).unwrap();
    assert_eq!(
        sm.store().revision(),
        6,
        "revoking a lease without keys creates no revision"
    );
}

#[test]
fn keep_alive_and_time_to_live_answers() {
    let mut sm = sm();
    apply(
        &mut sm,
        Request::LeaseGrant(LeaseGrantRequest { ttl: 30, id: 1 }),
    )
    .unwrap();
    assert_eq!(sm.lease_keep_alive(1, 10_000).unwrap().ttl, 30);
    assert_eq!(
        sm.lease_keep_alive(2, 10_000).unwrap().ttl,
        0,
        "unknown: TTL 0, no error"
    );
    let ttl = sm.lease_time_to_live(1, true, 20_000).unwrap();
    assert_eq!((ttl.ttl, ttl.granted_ttl), (20, 30));
    assert_eq!(
        sm.lease_time_to_live(2, false, 0).unwrap().ttl,
        -1,
        "unknown: TTL -1"
    );
    sm.demote();
    assert_eq!(sm.lease_keep_alive(1, 0), Err(LeaseError::NotLeader));
    assert_eq!(sm.lease_leases().leases, vec![1]);
}

#[test]
fn snapshot_round_trip_preserves_history_hash_and_leases() {
    let mut sm = sm();
    apply(
        &mut sm,
        Request::LeaseGrant(LeaseGrantRequest { ttl: 60, id: 3 }),
    )
    .unwrap();
    apply(
        &mut sm,
        Request::Put(PutRequest {
            lease: 3,
            ..put("a", "1")
        }),
    )
    .unwrap();
    apply(&mut sm, Request::Put(put("a", "2"))).unwrap();
    apply(&mut sm, Request::Put(put("b", "1"))).unwrap();
    apply(
        &mut sm,
        Request::DeleteRange(DeleteRangeRequest {
            key: b("b"),
            ..Default::default()
        }),
    )
    .unwrap();
    apply(
        &mut sm,
        Request::Compaction(CompactionRequest {
            revision: 4,
            physical: true,
        }),
    )
    .unwrap();
    apply(
        &mut sm,
        Request::Put(PutRequest {
            lease: 3,
            ..put("c", "1")
        }),
    )
    .unwrap();
    let bytes = sm.snapshot();
    let mut other = StateMachine::new(Config::default());
    other.restore(&bytes, 0).unwrap();
    assert_eq!(other.store(), sm.store(), "index, records and revisions");
    assert_eq!(other.hash_kv(0), sm.hash_kv(0));
    assert_eq!(other.lessor().keys(3).unwrap(), vec![b("c")]);
    assert_eq!(other.snapshot(), bytes, "encoding is canonical");
    let past = RangeRequest {
        revision: 4,
        ..get("a")
    };
    assert_eq!(other.range(&past), sm.range(&past));
}

#[test]
fn damaged_snapshots_are_refused() {
    let mut sm = sm();
    apply(&mut sm, Request::Put(put("a", "1"))).unwrap();
    let bytes = sm.snapshot();
    let mut target = StateMachine::new(Config::default());
    let mut flipped = bytes.clone();
    flipped[20] ^= 1;
    assert_eq!(
        target.restore(&flipped, 0),
        Err(SnapshotError::ChecksumMismatch)
    );
    assert_eq!(
        target.restore(&bytes[..bytes.len() - 1], 0),
        Err(SnapshotError::ChecksumMismatch)
    );
    assert_eq!(target.restore(b"nonsense", 0), Err(SnapshotError::BadMagic));
    let mut future = bytes.clone();
    future[8] = 3;
    assert_eq!(
        target.restore(&future, 0),
        Err(SnapshotError::UnsupportedVersion(3))
    );
    assert_eq!(
        target.store().revision(),
        1,
        "a refused snapshot leaves the state alone"
    );
}

#[test]
fn watchers_survive_a_restore_and_resume_from_the_new_history() {
    let mut leader = sm();
    let mut follower = sm();
    let stream = follower.watch_open();
    follower
        .watch_create(
            stream,
            &WatchCreateRequest {
                key: b("k"),
                ..Default::default()
            },
        )
        .unwrap();
    follower.watch_poll(stream);
    // The leader moves ahead; the follower catches up by snapshot instead of entries.
    for v in ["1", "2", "3"] {
        apply(&mut leader, Request::Put(put("k", v))).unwrap();
    }
    follower.restore(&leader.snapshot(), 0).unwrap();
    follower.watch_sync();
    let got: Vec<Event> = std::iter::from_fn(|| follower.watch_poll(stream))
        .flat_map(|r| r.events)
        .collect();
    let values: Vec<KeyValue> = got.into_iter().map(|e| e.kv).collect();
    assert_eq!(
        values.iter().map(|kv| kv.mod_revision).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
}

#[test]
fn compaction_at_a_tombstone_then_restore_gives_an_identical_store() {
    let mut sm = sm();
    apply(&mut sm, Request::Put(put("k", "1"))).unwrap(); // 2
    apply(
        &mut sm,
        Request::DeleteRange(DeleteRangeRequest {
            key: b("k"),
            ..Default::default()
        }),
    )
    .unwrap(); // 3
    apply(
        &mut sm,
        Request::Compaction(CompactionRequest {
            revision: 3,
            physical: false,
        }),
    )
    .unwrap();
    let mut other = StateMachine::new(Config::default());
    other.restore(&sm.snapshot(), 0).unwrap();
    assert_eq!(other.store(), sm.store());
}

#[test]
fn nospace_refuses_only_growing_writes_everywhere_and_survives_a_snapshot() {
    use crate::alarm::{AlarmMember, AlarmType};
    let mut m = sm();
    apply(&mut m, Request::Put(put("a", "1"))).unwrap();
    let raise = AlarmRequest {
        action: AlarmAction::Activate,
        member_id: 7,
        alarm: AlarmType::NoSpace,
    };
    let raised = apply(&mut m, Request::Alarm(raise)).unwrap();
    let nospace = AlarmMember {
        member_id: 7,
        alarm: AlarmType::NoSpace,
    };
    assert!(matches!(raised, Response::Alarm(ref a) if a.alarms == [nospace]));
    let again = apply(&mut m, Request::Alarm(raise)).unwrap();
    assert!(matches!(again, Response::Alarm(ref a) if a.alarms.is_empty()));
    let rev = m.store().revision();
    assert_eq!(
        apply(&mut m, Request::Put(put("b", "2"))),
        Err(EtcdError::NoSpace)
    );
    let grant = LeaseGrantRequest { ttl: 10, id: 5 };
    assert_eq!(
        apply(&mut m, Request::LeaseGrant(grant)),
        Err(EtcdError::NoSpace)
    );
    let put_in_failure = TxnRequest {
        compare: vec![],
        success: vec![],
        failure: vec![RequestOp::Put(put("c", "3"))],
    };
    assert_eq!(
        apply(&mut m, Request::Txn(put_in_failure)),
        Err(EtcdError::NoSpace),
        "a put in either branch counts"
    );
    assert_eq!(m.store().revision(), rev, "nothing was written");
    // Reads, deletes and delete-only txns still work.
    assert_eq!(value(&m, "a"), Some(b("1")));
    let delete_only = TxnRequest {
        compare: vec![],
        success: vec![RequestOp::DeleteRange(DeleteRangeRequest {
            key: b("a"),
            ..DeleteRangeRequest::default()
        })],
        failure: vec![],
    };
    txn_resp(apply(&mut m, Request::Txn(delete_only)));
    // The alarm is part of the replicated state.
    let mut restored = StateMachine::new(Config::default());
    restored.restore(&m.snapshot(), 0).unwrap();
    assert_eq!(restored.alarms().list(), [nospace]);
    let list = AlarmRequest::default();
    let listed = apply(&mut restored, Request::Alarm(list)).unwrap();
    assert!(matches!(listed, Response::Alarm(ref a) if a.alarms == [nospace]));
    let clear = AlarmRequest {
        action: AlarmAction::Deactivate,
        ..raise
    };
    apply(&mut restored, Request::Alarm(clear)).unwrap();
    apply(&mut restored, Request::Put(put("b", "2"))).unwrap();
}
