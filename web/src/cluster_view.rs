//! The cluster on a ring (SVG): members with role colour, shape and label, term, election
//! timer; links (cut directions in red); messages in flight moving along them; the clients
//! (and the console, "you") in the middle, each tied to the member it talks to, the tie
//! solid and labelled while a call waits.

use crate::model::Msg;
use orrery_core::playground::view::{Frame, MemberView, Role};
use std::f64::consts::PI;
use std::rc::Rc;
use yew::prelude::*;

const SIZE: f64 = 420.0;
const RING: f64 = 160.0;
const NODE: f64 = 30.0;

/// Properties.
#[derive(Properties, PartialEq)]
pub struct ClusterViewProps {
    /// The cluster now.
    pub frame: Rc<Frame>,
    /// The member whose panel is open.
    pub selected: Option<u64>,
    /// The member the console talks to.
    pub console_member: u64,
    /// Draw messages without motion.
    pub reduced_motion: bool,
    /// Where messages go.
    pub dispatch: Callback<Msg>,
}

/// Where member `i` of `n` sits.
fn position(i: usize, n: usize) -> (f64, f64) {
    let c = SIZE / 2.0;
    if n == 1 {
        return (c, c);
    }
    let a = -PI / 2.0 + 2.0 * PI * i as f64 / n as f64;
    (c + RING * a.cos(), c + RING * a.sin())
}

/// Where client `i` of `n` sits (the console is one more): a small ring inside the members',
/// or around the only member.
fn client_position(i: usize, n: usize, members: usize) -> (f64, f64) {
    let c = SIZE / 2.0;
    let r = if members == 1 { 95.0 } else { 62.0 };
    let a = -PI / 2.0 + PI / n as f64 + 2.0 * PI * i as f64 / n as f64;
    (c + r * a.cos(), c + r * a.sin())
}

/// The clients, the console last: a tie to the member each talks to and a small box.
fn clients(f: &Frame, console_member: u64) -> Html {
    let n = f.members.len();
    let index = |id: u64| f.members.iter().position(|m| m.id == id);
    let count = f.clients.len() + 1;
    let console = (console_member, None, 0);
    let all = f
        .clients
        .iter()
        .map(|c| (c.member, c.waiting, c.waited_ms))
        .chain(std::iter::once(console));
    let drawn = all.enumerate().filter_map(|(i, (member, waiting, waited))| {
        let m = index(member)?;
        let (x, y) = client_position(i, count, n);
        let (mx, my) = position(m, n);
        let is_console = i == count - 1;
        let name = if is_console {
            "you".to_owned()
        } else {
            format!("c{}", i + 1)
        };
        let title = match waiting {
            Some(call) => format!("{name} → n{member}: {call}, waiting {waited} ms"),
            None if is_console => format!("the console talks to n{member}"),
            None => format!("{name} → n{member}: idle"),
        };
        // The tie ends at the member's edge, not its centre.
        let (dx, dy) = (mx - x, my - y);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ex, ey) = (mx - dx / len * NODE, my - dy / len * NODE);
        let (lx, ly) = ((x + ex) / 2.0, (y + ey) / 2.0);
        Some(html! {
            <g class={classes!("client", is_console.then_some("console"), waiting.map(|_| "waiting"))}
                data-testid={format!("client-{name}")} data-member={format!("n{member}")}>
                <title>{ title }</title>
                <line class="tie" x1={format!("{x:.1}")} y1={format!("{y:.1}")}
                    x2={format!("{ex:.1}")} y2={format!("{ey:.1}")} />
                if let Some(call) = waiting {
                    <text class="call" x={format!("{lx:.1}")} y={format!("{ly:.1}")}>{ call }</text>
                }
                <rect x={format!("{:.1}", x - 14.0)} y={format!("{:.1}", y - 9.0)}
                    width="28" height="18" rx="4" />
                <text x={format!("{x:.1}")} y={format!("{:.1}", y + 4.0)}>{ name }</text>
            </g>
        })
    });
    html! { <g class="clients">{ for drawn }</g> }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Follower => "follower",
        Role::Candidate => "candidate",
        Role::PreCandidate => "pre-candidate",
        Role::Learner => "learner",
        Role::Down => "down",
    }
}

/// The node's shape: a double ring leads, a dashed ring campaigns, a square is down.
fn shape(m: &MemberView) -> Html {
    let class = format!("node {}", m.role.as_str());
    match m.role {
        Role::Down => html! {
            <rect class={class} x={(-NODE).to_string()} y={(-NODE).to_string()}
                width={(2.0 * NODE).to_string()} height={(2.0 * NODE).to_string()} rx="4" />
        },
        Role::Learner => html! {
            <polygon class={class}
                points={format!("0,{} {},0 0,{} {},0", -NODE - 4.0, NODE + 4.0, NODE + 4.0, -NODE - 4.0)} />
        },
        Role::Leader => html! {
            <>
                <circle class="node-outer leader" r={(NODE + 6.0).to_string()} />
                <circle class={class} r={NODE.to_string()} />
            </>
        },
        _ => html! { <circle class={class} r={NODE.to_string()} /> },
    }
}

/// The election timer as an arc around the node.
fn timer_arc(m: &MemberView) -> Html {
    let (elapsed, timeout) = m.timer;
    if timeout == 0 || m.role == Role::Leader {
        return html! {};
    }
    let r = NODE + 11.0;
    let circumference = 2.0 * PI * r;
    let done = (elapsed as f64 / timeout as f64).min(1.0) * circumference;
    html! {
        <circle class="timer" r={r.to_string()} transform="rotate(-90)"
            stroke-dasharray={format!("{done:.1} {circumference:.1}")} />
    }
}

/// The cluster view.
#[function_component(ClusterView)]
pub fn cluster_view(props: &ClusterViewProps) -> Html {
    let f = &props.frame;
    let n = f.members.len();
    let index = |id: u64| f.members.iter().position(|m| m.id == id);
    let mut links = Vec::new();
    for i in 0..n {
        for j in (i + 1)..n {
            let (a, b) = (f.members[i].id, f.members[j].id);
            let ab = f.cut.contains(&(a, b));
            let ba = f.cut.contains(&(b, a));
            let ((x1, y1), (x2, y2)) = (position(i, n), position(j, n));
            let class = match (ab, ba) {
                (false, false) => "link",
                (true, true) => "link cut",
                _ => "link cut-one-way",
            };
            links.push(html! {
                <line class={class} x1={x1.to_string()} y1={y1.to_string()}
                    x2={x2.to_string()} y2={y2.to_string()} />
            });
        }
    }
    let messages = f.messages.iter().filter_map(|msg| {
        let (i, j) = (index(msg.from)?, index(msg.to)?);
        let ((x1, y1), (x2, y2)) = (position(i, n), position(j, n));
        let t = if props.reduced_motion {
            0.5
        } else {
            msg.progress.clamp(0.0, 1.0)
        };
        let (x, y) = (x1 + (x2 - x1) * t, y1 + (y2 - y1) * t);
        Some(html! {
            <circle class={format!("msg {}", msg.kind.as_str())} cx={format!("{x:.1}")}
                cy={format!("{y:.1}")} r="5">
                <title>{ format!("{} n{}→n{}", msg.name, msg.from, msg.to) }</title>
            </circle>
        })
    });
    let nodes = f.members.iter().enumerate().map(|(i, m)| {
        let (x, y) = position(i, n);
        let id = m.id;
        let selected = props.selected == Some(id);
        let onclick = {
            let d = props.dispatch.clone();
            Callback::from(move |_: MouseEvent| d.emit(Msg::Select(Some(id))))
        };
        let onkeydown = {
            let d = props.dispatch.clone();
            Callback::from(move |e: KeyboardEvent| {
                if e.key() == "Enter" || e.key() == " " {
                    e.prevent_default();
                    d.emit(Msg::Select(Some(id)));
                }
            })
        };
        let label = format!(
            "n{id}, {}, term {}{}",
            role_label(m.role),
            m.term,
            if m.isolated { ", isolated" } else { "" }
        );
        html! {
            <g class={classes!("member", selected.then_some("selected"))}
                transform={format!("translate({x:.1},{y:.1})")}
                data-testid={format!("member-n{id}")} data-role={m.role.as_str()}
                data-term={m.term.to_string()} tabindex="0" role="button"
                aria-label={label} aria-pressed={selected.to_string()} {onclick} {onkeydown}>
                { timer_arc(m) }
                { shape(m) }
                <text class="name" y="-4">{ format!("n{id}") }</text>
                <text class="term" y="12">{ format!("T{}", m.term) }</text>
                <text class="role" y={(NODE + 26.0).to_string()}>
                    { role_label(m.role) }{ if m.isolated { " ✂" } else { "" } }
                </text>
            </g>
        }
    });
    html! {
        <figure class="cluster">
            <svg viewBox={format!("0 0 {SIZE} {SIZE}")} role="group"
                aria-label="the cluster: members on a ring, messages in flight">
                { for links }
                { clients(f, props.console_member) }
                { for messages }
                { for nodes }
            </svg>
            <figcaption class="legend">
                <span class="key vote">{ "vote" }</span>
                <span class="key append">{ "append" }</span>
                <span class="key heartbeat">{ "heartbeat" }</span>
                <span class="key snapshot">{ "snapshot" }</span>
                <span class="key other">{ "other" }</span>
                <span>{ "· ring = election timer · red link = cut · c1… = clients, you = the console" }</span>
            </figcaption>
        </figure>
    }
}
