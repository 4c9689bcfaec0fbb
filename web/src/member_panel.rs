//! The member panel: Raft state, the log (committed, uncommitted, compacted into the
//! snapshot), a leader's view of its followers, the key-value store and the leases.

use crate::model::Msg;
use orrery_core::playground::view::MemberDetail;
use std::rc::Rc;
use yew::prelude::*;

/// Properties.
#[derive(Properties, PartialEq)]
pub struct MemberPanelProps {
    /// The selected member (none: a hint).
    pub detail: Option<Rc<MemberDetail>>,
    /// Where messages go.
    pub dispatch: Callback<Msg>,
}

fn name(id: u64) -> String {
    if id == 0 {
        "none".into()
    } else {
        format!("n{id}")
    }
}

/// The panel.
#[function_component(MemberPanel)]
pub fn member_panel(props: &MemberPanelProps) -> Html {
    let Some(d) = &props.detail else {
        return html! {
            <section class="panel" data-testid="member-panel">
                <p class="hint">{ "Click a member (or focus it and press Enter) to see its state." }</p>
            </section>
        };
    };
    let m = &d.member;
    let close = {
        let dispatch = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| dispatch.emit(Msg::Select(None)))
    };
    let log = d.log.iter().map(|e| {
        html! {
            <li class={if e.committed { "committed" } else { "uncommitted" }}
                title={if e.committed { "committed" } else { "not committed yet" }}>
                <span class="idx">{ e.index }</span>
                <span class="t">{ format!("T{}", e.term) }</span>
                <span>{ &e.what }</span>
            </li>
        }
    });
    html! {
        <section class="panel" data-testid="member-panel" aria-label={format!("member n{}", m.id)}>
            <h2>{ format!("n{} · {}", m.id, m.role.as_str()) }
                <button class="close" onclick={close} aria-label="close the panel">{ "×" }</button>
            </h2>
            <dl class="raft">
                <dt>{ "term" }</dt><dd data-testid="panel-term">{ m.term }</dd>
                <dt>{ "voted for" }</dt><dd>{ name(m.vote) }</dd>
                <dt>{ "leader" }</dt><dd data-testid="panel-leader">{ name(m.leader) }</dd>
                <dt>{ "commit / applied" }</dt><dd>{ format!("{} / {}", m.commit, m.applied) }</dd>
                <dt>{ "log" }</dt>
                <dd>{ format!("{}..={} (earlier entries are in the snapshot)", d.first_index, m.last_index) }</dd>
                <dt>{ "revision" }</dt>
                <dd>{ if d.compact_revision > 0 {
                    format!("{} (compacted at {})", m.revision, d.compact_revision)
                } else {
                    format!("{} (never compacted)", m.revision)
                } }</dd>
            </dl>
            if !d.followers.is_empty() {
                <h3>{ "Followers" }</h3>
                <table class="followers">
                    <tr><th>{ "member" }</th><th>{ "match" }</th><th>{ "next" }</th></tr>
                    { for d.followers.iter().map(|p| html! {
                        <tr><td>{ name(p.id) }</td><td>{ p.matched }</td><td>{ p.next }</td></tr>
                    }) }
                </table>
            }
            <h3>{ "Log (newest last; faded = not committed)" }</h3>
            <ol class="log">{ for log }</ol>
            <h3>{ format!("Keys ({})", d.key_count) }</h3>
            <table class="kv" data-testid="kv-table">
                <tr><th>{ "key" }</th><th>{ "value" }</th><th>{ "create" }</th>
                    <th>{ "mod" }</th><th>{ "version" }</th><th>{ "lease" }</th></tr>
                { for d.keys.iter().map(|k| html! {
                    <tr>
                        <td>{ &k.key }</td><td>{ &k.value }</td><td>{ k.create_revision }</td>
                        <td>{ k.mod_revision }</td><td>{ k.version }</td>
                        <td>{ if k.lease == 0 { String::new() } else { format!("{:x}", k.lease) } }</td>
                    </tr>
                }) }
            </table>
            <h3>{ format!("Leases ({})", d.leases.len()) }</h3>
            <table class="leases">
                <tr><th>{ "id" }</th><th>{ "TTL" }</th><th>{ "remaining" }</th><th>{ "keys" }</th></tr>
                { for d.leases.iter().map(|l| html! {
                    <tr>
                        <td>{ format!("{:x}", l.id) }</td><td>{ format!("{} s", l.ttl) }</td>
                        <td>{ l.remaining.map_or("(leader counts)".to_owned(), |r| format!("{r} s")) }</td>
                        <td>{ l.keys }</td>
                    </tr>
                }) }
            </table>
        </section>
    }
}
