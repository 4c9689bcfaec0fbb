//! The playground model without a browser.

use super::script::Script;
use super::view::Role;
use super::*;

fn leader(p: &Playground) -> Option<(MemberId, u64)> {
    p.frame()
        .members
        .iter()
        .find(|m| m.role == Role::Leader)
        .map(|m| (m.id, m.term))
}

fn console(p: &mut Playground, member: MemberId, line: &str) {
    p.act(UserInput::Console {
        member,
        line: line.into(),
        stdin: String::new(),
    })
    .expect("accepted");
    p.advance(3_000);
}

fn text(p: &Playground) -> String {
    console::render(&console::transcript(p.log(), p.sim()))
}

#[test]
fn a_cluster_elects_and_the_console_writes_and_reads() {
    let mut p = Playground::new(3, 5);
    p.advance(3_000);
    let (l, term) = leader(&p).expect("a leader within 3 s");
    assert!(term >= 1);
    console(&mut p, l, "put foo bar");
    console(&mut p, 1, "get foo");
    console(&mut p, 1, "bogus");
    let t = text(&p);
    assert!(t.contains(&format!("n{l}$ put foo bar\nOK\n")), "{t}");
    assert!(t.contains("n1$ get foo\nfoo\nbar\n"), "{t}");
    assert!(
        t.contains("Error: unknown command \"bogus\" for \"etcdctl\""),
        "{t}"
    );
    let detail = p.member_detail(l).expect("member");
    assert!(detail
        .keys
        .iter()
        .any(|k| k.key == "foo" && k.value == "bar"));
}

#[test]
fn a_crashed_leader_is_replaced_in_a_higher_term() {
    let mut p = Playground::new(11, 3);
    p.advance(3_000);
    let (l, term) = leader(&p).expect("leader");
    p.act(UserInput::Crash(l)).expect("crash");
    p.advance(5_000);
    let (l2, term2) = leader(&p).expect("a new leader");
    assert_ne!(l, l2);
    assert!(term2 > term);
    let down = p
        .frame()
        .members
        .into_iter()
        .find(|m| m.id == l)
        .expect("m");
    assert_eq!(down.role, Role::Down);
    assert_eq!(down.term, term, "a crashed member keeps its term on disk");
}

#[test]
fn an_isolated_member_fails_linearizable_reads_but_serves_serializable_ones() {
    let mut p = Playground::new(5, 3);
    p.advance(3_000);
    let (l, _) = leader(&p).expect("leader");
    console(&mut p, l, "put k v");
    let other = (1..=3).find(|m| *m != l).expect("a follower");
    p.act(UserInput::Isolate(other)).expect("isolate");
    p.advance(2_000);
    assert!(p.frame().members[other as usize - 1].isolated);
    console(&mut p, other, "get k");
    console(&mut p, other, "get k --consistency=s");
    p.advance(6_000);
    let t = text(&p);
    let lin = t.split(&format!("n{other}$ get k\n")).nth(1).expect("line");
    assert!(lin.starts_with("Error: "), "{t}");
    assert!(
        t.contains(&format!("n{other}$ get k --consistency=s\nk\nv\n")),
        "{t}"
    );
}

#[test]
fn a_watch_streams_events_into_the_console() {
    let mut p = Playground::new(9, 3);
    p.advance(3_000);
    let (l, _) = leader(&p).expect("leader");
    console(&mut p, 2, "watch --prefix w/");
    console(&mut p, l, "put w/a 1");
    console(&mut p, l, "del w/a");
    let t = text(&p);
    assert!(t.contains("PUT\nw/a\n1\n"), "{t}");
    assert!(t.contains("DELETE\nw/a\n\n"), "{t}");
}

#[test]
fn a_share_link_replays_the_same_moment_bit_for_bit() {
    let mut p = Playground::new(21, 5);
    p.advance(2_500);
    p.act(UserInput::Crash(2)).expect("crash");
    p.advance(700);
    p.step_event();
    p.step_event();
    console(&mut p, 1, "put a b");
    p.act(UserInput::Partition(vec![vec![1, 2], vec![3, 4, 5]]))
        .expect("partition");
    p.advance(1_234);
    p.step_event();
    let link = p.script().to_link();
    let script = Script::from_link(&format!("#{link}")).expect("reads back");
    assert_eq!(script, p.script());
    let q = Playground::open(&script);
    assert_eq!(q.sim().trace_hash(), p.sim().trace_hash());
    assert_eq!(q.sim().events(), p.sim().events());
    assert_eq!(q.frame(), p.frame());
    assert_eq!(text(&q), text(&p));
}

#[test]
fn seeking_back_replays_and_acting_there_forks() {
    let mut p = Playground::new(4, 3);
    p.advance(2_000);
    p.act(UserInput::Crash(1)).expect("crash");
    p.advance(2_000);
    let at_4000 = p.sim().trace_hash();
    p.seek(1_000);
    assert_eq!(p.now_ms(), 1_000);
    assert_eq!(p.horizon_ms(), 4_001);
    p.seek(4_001);
    assert_eq!(
        p.sim().trace_hash(),
        at_4000,
        "seeking forward replays the same run"
    );
    p.seek(1_500);
    p.act(UserInput::Crash(3)).expect("fork");
    assert_eq!(p.branches().len(), 1);
    assert_eq!(p.log().len(), 1, "the old future moved to the branch");
    assert_eq!(p.horizon_ms(), 1_501);
    p.switch_branch(0);
    assert_eq!(p.log()[0].input, UserInput::Crash(1));
}

#[test]
fn scripts_round_trip_and_bad_ones_say_why() {
    let s = Script {
        seed: 1,
        members: 3,
        at_ms: 10,
        events: 5,
        log: vec![
            Step {
                at_ms: 1,
                input: UserInput::Console {
                    member: 2,
                    line: "txn -i".into(),
                    stdin: "value(\"a\") = \"b\\c\"\n\nput x y\n\n".into(),
                },
            },
            Step {
                at_ms: 2,
                input: UserInput::Link(1, 2, Some(NetworkParams::default())),
            },
            Step {
                at_ms: 3,
                input: UserInput::Link(2, 1, None),
            },
        ],
    };
    assert_eq!(Script::from_text(&s.to_text()), Ok(s.clone()));
    assert_eq!(Script::from_link(&s.to_link()), Ok(s));
    let bad = "orrery-run 1\nseed 1\nmembers 3\nat 0\nevents 0\n5 crash n12\n";
    assert_eq!(
        Script::from_text(bad).unwrap_err().0,
        "line 6: bad member \"n12\" (n1..n9)"
    );
    assert!(Script::from_link("#v1.!!").is_err());
    assert_eq!(
        Playground::new(1, 3).act(UserInput::Crash(4)),
        Err(InputError::NoSuchMember(4))
    );
}

#[test]
fn a_lock_passes_to_the_waiter_when_the_holders_session_expires() {
    let mut p = Playground::new(13, 3);
    p.advance(3_000);
    let (l, _) = leader(&p).expect("leader");
    let holder = (1..=3).find(|m| *m != l).expect("a follower");
    console(&mut p, holder, "lock mylock");
    console(&mut p, l, "lock mylock");
    console(&mut p, l, "elect e1 proposal-1");
    let t = text(&p);
    let first = format!("n{holder}$ lock mylock\nmylock/");
    assert!(t.contains(&first), "{t}");
    assert!(t.contains("e1/") && t.contains("\nproposal-1\n"), "{t}");
    assert_eq!(t.matches("mylock/").count(), 1, "the second waits:\n{t}");
    // The holder's member dies: its keep-alives stop, the leader expires the lease (10 s)
    // and deletes its key, and the waiter gets the lock.
    p.act(UserInput::Crash(holder)).expect("crash");
    p.advance(15_000);
    let t = text(&p);
    assert_eq!(t.matches("mylock/").count(), 2, "{t}");
    // Back up, the holder learns its session is gone.
    p.act(UserInput::Restart(holder)).expect("restart");
    p.advance(5_000);
    assert!(
        text(&p).contains("Error: session expired\n"),
        "{}",
        text(&p)
    );
    console(&mut p, l, "elect e1");
    let want = format!("n{l}$ elect e1\nError: no proposal argument but -l not set\n");
    assert!(text(&p).ends_with(&want), "{}", text(&p));
}
