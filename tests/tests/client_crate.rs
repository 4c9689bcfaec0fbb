//! The `etcd-client` crate (a real client no one here wrote) against an in-process orrery
//! member: KV, txn, watch from a historic revision and after compaction, leases with
//! keep-alive and expiry, member list, status, and etcd's errors.

use etcd_client::{
    Compare, CompareOp, EventType, GetOptions, PutOptions, Txn, TxnOp, WatchOptions,
};
use in_process::start_member;
use std::time::Duration;

mod in_process;

fn status_of(e: etcd_client::Error) -> tonic::Status {
    match e {
        etcd_client::Error::GRpcStatus(s) => s,
        other => panic!("expected a gRPC status, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_txn_and_errors_through_the_etcd_client_crate() {
    let (etcd, mut c) = start_member("client-kv").await;
    c.put("a", "1", None).await.unwrap();
    c.put("a/b", "2", None).await.unwrap();
    let r = c
        .get("a", Some(GetOptions::new().with_prefix()))
        .await
        .unwrap();
    let kvs: Vec<(&str, &str)> = r
        .kvs()
        .iter()
        .map(|kv| (kv.key_str().unwrap(), kv.value_str().unwrap()))
        .collect();
    assert_eq!(kvs, [("a", "1"), ("a/b", "2")]);
    assert_eq!(r.kvs()[0].create_revision(), 2);
    assert_eq!(r.header().unwrap().revision(), 3);
    let prev = c
        .put("a", "3", Some(PutOptions::new().with_prev_key()))
        .await
        .unwrap();
    assert_eq!(prev.prev_key().unwrap().value_str().unwrap(), "1");
    let txn = Txn::new()
        .when([Compare::value("a", CompareOp::Equal, "3")])
        .and_then([TxnOp::put("won", "yes", None)])
        .or_else([TxnOp::put("lost", "yes", None)]);
    assert!(c.txn(txn).await.unwrap().succeeded());
    let txn = Txn::new()
        .when([Compare::version("a", CompareOp::Equal, 1)])
        .and_then([TxnOp::put("won2", "yes", None)])
        .or_else([TxnOp::get("a", None)]);
    assert!(!c.txn(txn).await.unwrap().succeeded());
    assert_eq!(c.get("lost", None).await.unwrap().count(), 0);
    // etcd's errors, with etcd's codes and texts.
    let future = c
        .get("a", Some(GetOptions::new().with_revision(1000)))
        .await
        .unwrap_err();
    let s = status_of(future);
    assert_eq!(s.code(), tonic::Code::OutOfRange);
    assert_eq!(
        s.message(),
        "etcdserver: mvcc: required revision is a future revision"
    );
    let s = status_of(c.put("", "v", None).await.unwrap_err());
    assert_eq!(s.code(), tonic::Code::InvalidArgument);
    assert_eq!(s.message(), "etcdserver: key is not provided");
    let many: Vec<TxnOp> = (0..129)
        .map(|i| TxnOp::put(format!("k{i}"), "v", None))
        .collect();
    let s = status_of(c.txn(Txn::new().and_then(many)).await.unwrap_err());
    assert_eq!(
        s.message(),
        "etcdserver: too many operations in txn request"
    );
    let s = status_of(
        c.put("k", "v", Some(PutOptions::new().with_lease(0x7fff)))
            .await
            .unwrap_err(),
    );
    assert_eq!(s.code(), tonic::Code::NotFound);
    assert_eq!(s.message(), "etcdserver: requested lease not found");
    // Member list and status.
    let members = c.member_list().await.unwrap();
    assert_eq!(members.members().len(), 1);
    assert_eq!(members.members()[0].name(), "default");
    assert_eq!(members.members()[0].id(), etcd.identity.member_id);
    let status = c.status().await.unwrap();
    assert_eq!(status.version(), "3.4.23");
    assert_eq!(status.leader(), etcd.identity.member_id);
    assert!(status.raft_index() >= status.raft_applied_index());
    etcd.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_from_history_and_after_compaction() {
    let (etcd, mut c) = start_member("client-watch").await;
    c.put("w", "1", None).await.unwrap(); // revision 2
    c.put("w", "2", None).await.unwrap(); // 3
    c.delete("w", None).await.unwrap(); // 4
    let mut stream = c
        .watch("w", Some(WatchOptions::new().with_start_revision(2)))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let r = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("events in time")
            .unwrap()
            .expect("the stream stays open");
        for e in r.events() {
            let kv = e.kv().unwrap();
            seen.push((
                e.event_type(),
                kv.mod_revision(),
                kv.value_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(
        seen,
        [
            (EventType::Put, 2, "1".to_owned()),
            (EventType::Put, 3, "2".to_owned()),
            (EventType::Delete, 4, String::new()),
        ]
    );
    // Live events follow on the same stream.
    c.put("w", "live", None).await.unwrap(); // 5
    let r = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(r.events()[0].kv().unwrap().value_str().unwrap(), "live");
    // After compaction, a watch from before it is canceled with the compact revision.
    c.compact(4, None).await.unwrap();
    let mut old = c
        .watch("w", Some(WatchOptions::new().with_start_revision(2)))
        .await
        .unwrap();
    let r = loop {
        let r = tokio::time::timeout(Duration::from_secs(10), old.message())
            .await
            .unwrap()
            .unwrap()
            .expect("a response");
        if r.canceled() {
            break r;
        }
    };
    assert_eq!(r.compact_revision(), 4);
    etcd.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_keep_alive_and_expire() {
    let (etcd, mut c) = start_member("client-lease").await;
    let lease = c.lease_grant(2, None).await.unwrap();
    assert_eq!(lease.ttl(), 2);
    let id = lease.id();
    c.put("leased", "v", Some(PutOptions::new().with_lease(id)))
        .await
        .unwrap();
    let (mut keeper, mut responses) = c.lease_keep_alive(id).await.unwrap();
    // Keep it alive past its TTL.
    for _ in 0..6 {
        keeper.keep_alive().await.unwrap();
        let r = responses
            .message()
            .await
            .unwrap()
            .expect("a keep-alive answer");
        assert_eq!(r.id(), id);
        assert_eq!(r.ttl(), 2);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(c.get("leased", None).await.unwrap().count(), 1);
    let ttl = c.lease_time_to_live(id, None).await.unwrap();
    assert!(ttl.ttl() > 0 && ttl.ttl() <= 2, "{}", ttl.ttl());
    // Then let it expire: the key goes with it.
    drop(keeper);
    let mut gone = false;
    for _ in 0..100 {
        if c.get("leased", None).await.unwrap().count() == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the lease expired and took its key");
    assert_eq!(c.lease_time_to_live(id, None).await.unwrap().ttl(), -1);
    etcd.stop();
}
