//! A one-member orrery started inside the test process, shared by the tests that drive it
//! with client libraries.

use etcd_client::Client;
use orrery::embed::{self, Etcd};
use orrery::flags::Flags;
use orrery_tests::scratch;
use std::time::Duration;

/// A one-member cluster in this process, listening on ports the OS picks (it advertises
/// etcd's default peer URL, which no one dials in a one-member cluster).
pub async fn start_member(name: &str) -> (Etcd, Client) {
    let dir = scratch(name);
    let flags = Flags::from_args_without_env(vec![
        format!("--data-dir={}", dir.join("m1").display()),
        "--listen-client-urls=http://127.0.0.1:0".into(),
        "--listen-peer-urls=http://127.0.0.1:0".into(),
        "--heartbeat-interval=20".into(),
        "--election-timeout=200".into(),
    ])
    .expect("flags");
    let etcd = embed::start(&flags).await.expect("member starts");
    let endpoint = format!("http://{}", etcd.client_addrs[0]);
    let mut client = Client::connect([endpoint], None).await.expect("connect");
    // The member elects itself within a few election timeouts.
    for _ in 0..100 {
        if client.status().await.is_ok_and(|s| s.leader() != 0) {
            return (etcd, client);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the member never elected a leader");
}
