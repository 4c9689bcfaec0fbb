use super::*;

fn key(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn primary() -> Lessor {
    let mut l = Lessor::new(LeaseConfig::default());
    l.promote(0, 0);
    l
}

#[test]
fn grant_clamps_and_refuses_like_etcd() {
    let mut l = primary();
    assert_eq!(
        l.grant(1, 0, 0).unwrap().ttl,
        2,
        "lease grant 0 gives TTL(2s)"
    );
    assert_eq!(l.grant(2, -5, 0).unwrap().ttl, 2);
    assert_eq!(l.grant(3, MAX_LEASE_TTL, 0).unwrap().ttl, MAX_LEASE_TTL);
    assert_eq!(
        l.grant(4, MAX_LEASE_TTL + 1, 0).err(),
        Some(LeaseError::LeaseTtlTooLarge)
    );
    assert_eq!(l.grant(1, 60, 0).err(), Some(LeaseError::LeaseExist));
    assert_eq!(l.grant(0, 60, 0).err(), Some(LeaseError::LeaseNotFound));
}

#[test]
fn expiry_is_reported_not_acted_on() {
    let mut l = primary();
    l.grant(7, 5, 1_000).unwrap();
    l.attach(7, key("k"));
    assert_eq!(l.expired(5_999), Vec::<i64>::new());
    assert_eq!(l.next_wakeup(), Some(6_000));
    assert_eq!(l.expired(6_000), vec![7]);
    assert!(l.get(7).is_some(), "the lessor never deletes on its own");
    assert_eq!(
        l.expired(6_001),
        Vec::<i64>::new(),
        "reported once per retry interval"
    );
    assert_eq!(
        l.expired(9_000),
        vec![7],
        "reported again while not revoked"
    );
    assert_eq!(l.keys(7).unwrap(), vec![key("k")]);
    l.remove(7).unwrap();
    assert_eq!(l.expired(100_000), Vec::<i64>::new());
    assert_eq!(l.next_wakeup(), None);
}

#[test]
fn renew_moves_the_deadline_and_needs_the_primary() {
    let mut l = primary();
    l.grant(7, 10, 0).unwrap();
    assert_eq!(l.renew(7, 8_000), Ok(10));
    assert_eq!(l.expired(10_000), Vec::<i64>::new());
    let ttl = l.time_to_live(7, false, 8_500).unwrap();
    assert_eq!(
        (ttl.remaining, ttl.granted),
        (9, 10),
        "9.5 s truncates to 9"
    );
    assert_eq!(l.renew(8, 0), Err(LeaseError::LeaseNotFound));
    assert_eq!(
        l.renew(7, 18_000),
        Err(LeaseError::LeaseNotFound),
        "past its deadline"
    );
    l.demote();
    assert_eq!(l.renew(7, 0), Err(LeaseError::NotLeader));
    assert_eq!(l.time_to_live(7, false, 0), Err(LeaseError::NotLeader));
    assert_eq!(
        l.expired(1_000_000),
        Vec::<i64>::new(),
        "followers report nothing"
    );
}

#[test]
fn new_leader_gives_every_lease_a_fresh_ttl() {
    let mut l = primary();
    l.grant(1, 10, 0).unwrap();
    l.grant(2, 20, 0).unwrap();
    l.demote();
    // Nine seconds later another member leads, with a 1 s election timeout as extension.
    l.promote(9_000, 1_000);
    assert_eq!(l.time_to_live(1, false, 9_000).unwrap().remaining, 11);
    assert_eq!(l.expired(19_999), Vec::<i64>::new());
    assert_eq!(l.expired(20_000), vec![1]);
    assert_eq!(
        l.lease_ids(),
        vec![1, 2],
        "sorted by deadline on the primary"
    );
}

#[test]
fn checkpoints_keep_remaining_ttl_across_leaders() {
    let config = LeaseConfig {
        checkpointing: true,
        checkpoint_interval_ms: 60_000,
        ..LeaseConfig::default()
    };
    let mut l = Lessor::new(config);
    l.promote(0, 0);
    l.grant(1, 600, 0).unwrap();
    assert_eq!(l.checkpoints_due(59_999, 10), vec![]);
    assert_eq!(l.checkpoints_due(60_000, 10), vec![(1, 540)]);
    l.checkpoint(1, 540, 60_000); // applied through Raft
    l.demote();
    l.promote(61_000, 0);
    assert_eq!(l.time_to_live(1, false, 61_000).unwrap().remaining, 540);
    assert_eq!(l.renew(1, 62_000), Ok(600));
    assert_eq!(
        l.checkpoints_due(62_000, 10),
        vec![(1, 0)],
        "a renew clears the checkpoint"
    );
}

#[test]
fn promote_spreads_a_pile_of_expiries() {
    let mut l = Lessor::new(LeaseConfig::default());
    for id in 1..=2_000 {
        l.grant(id, 10, 0).unwrap();
    }
    l.promote(0, 0);
    let mut per_second = BTreeMap::<i64, usize>::new();
    for id in 1..=2_000 {
        let ttl = l.time_to_live(id, false, 0).unwrap().remaining;
        assert!(ttl >= 10, "no lease expires earlier than its TTL");
        *per_second.entry(ttl).or_default() += 1;
    }
    assert!(per_second.len() > 1, "expiries were spread: {per_second:?}");
    assert!(per_second.values().all(|&n| n <= 751), "{per_second:?}");
    // Every lease is still reported, in batches of at most 500.
    let mut reported = BTreeSet::new();
    for t in (10_000..20_000).step_by(500) {
        let batch = l.expired(t);
        assert!(batch.len() <= 500);
        reported.extend(batch);
    }
    assert_eq!(reported.len(), 2_000);
}

#[test]
fn keys_attach_and_detach() {
    let mut l = primary();
    l.grant(1, 60, 0).unwrap();
    l.attach(1, key("b"));
    l.attach(1, key("a"));
    l.detach(1, b"b");
    l.detach(99, b"a");
    assert_eq!(l.keys(1).unwrap(), vec![key("a")]);
    let ttl = l.time_to_live(1, true, 0).unwrap();
    assert_eq!(ttl.keys, vec![key("a")]);
}

#[test]
fn ids_and_order_without_primary() {
    let mut l = Lessor::new(LeaseConfig::default());
    l.grant(9, 60, 0).unwrap();
    l.grant(3, 60, 0).unwrap();
    assert_eq!(l.lease_ids(), vec![3, 9]);
    assert!(!l.is_primary());
}
