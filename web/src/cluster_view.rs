//! The cluster on a ring (SVG): members with role colour, shape and label, term, election
//! timer; links (cut directions in red); messages in flight moving along them.

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
                { for messages }
                { for nodes }
            </svg>
            <figcaption class="legend">
                <span class="key vote">{ "vote" }</span>
                <span class="key append">{ "append" }</span>
                <span class="key heartbeat">{ "heartbeat" }</span>
                <span class="key snapshot">{ "snapshot" }</span>
                <span class="key other">{ "other" }</span>
                <span>{ "· ring = election timer · red link = cut" }</span>
            </figcaption>
        </figure>
    }
}
