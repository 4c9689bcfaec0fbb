//! Protobuf ↔ core: the only place that knows both `pb` (etcd's wire types) and
//! `orrery_core`'s requests and responses.
//!
//! Requests go in with etcd's decoding quirks: an enum value the core does not know becomes
//! the default (as a Go client sending a newer value to etcd 3.4 would see), and a compare
//! whose `target_union` does not match its `target` compares against zero.

use crate::pb::{etcdserverpb as pb, mvccpb, orrerypeerpb};
use orrery_core::cluster::Member;
use orrery_core::mvcc::{Event, EventType, KeyValue};
use orrery_core::request::{self as core, ResponseHeader};
use orrery_core::server::{HashKvResponse, MembersResponse, StatusResponse};
use orrery_core::watch::{WatchCreateRequest, WatchResponse};

// ----- requests -----

/// KV.Range.
pub fn range_request(r: pb::RangeRequest) -> core::RangeRequest {
    use pb::range_request::{SortOrder as O, SortTarget as T};
    core::RangeRequest {
        key: r.key,
        range_end: r.range_end,
        limit: r.limit,
        revision: r.revision,
        sort_order: match O::try_from(r.sort_order).unwrap_or(O::None) {
            O::None => core::SortOrder::None,
            O::Ascend => core::SortOrder::Ascend,
            O::Descend => core::SortOrder::Descend,
        },
        sort_target: match T::try_from(r.sort_target).unwrap_or(T::Key) {
            T::Key => core::SortTarget::Key,
            T::Version => core::SortTarget::Version,
            T::Create => core::SortTarget::Create,
            T::Mod => core::SortTarget::Mod,
            T::Value => core::SortTarget::Value,
        },
        serializable: r.serializable,
        keys_only: r.keys_only,
        count_only: r.count_only,
        min_mod_revision: r.min_mod_revision,
        max_mod_revision: r.max_mod_revision,
        min_create_revision: r.min_create_revision,
        max_create_revision: r.max_create_revision,
    }
}

/// KV.Put.
pub fn put_request(r: pb::PutRequest) -> core::PutRequest {
    core::PutRequest {
        key: r.key,
        value: r.value,
        lease: r.lease,
        prev_kv: r.prev_kv,
        ignore_value: r.ignore_value,
        ignore_lease: r.ignore_lease,
    }
}

/// KV.DeleteRange.
pub fn delete_request(r: pb::DeleteRangeRequest) -> core::DeleteRangeRequest {
    core::DeleteRangeRequest {
        key: r.key,
        range_end: r.range_end,
        prev_kv: r.prev_kv,
    }
}

fn compare(c: pb::Compare) -> core::Compare {
    use pb::compare::{CompareResult as R, CompareTarget as T, TargetUnion as U};
    let int = |u: &Option<U>, want: fn(&U) -> Option<i64>| u.as_ref().and_then(want).unwrap_or(0);
    let target = match T::try_from(c.target).unwrap_or(T::Version) {
        T::Version => core::CompareTarget::Version(int(&c.target_union, |u| match u {
            U::Version(v) => Some(*v),
            _ => None,
        })),
        T::Create => core::CompareTarget::Create(int(&c.target_union, |u| match u {
            U::CreateRevision(v) => Some(*v),
            _ => None,
        })),
        T::Mod => core::CompareTarget::Mod(int(&c.target_union, |u| match u {
            U::ModRevision(v) => Some(*v),
            _ => None,
        })),
        T::Lease => core::CompareTarget::Lease(int(&c.target_union, |u| match u {
            U::Lease(v) => Some(*v),
            _ => None,
        })),
        T::Value => core::CompareTarget::Value(match c.target_union {
            Some(U::Value(v)) => v,
            _ => Default::default(),
        }),
    };
    core::Compare {
        key: c.key,
        range_end: c.range_end,
        result: match R::try_from(c.result).unwrap_or(R::Equal) {
            R::Equal => core::CompareResult::Equal,
            R::Greater => core::CompareResult::Greater,
            R::Less => core::CompareResult::Less,
            R::NotEqual => core::CompareResult::NotEqual,
        },
        target,
    }
}

/// KV.Txn. An op with no request set is dropped, as etcd's apply ignores it.
pub fn txn_request(t: pb::TxnRequest) -> core::TxnRequest {
    let ops = |ops: Vec<pb::RequestOp>| -> Vec<core::RequestOp> {
        use pb::request_op::Request as Op;
        ops.into_iter()
            .filter_map(|op| {
                Some(match op.request? {
                    Op::RequestRange(r) => core::RequestOp::Range(range_request(r)),
                    Op::RequestPut(r) => core::RequestOp::Put(put_request(r)),
                    Op::RequestDeleteRange(r) => core::RequestOp::DeleteRange(delete_request(r)),
                    Op::RequestTxn(r) => core::RequestOp::Txn(txn_request(r)),
                })
            })
            .collect()
    };
    core::TxnRequest {
        compare: t.compare.into_iter().map(compare).collect(),
        success: ops(t.success),
        failure: ops(t.failure),
    }
}

/// Watch: a create request.
pub fn watch_create(r: pb::WatchCreateRequest) -> WatchCreateRequest {
    use pb::watch_create_request::FilterType as F;
    let filters: Vec<F> = r
        .filters
        .iter()
        .filter_map(|f| F::try_from(*f).ok())
        .collect();
    WatchCreateRequest {
        key: r.key,
        range_end: r.range_end,
        start_revision: r.start_revision,
        progress_notify: r.progress_notify,
        no_put: filters.contains(&F::Noput),
        no_delete: filters.contains(&F::Nodelete),
        prev_kv: r.prev_kv,
        watch_id: r.watch_id,
        fragment: r.fragment,
    }
}

// ----- responses -----

/// A response header.
pub fn header(h: ResponseHeader) -> Option<pb::ResponseHeader> {
    Some(pb::ResponseHeader {
        cluster_id: h.cluster_id,
        member_id: h.member_id,
        revision: h.revision,
        raft_term: h.raft_term,
    })
}

/// A key-value pair.
pub fn kv(kv: KeyValue) -> mvccpb::KeyValue {
    mvccpb::KeyValue {
        key: kv.key,
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        value: kv.value,
        lease: kv.lease,
    }
}

/// A key-value pair read back from the backend.
pub fn kv_from_pb(kv: mvccpb::KeyValue) -> KeyValue {
    KeyValue {
        key: kv.key,
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        value: kv.value,
        lease: kv.lease,
    }
}

/// A watch event.
pub fn event(e: Event) -> mvccpb::Event {
    mvccpb::Event {
        r#type: match e.kind {
            EventType::Put => mvccpb::event::EventType::Put,
            EventType::Delete => mvccpb::event::EventType::Delete,
        } as i32,
        kv: Some(kv(e.kv)),
        prev_kv: e.prev_kv.map(kv),
    }
}

/// KV.Range.
pub fn range_response(r: core::RangeResponse) -> pb::RangeResponse {
    pb::RangeResponse {
        header: header(r.header),
        kvs: r.kvs.into_iter().map(kv).collect(),
        more: r.more,
        count: r.count,
    }
}

/// KV.Put.
pub fn put_response(r: core::PutResponse) -> pb::PutResponse {
    pb::PutResponse {
        header: header(r.header),
        prev_kv: r.prev_kv.map(kv),
    }
}

/// KV.DeleteRange.
pub fn delete_response(r: core::DeleteRangeResponse) -> pb::DeleteRangeResponse {
    pb::DeleteRangeResponse {
        header: header(r.header),
        deleted: r.deleted,
        prev_kvs: r.prev_kvs.into_iter().map(kv).collect(),
    }
}

/// KV.Txn (nested headers carry only the revision, as the core leaves them).
pub fn txn_response(r: core::TxnResponse) -> pb::TxnResponse {
    use pb::response_op::Response as Op;
    pb::TxnResponse {
        header: header(r.header),
        succeeded: r.succeeded,
        responses: r
            .responses
            .into_iter()
            .map(|op| pb::ResponseOp {
                response: Some(match op {
                    core::ResponseOp::Range(r) => Op::ResponseRange(range_response(r)),
                    core::ResponseOp::Put(r) => Op::ResponsePut(put_response(r)),
                    core::ResponseOp::DeleteRange(r) => Op::ResponseDeleteRange(delete_response(r)),
                    core::ResponseOp::Txn(r) => Op::ResponseTxn(txn_response(r)),
                }),
            })
            .collect(),
    }
}

/// A member.
pub fn member(m: Member) -> pb::Member {
    pb::Member {
        id: m.id,
        name: m.name,
        peer_ur_ls: m.peer_urls,
        client_ur_ls: m.client_urls,
        is_learner: m.is_learner,
    }
}

/// Cluster.Member*: the member list (and the added member).
pub fn members(
    r: MembersResponse,
) -> (
    Option<pb::ResponseHeader>,
    Option<pb::Member>,
    Vec<pb::Member>,
) {
    // etcd's Cluster responses carry no revision.
    let h = ResponseHeader {
        revision: 0,
        ..r.header
    };
    (
        header(h),
        r.member.map(member),
        r.members.into_iter().map(member).collect(),
    )
}

/// Maintenance.Alarm request (unknown enum numbers read as GET / NONE, as protobuf does).
pub fn alarm_request(r: pb::AlarmRequest) -> core::AlarmRequest {
    use orrery_core::alarm::AlarmType;
    core::AlarmRequest {
        action: match r.action {
            1 => core::AlarmAction::Activate,
            2 => core::AlarmAction::Deactivate,
            _ => core::AlarmAction::Get,
        },
        member_id: r.member_id,
        alarm: match r.alarm {
            1 => AlarmType::NoSpace,
            2 => AlarmType::Corrupt,
            _ => AlarmType::None,
        },
    }
}

/// Maintenance.Alarm response.
pub fn alarm_response(r: core::AlarmResponse) -> pb::AlarmResponse {
    pb::AlarmResponse {
        header: header(r.header),
        alarms: r
            .alarms
            .into_iter()
            .map(|a| pb::AlarmMember {
                member_id: a.member_id,
                alarm: a.alarm as i32,
            })
            .collect(),
    }
}

/// A member for the peer `Members` call.
pub fn peer_member(m: Member) -> orrerypeerpb::PeerMember {
    orrerypeerpb::PeerMember {
        id: m.id,
        name: m.name,
        peer_urls: m.peer_urls,
        client_urls: m.client_urls,
        is_learner: m.is_learner,
    }
}

/// A member from the peer `Members` call.
pub fn member_from_peer(m: orrerypeerpb::PeerMember) -> Member {
    Member {
        id: m.id,
        name: m.name,
        peer_urls: m.peer_urls,
        client_urls: m.client_urls,
        is_learner: m.is_learner,
    }
}

/// Maintenance.Status (`version` is the etcd version clients compare against).
pub fn status(r: StatusResponse, version: &str) -> pb::StatusResponse {
    pb::StatusResponse {
        header: header(r.header),
        version: version.to_owned(),
        db_size: r.db_size,
        leader: r.leader,
        raft_index: r.raft_index,
        raft_term: r.raft_term,
        raft_applied_index: r.raft_applied_index,
        errors: Vec::new(),
        db_size_in_use: r.db_size,
        is_learner: r.is_learner,
    }
}

/// Maintenance.HashKV.
pub fn hash_kv(r: HashKvResponse) -> pb::HashKvResponse {
    pb::HashKvResponse {
        header: header(r.header),
        hash: r.hash,
        compact_revision: r.compact_revision,
    }
}

/// A watch response.
pub fn watch_response(r: WatchResponse) -> pb::WatchResponse {
    pb::WatchResponse {
        header: header(r.header),
        watch_id: r.watch_id,
        created: r.created,
        canceled: r.canceled,
        compact_revision: r.compact_revision,
        cancel_reason: r.cancel_reason,
        fragment: r.fragment,
        events: r.events.into_iter().map(event).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_nested_txn_converts_with_its_compares_and_ops() {
        use pb::compare::{CompareResult, CompareTarget, TargetUnion};
        use pb::request_op::Request;
        let inner = pb::TxnRequest {
            compare: vec![],
            success: vec![pb::RequestOp {
                request: Some(Request::RequestDeleteRange(pb::DeleteRangeRequest {
                    key: Bytes::from_static(b"d"),
                    ..Default::default()
                })),
            }],
            failure: vec![pb::RequestOp { request: None }],
        };
        let t = txn_request(pb::TxnRequest {
            compare: vec![
                pb::Compare {
                    result: CompareResult::NotEqual as i32,
                    target: CompareTarget::Value as i32,
                    key: Bytes::from_static(b"k"),
                    target_union: Some(TargetUnion::Value(Bytes::from_static(b"v"))),
                    range_end: Bytes::new(),
                },
                // A union that does not match the target compares with zero.
                pb::Compare {
                    result: CompareResult::Greater as i32,
                    target: CompareTarget::Mod as i32,
                    key: Bytes::from_static(b"k"),
                    target_union: Some(TargetUnion::Version(7)),
                    range_end: Bytes::new(),
                },
            ],
            success: vec![pb::RequestOp {
                request: Some(Request::RequestTxn(inner)),
            }],
            failure: vec![],
        });
        assert_eq!(
            t.compare[0].target,
            core::CompareTarget::Value(Bytes::from_static(b"v"))
        );
        assert_eq!(t.compare[0].result, core::CompareResult::NotEqual);
        assert_eq!(t.compare[1].target, core::CompareTarget::Mod(0));
        let core::RequestOp::Txn(nested) = &t.success[0] else {
            panic!("a nested txn")
        };
        assert_eq!(nested.success.len(), 1);
        assert!(nested.failure.is_empty(), "an empty op is dropped");
    }

    #[test]
    fn range_enums_and_watch_filters_map_to_etcds_numbers() {
        let r = range_request(pb::RangeRequest {
            key: Bytes::from_static(b"a"),
            sort_order: 2,
            sort_target: 3,
            ..Default::default()
        });
        assert_eq!(r.sort_order, core::SortOrder::Descend);
        assert_eq!(r.sort_target, core::SortTarget::Mod);
        let unknown = range_request(pb::RangeRequest {
            sort_order: 9,
            ..Default::default()
        });
        assert_eq!(unknown.sort_order, core::SortOrder::None);
        let w = watch_create(pb::WatchCreateRequest {
            filters: vec![1],
            ..Default::default()
        });
        assert!(w.no_delete && !w.no_put);
    }

    #[test]
    fn delete_events_and_member_headers_follow_etcd() {
        let e = event(Event {
            kind: EventType::Delete,
            kv: KeyValue {
                key: Bytes::from_static(b"k"),
                mod_revision: 5,
                ..KeyValue::default()
            },
            prev_kv: None,
        });
        assert_eq!(e.r#type, 1);
        assert_eq!(e.kv.unwrap().mod_revision, 5);
        let (h, _, _) = members(MembersResponse {
            header: ResponseHeader {
                cluster_id: 1,
                member_id: 2,
                revision: 9,
                raft_term: 3,
            },
            ..MembersResponse::default()
        });
        let h = h.unwrap();
        assert_eq!((h.cluster_id, h.revision, h.raft_term), (1, 0, 3));
    }
}
