//! Simulated clients: each keeps one request outstanding against one member, over a few
//! keys, and records what it asked and what it was told.

use super::history::{Call, Operation, Outcome};
use crate::request::*;
use crate::server::{ClientRequest, ClientResponse};
use crate::EtcdError;
use bytes::Bytes;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One client's state.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    /// The member index it talks to.
    pub(crate) member: usize,
    /// The outstanding request: (request ID, call, invoke time).
    pub(crate) outstanding: Option<(u64, Call, u64)>,
    /// Values this client wrote so far (makes every written value unique).
    pub(crate) writes: u64,
}

/// Picks the next call; every value written is unique (`c<client>-<n>`).
pub(crate) fn next_call(
    rng: &mut ChaCha8Rng,
    client: usize,
    writes: &mut u64,
    keys: usize,
) -> Call {
    let key = Bytes::from(format!("k{}", crate::sim::faults::pick(rng, keys.max(1))));
    let roll = rng.gen_range(0..100);
    let last = Bytes::from(format!("c{client}-{}", *writes));
    let mut value = || {
        *writes += 1;
        Bytes::from(format!("c{client}-{writes}"))
    };
    match roll {
        0..=39 => Call::Get { key },
        40..=69 => Call::Put {
            key,
            value: value(),
        },
        70..=79 => Call::Delete { key },
        _ => {
            // Compare with a recent value of this client's, or with absence.
            let expected = match rng.gen_range(0..3) {
                0 => None,
                _ => Some(last),
            };
            Call::Cas {
                key,
                expected,
                new: value(),
            }
        }
    }
}

/// The request a call becomes.
pub(crate) fn request_for(call: &Call) -> ClientRequest {
    match call.clone() {
        Call::Get { key } => ClientRequest::Range(RangeRequest {
            key,
            ..RangeRequest::default()
        }),
        Call::Put { key, value } => ClientRequest::Put(PutRequest {
            key,
            value,
            ..PutRequest::default()
        }),
        Call::Delete { key } => ClientRequest::DeleteRange(DeleteRangeRequest {
            key,
            ..DeleteRangeRequest::default()
        }),
        Call::Cas { key, expected, new } => {
            let compare = Compare {
                key: key.clone(),
                range_end: Bytes::new(),
                result: CompareResult::Equal,
                target: match expected {
                    None => CompareTarget::Version(0),
                    Some(v) => CompareTarget::Value(v),
                },
            };
            ClientRequest::Txn(TxnRequest {
                compare: vec![compare],
                success: vec![RequestOp::Put(PutRequest {
                    key,
                    value: new,
                    ..PutRequest::default()
                })],
                failure: vec![],
            })
        }
    }
}

/// What the answer means for the history: `Some(outcome)` for a definite answer, `None`
/// when the outcome is unknown (a write that failed with a timeout or similar may still
/// be applied later). Errors on reads are dropped by the caller.
pub(crate) fn outcome_of(
    call: &Call,
    result: &Result<ClientResponse, EtcdError>,
) -> Option<Outcome> {
    let Ok(ClientResponse::Kv(r)) = result else {
        return None;
    };
    Some(match (call, r) {
        (Call::Get { .. }, Response::Range(r)) => {
            Outcome::Get(r.kvs.first().map(|kv| kv.value.clone()))
        }
        (Call::Put { .. }, Response::Put(_)) => Outcome::Put,
        (Call::Delete { .. }, Response::DeleteRange(r)) => Outcome::Delete { deleted: r.deleted },
        (Call::Cas { .. }, Response::Txn(r)) => Outcome::Cas {
            succeeded: r.succeeded,
        },
        (call, r) => panic!("{call:?} answered with {r:?}"),
    })
}

/// Records a finished operation. Reads without a definite answer are dropped (they changed
/// nothing); writes without one stay, with an unknown outcome.
pub(crate) fn record(
    history: &mut Vec<Operation>,
    client: usize,
    call: Call,
    invoke_ms: u64,
    now_ms: u64,
    outcome: Option<Outcome>,
) {
    if outcome.is_none() && matches!(call, Call::Get { .. }) {
        return;
    }
    history.push(Operation {
        client: client as u64,
        invoke_ms,
        complete_ms: outcome.as_ref().map(|_| now_ms),
        call,
        outcome,
    });
}
