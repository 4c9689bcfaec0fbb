//! A watcher that stops reading while writes pour in is paused and caught up later, not
//! dropped: every event arrives, in order, with no gap and no cancel, as with etcd.
//!
//! The watch client is a plain gRPC client (Orrery's generated one) with no limit on the
//! size of a message, as etcd's Go client (`MaxCallRecvMsgSize` = MaxInt32): a catch-up
//! response carries up to 1,000 revisions, as etcd's does. The writes go through the
//! `etcd-client` crate.

use in_process::start_member;
use orrery::pb::etcdserverpb::{self as pb, watch_client::WatchClient};
use std::time::Duration;

mod in_process;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_watcher_is_caught_up_not_dropped() {
    let (etcd, c) = start_member("slow-watch").await;
    let endpoint = format!("http://{}", etcd.client_addrs[0]);
    let mut watch = WatchClient::connect(endpoint)
        .await
        .unwrap()
        .max_decoding_message_size(usize::MAX);
    let (requests, rx) = tokio::sync::mpsc::channel(4);
    let create = pb::WatchRequest {
        request_union: Some(pb::watch_request::RequestUnion::CreateRequest(
            pb::WatchCreateRequest {
                key: "s/".into(),
                range_end: "s0".into(),
                ..Default::default()
            },
        )),
    };
    requests.send(create).await.unwrap();
    let mut stream = watch
        .watch(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let created = stream.message().await.unwrap().unwrap();
    assert!(created.created);
    // Far more than the member, gRPC and both HTTP/2 ends buffer for one stream, written
    // while the watcher reads nothing: 8 writers × 200 puts of 16 KiB = 25 MiB.
    const WRITERS: usize = 8;
    const PUTS: usize = 200;
    let value = "x".repeat(16 * 1024);
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (mut c, value) = (c.clone(), value.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..PUTS {
                c.put(format!("s/{w}/{i:04}"), value.clone(), None)
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    // Now every event arrives, in revision order, with no cancel and no gap.
    let (mut seen, mut last_rev, mut next) = (0, 0, [0usize; WRITERS]);
    while seen < WRITERS * PUTS {
        let r = tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("events keep coming")
            .expect("no error")
            .expect("the stream stays open");
        assert!(
            !r.canceled,
            "the slow watcher was canceled: {}",
            r.cancel_reason
        );
        for e in r.events {
            let kv = e.kv.unwrap();
            assert!(kv.mod_revision > last_rev, "out of order");
            last_rev = kv.mod_revision;
            let key = String::from_utf8(kv.key.to_vec()).unwrap();
            let (w, i) = key[2..].split_once('/').unwrap();
            let w: usize = w.parse().unwrap();
            assert_eq!(i, format!("{:04}", next[w]), "a gap in writer {w}'s puts");
            next[w] += 1;
            seen += 1;
        }
    }
    drop(requests);
    etcd.stop();
}
