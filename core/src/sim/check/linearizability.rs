//! Per-key linearizability checking: Wing & Gong's search with Lowe's memoization, as in
//! Porcupine ("WGL").
//!
//! Each key is an independent register (`Option<Bytes>`, initially absent), so a history is
//! linearizable exactly when every key's sub-history is. For one key the operations become
//! call and return events sorted by time (calls before returns at equal times: equal times
//! are concurrent). The search walks that list, linearizes a call whose model step agrees
//! with its outcome, removes it from the list and restarts; meeting a return whose call is
//! not yet linearized means the last choice was wrong, so it backtracks. A set of visited
//! `(linearized operations, state)` pairs prunes repeated work.
//!
//! An operation with an unknown outcome (a timeout) has no return event: it may take effect
//! anywhere after its invocation, or never. The search succeeds once every completed
//! operation is linearized. An unknown read changes nothing and is dropped.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use crate::sim::history::{Call, Operation, Outcome};

/// Why a history is not linearizable, or why the check gave up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinearizabilityError {
    /// No order of the key's operations explains what clients saw.
    Violation {
        /// The key whose operations cannot be linearized.
        key: Bytes,
        /// How many operations the history has on that key.
        operations: usize,
        /// A human-readable listing of the key's operations and the longest prefix found.
        detail: String,
    },
    /// The search exceeded its step budget on this key (treated as a failure by callers only
    /// if they choose).
    GaveUp {
        /// The key whose search was abandoned.
        key: Bytes,
        /// Steps taken before giving up.
        steps: u64,
    },
}

/// Checks every key's operations separately. `max_steps` bounds the search per key
/// (TigerBeetle rule: every loop is bounded).
///
/// Keys are checked in byte order. The first [`LinearizabilityError::Violation`] is returned;
/// if no key is violated but some search ran out of budget, the first
/// [`LinearizabilityError::GaveUp`] is returned.
pub fn check(history: &[Operation], max_steps: u64) -> Result<(), LinearizabilityError> {
    let mut by_key: BTreeMap<&Bytes, Vec<(usize, &Operation)>> = BTreeMap::new();
    for (index, op) in history.iter().enumerate() {
        by_key.entry(op.call.key()).or_default().push((index, op));
    }
    let mut gave_up = None;
    for (key, ops) in by_key {
        match check_key(key, &ops, max_steps) {
            Ok(()) => {}
            Err(e @ LinearizabilityError::Violation { .. }) => return Err(e),
            Err(e) => {
                gave_up.get_or_insert(e);
            }
        }
    }
    gave_up.map_or(Ok(()), Err)
}

/// Lines of operation listing at most in a violation's detail.
const DETAIL_OPS: usize = 16;
/// End of the event list.
const NIL: usize = usize::MAX;

/// The completion time (never before the invocation) and outcome of a completed operation;
/// `None` when the outcome is unknown.
fn known(op: &Operation) -> Option<(u64, &Outcome)> {
    match (op.complete_ms, &op.outcome) {
        (Some(t), Some(outcome)) => Some((t.max(op.invoke_ms), outcome)),
        _ => None,
    }
}

/// The register's next state if `call` may run on `state` and answer `outcome` (`None` =
/// unknown: any answer is accepted; a failed compare is left out, as it equals omission).
fn step(state: &Option<Bytes>, call: &Call, outcome: Option<&Outcome>) -> Option<Option<Bytes>> {
    match (call, outcome) {
        (Call::Get { .. }, None) => Some(state.clone()),
        (Call::Get { .. }, Some(Outcome::Get(seen))) => (seen == state).then(|| state.clone()),
        (Call::Put { value, .. }, None | Some(Outcome::Put)) => Some(Some(value.clone())),
        (Call::Delete { .. }, None) => Some(None),
        (Call::Delete { .. }, Some(Outcome::Delete { deleted })) => {
            (*deleted == i64::from(state.is_some())).then_some(None)
        }
        (Call::Cas { expected, new, .. }, None | Some(Outcome::Cas { .. })) => {
            let claimed = !matches!(outcome, Some(Outcome::Cas { succeeded: false }));
            match (state == expected, claimed) {
                (true, true) => Some(Some(new.clone())),
                (false, false) => Some(state.clone()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Runs the WGL search over one key's operations (`(index in history, operation)`).
fn check_key(
    key: &Bytes,
    all: &[(usize, &Operation)],
    max_steps: u64,
) -> Result<(), LinearizabilityError> {
    // Unknown reads never change the state: leave them out.
    let ops: Vec<(usize, &Operation)> = all
        .iter()
        .copied()
        .filter(|(_, op)| known(op).is_some() || !matches!(op.call, Call::Get { .. }))
        .collect();

    // Events sorted by (time, call before return, operation).
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
    for (i, (_, op)) in ops.iter().enumerate() {
        events.push((op.invoke_ms, false, i));
        if let Some((t, _)) = known(op) {
            events.push((t, true, i));
        }
    }
    events.sort_unstable();

    // A doubly linked list: node 0 is the head sentinel, node `j` is event `j - 1`.
    let mut next: Vec<usize> = (1..=events.len()).chain([NIL]).collect();
    let mut prev: Vec<usize> = [NIL].into_iter().chain(0..events.len()).collect();
    let mut is_return = vec![false];
    let mut op_of = vec![NIL];
    let mut return_node = vec![None; ops.len()];
    for (node, &(_, ret, op)) in (1..).zip(&events) {
        is_return.push(ret);
        op_of.push(op);
        if ret {
            return_node[op] = Some(node);
        }
    }

    let mut returns_left = return_node.iter().flatten().count();
    let mut linearized = vec![0u64; ops.len().div_ceil(64)];
    let mut state: Option<Bytes> = None;
    let mut cache: BTreeSet<(Vec<u64>, Option<Bytes>)> = BTreeSet::new();
    // Linearized call nodes, with the state before each.
    let mut calls: Vec<(usize, Option<Bytes>)> = Vec::new();
    let mut best: Vec<usize> = Vec::new();
    let mut steps = 0u64;
    let mut entry = next[0];
    while returns_left > 0 {
        if steps >= max_steps {
            let key = key.clone();
            return Err(LinearizabilityError::GaveUp { key, steps });
        }
        steps += 1;
        if entry != NIL && !is_return[entry] {
            let i = op_of[entry];
            let op = ops[i].1;
            if let Some(new_state) = step(&state, &op.call, known(op).map(|(_, o)| o)) {
                linearized[i / 64] |= 1 << (i % 64);
                if cache.insert((linearized.clone(), new_state.clone())) {
                    calls.push((entry, std::mem::replace(&mut state, new_state)));
                    // Lift the call and its return out of the list.
                    for node in [Some(entry), return_node[i]].into_iter().flatten() {
                        next[prev[node]] = next[node];
                        if next[node] != NIL {
                            prev[next[node]] = prev[node];
                        }
                    }
                    returns_left -= usize::from(return_node[i].is_some());
                    if calls.len() > best.len() {
                        best = calls.iter().map(|&(node, _)| ops[op_of[node]].0).collect();
                    }
                    entry = next[0];
                    continue;
                }
                linearized[i / 64] &= !(1 << (i % 64));
            }
            entry = next[entry];
        } else {
            // A return whose call is not linearized: undo the last choice.
            let Some((node, before)) = calls.pop() else {
                return Err(violation(key, all, &best));
            };
            let i = op_of[node];
            state = before;
            linearized[i / 64] &= !(1 << (i % 64));
            // Unlift in reverse order: the return first, then the call.
            for n in [return_node[i], Some(node)].into_iter().flatten() {
                next[prev[n]] = n;
                if next[n] != NIL {
                    prev[next[n]] = n;
                }
            }
            returns_left += usize::from(return_node[i].is_some());
            entry = next[node];
        }
    }
    Ok(())
}

/// Builds the violation report for `key`: its operations and the longest prefix found.
fn violation(key: &Bytes, all: &[(usize, &Operation)], best: &[usize]) -> LinearizabilityError {
    let completed = all.iter().filter(|(_, op)| known(op).is_some()).count();
    let mut detail = format!(
        "key {key:?}: no linearization of {} operations ({completed} completed); longest \
         linearizable prefix has {} (history indices {best:?})",
        all.len(),
        best.len(),
    );
    for (index, op) in all.iter().take(DETAIL_OPS) {
        let call = match &op.call {
            Call::Get { .. } => "get".to_owned(),
            Call::Put { value, .. } => format!("put {value:?}"),
            Call::Delete { .. } => "delete".to_owned(),
            Call::Cas { expected, new, .. } => format!("cas {expected:?} -> {new:?}"),
        };
        let (end, outcome) = match known(op) {
            Some((t, outcome)) => (format!("{t}]"), format!("{outcome:?}")),
            None => ("?)".to_owned(), "unknown".to_owned()),
        };
        detail.push_str(&format!(
            "\n  #{index} client {} [{}, {end} {call} => {outcome}",
            op.client, op.invoke_ms
        ));
    }
    if all.len() > DETAIL_OPS {
        detail.push_str(&format!("\n  ... and {} more", all.len() - DETAIL_OPS));
    }
    LinearizabilityError::Violation {
        key: key.clone(),
        operations: all.len(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: u64 = 1_000_000;
    const PUT: Outcome = Outcome::Put;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn get(key: &str) -> Call {
        Call::Get { key: b(key) }
    }

    fn put(key: &str, value: &str) -> Call {
        let (key, value) = (b(key), b(value));
        Call::Put { key, value }
    }

    fn del(key: &str) -> Call {
        Call::Delete { key: b(key) }
    }

    fn cas(key: &str, expected: Option<&str>, new: &str) -> Call {
        let (key, expected, new) = (b(key), expected.map(b), b(new));
        Call::Cas { key, expected, new }
    }

    fn read(value: Option<&str>) -> Outcome {
        Outcome::Get(value.map(b))
    }

    fn swapped(succeeded: bool) -> Outcome {
        Outcome::Cas { succeeded }
    }

    fn deleted(deleted: i64) -> Outcome {
        Outcome::Delete { deleted }
    }

    fn done(client: u64, invoke_ms: u64, complete: u64, call: Call, out: Outcome) -> Operation {
        let (complete_ms, outcome) = (Some(complete), Some(out));
        Operation {
            client,
            invoke_ms,
            complete_ms,
            call,
            outcome,
        }
    }

    fn lost(client: u64, invoke_ms: u64, call: Call) -> Operation {
        let mut op = done(client, invoke_ms, 0, call, PUT);
        (op.complete_ms, op.outcome) = (None, None);
        op
    }

    /// The key, operation count and detail of the violation `history` must have.
    fn violation_of(history: &[Operation]) -> (Bytes, usize, String) {
        match check(history, BUDGET) {
            Err(LinearizabilityError::Violation {
                key,
                operations,
                detail,
            }) => (key, operations, detail),
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn sequential_history_passes() {
        let h = [
            done(1, 0, 1, get("k"), read(None)),
            done(1, 2, 3, put("k", "a"), PUT),
            done(2, 4, 5, get("k"), read(Some("a"))),
            done(2, 6, 7, cas("k", Some("a"), "b"), swapped(true)),
            done(1, 8, 9, cas("k", Some("a"), "c"), swapped(false)),
            done(1, 10, 11, get("k"), read(Some("b"))),
            done(3, 12, 13, del("k"), deleted(1)),
            done(3, 14, 15, del("k"), deleted(0)),
            done(2, 16, 17, cas("k", None, "d"), swapped(true)),
            done(2, 18, 19, get("k"), read(Some("d"))),
        ];
        assert_eq!(check(&h, BUDGET), Ok(()));
    }

    #[test]
    fn concurrent_put_and_get_may_see_either_value() {
        for seen in ["1", "2"] {
            let h = [
                done(1, 0, 10, put("k", "1"), PUT),
                done(1, 20, 40, put("k", "2"), PUT),
                done(2, 25, 30, get("k"), read(Some(seen))),
            ];
            assert_eq!(check(&h, BUDGET), Ok(()), "get saw {seen}");
        }
        // The later-invoked of two concurrent reads sees the older value: still fine.
        let h = [
            done(1, 0, 10, put("k", "1"), PUT),
            done(1, 20, 40, put("k", "2"), PUT),
            done(2, 21, 35, get("k"), read(Some("2"))),
            done(3, 22, 30, get("k"), read(Some("1"))),
        ];
        assert_eq!(check(&h, BUDGET), Ok(()));
    }

    #[test]
    fn equal_times_are_concurrent() {
        let mut h = [
            done(1, 0, 10, put("k", "a"), PUT),
            done(2, 10, 20, get("k"), read(None)),
        ];
        assert_eq!(check(&h, BUDGET), Ok(()));
        h[1].invoke_ms = 11;
        assert_eq!(violation_of(&h).0, b("k"));
    }

    #[test]
    fn stale_read_after_completed_put_is_violation() {
        let h = [
            done(1, 0, 10, put("k", "1"), PUT),
            done(1, 20, 30, put("k", "2"), PUT),
            done(2, 40, 50, get("k"), read(Some("1"))),
        ];
        let (key, operations, detail) = violation_of(&h);
        assert_eq!((key, operations), (b("k"), 3));
        assert!(detail.lines().count() <= 20, "{detail}");
        assert!(detail.contains("#2 client 2 [40, 50] get"), "{detail}");
        assert!(detail.contains("prefix has 2"), "{detail}");
    }

    #[test]
    fn cas_claiming_success_on_wrong_value_is_violation() {
        for (expected, claimed) in [("b", true), ("a", false)] {
            let h = [
                done(1, 0, 5, put("k", "a"), PUT),
                done(2, 10, 15, cas("k", Some(expected), "c"), swapped(claimed)),
            ];
            assert_eq!(
                violation_of(&h).0,
                b("k"),
                "cas {expected} claimed {claimed}"
            );
        }
    }

    #[test]
    fn timed_out_put_later_read_passes() {
        let mut h = vec![
            done(1, 0, 5, put("k", "a"), PUT),
            lost(2, 10, put("k", "b")),
            done(3, 100, 110, get("k"), read(Some("b"))),
            done(3, 120, 130, get("k"), read(Some("b"))),
        ];
        assert_eq!(check(&h, BUDGET), Ok(()));
        // It takes effect at most once: the old value cannot come back.
        h.push(done(3, 140, 150, get("k"), read(Some("a"))));
        assert_eq!(violation_of(&h).0, b("k"));
    }

    #[test]
    fn timed_out_put_never_observed_passes() {
        let mut h = vec![
            done(1, 0, 5, put("k", "a"), PUT),
            lost(2, 10, put("k", "b")),
            lost(4, 11, get("k")),
            lost(5, 12, cas("k", Some("zzz"), "c")),
            done(3, 100, 110, get("k"), read(Some("a"))),
            done(3, 120, 130, get("k"), read(Some("a"))),
        ];
        assert_eq!(check(&h, BUDGET), Ok(()));
        // It cannot take effect before it was invoked.
        h.insert(1, done(3, 6, 9, get("k"), read(Some("b"))));
        assert_eq!(violation_of(&h).0, b("k"));
    }

    #[test]
    fn get_of_value_nobody_wrote_is_violation() {
        let h = [
            done(1, 0, 10, put("k", "a"), PUT),
            done(2, 5, 15, get("k"), read(Some("ghost"))),
        ];
        assert_eq!(violation_of(&h).0, b("k"));
    }

    #[test]
    fn wrong_delete_count_is_violation() {
        let h = [
            done(1, 0, 10, put("k", "a"), PUT),
            done(2, 20, 30, del("k"), deleted(0)),
        ];
        assert_eq!(violation_of(&h).0, b("k"));
        assert_eq!(
            violation_of(&[done(2, 0, 1, del("k"), deleted(1))]).0,
            b("k")
        );
    }

    #[test]
    fn only_the_broken_key_is_reported() {
        let h = [
            done(1, 0, 10, put("a", "1"), PUT),
            done(2, 0, 10, put("b", "1"), PUT),
            done(1, 20, 30, get("a"), read(Some("1"))),
            done(2, 20, 30, get("b"), read(None)),
            done(3, 20, 30, get("c"), read(None)),
        ];
        let (key, operations, _) = violation_of(&h);
        assert_eq!((key, operations), (b("b"), 2));
    }

    #[test]
    fn tiny_budget_gives_up() {
        let h = [
            done(1, 0, 10, put("k", "a"), PUT),
            done(2, 0, 10, put("k", "b"), PUT),
            done(3, 0, 10, get("k"), read(Some("b"))),
        ];
        assert_eq!(check(&h, BUDGET), Ok(()));
        let (key, steps) = (b("k"), 1);
        assert_eq!(
            check(&h, 1),
            Err(LinearizabilityError::GaveUp { key, steps })
        );
    }

    /// `count` operations by 6 sequential clients on 3 keys, each taking effect at a point
    /// inside its interval on a sequential register (a tiny LCG picks everything). One write
    /// in ten times out, and half of those never take effect.
    fn random_valid_history(seed: u64, count: u64) -> Vec<Operation> {
        let mut lcg = seed;
        let mut rng = |n: u64| {
            lcg = lcg
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (lcg >> 33) % n
        };
        let mut free_at = [0u64; 6];
        let mut planned: Vec<_> = (0..count)
            .map(|seq| {
                let client = rng(6) as usize;
                let invoke = free_at[client] + rng(4);
                let point = invoke + rng(6);
                let complete = point + rng(6);
                free_at[client] = complete + 1;
                let rolls = (rng(100), rng(3), rng(3));
                (point, seq, client as u64, invoke, complete, rolls)
            })
            .collect();
        planned.sort_unstable();
        let mut registers: BTreeMap<&str, String> = BTreeMap::new();
        let mut history = Vec::new();
        for (_, seq, client, invoke, complete, (roll, key, pick)) in planned {
            let key = ["a", "b", "c"][key as usize];
            let current = registers.get(key).cloned();
            let value = format!("v{seq}");
            let (call, outcome) = match roll % 4 {
                0 => (get(key), read(current.as_deref())),
                1 => (put(key, &value), PUT),
                2 => (del(key), deleted(current.is_some().into())),
                _ => {
                    // Compare with the current value, with absence, or with an older value.
                    let old = format!("v{}", seq / 2);
                    let expected = [current.clone(), None, Some(old)][pick as usize].clone();
                    let call = cas(key, expected.as_deref(), &value);
                    (call, swapped(expected == current))
                }
            };
            let timed_out = roll % 4 != 0 && roll >= 90;
            if !timed_out || roll < 95 {
                match outcome {
                    Outcome::Put | Outcome::Cas { succeeded: true } => {
                        registers.insert(key, value);
                    }
                    Outcome::Delete { .. } => {
                        registers.remove(key);
                    }
                    _ => {}
                }
            }
            history.push(match timed_out {
                true => lost(client, invoke, call),
                false => done(client, invoke, complete, call, outcome),
            });
        }
        history
    }

    #[test]
    fn random_valid_history_passes() {
        for seed in 0..5 {
            let h = random_valid_history(seed, 200);
            assert!(h.iter().any(|op| op.outcome.is_none()), "seed {seed}");
            assert_eq!(check(&h, BUDGET), Ok(()), "seed {seed}");
        }
        // The check is not vacuous: one corrupted read breaks it.
        let mut h = random_valid_history(7, 200);
        let is_read = |op: &Operation| matches!(op.outcome, Some(Outcome::Get(_)));
        let read = h.iter().rposition(is_read).expect("some read");
        h[read].outcome = Some(Outcome::Get(Some(b("never written"))));
        assert_eq!(violation_of(&h).0, h[read].call.key().clone());
    }
}
