//! Faults: crash and restart members, isolate one, split the cluster into islands (see
//! `islands`), cut single directions in the link matrix, set latency and loss (for all
//! links or one), heal.

use crate::islands::Islands;
use crate::model::Msg;
use orrery_core::playground::view::{Frame, Role};
use orrery_core::playground::{MemberId, UserInput};
use orrery_core::sim::NetworkParams;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// What the faults panel shows of a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRow {
    /// The member.
    pub id: MemberId,
    /// Crashed.
    pub down: bool,
    /// Cut off from every other member.
    pub isolated: bool,
}

/// Properties: only what the panel shows, so that it is not redrawn on every frame.
#[derive(Properties, PartialEq)]
pub struct FaultsProps {
    /// The members.
    pub members: Vec<FaultRow>,
    /// Directed links that are cut.
    pub cut: Vec<(MemberId, MemberId)>,
    /// Where messages go.
    pub dispatch: Callback<Msg>,
}

impl FaultRow {
    /// The rows of a frame.
    pub fn of(frame: &Frame) -> Vec<Self> {
        frame
            .members
            .iter()
            .map(|m| Self {
                id: m.id,
                down: m.role == Role::Down,
                isolated: m.isolated,
            })
            .collect()
    }
}

fn act(d: &Callback<Msg>, input: UserInput) -> Callback<MouseEvent> {
    let d = d.clone();
    Callback::from(move |_: MouseEvent| d.emit(Msg::Act(input.clone())))
}

fn number(e: &Event) -> Option<u64> {
    let t = e.target()?;
    if let Ok(i) = t.clone().dyn_into::<HtmlInputElement>() {
        return i.value().parse().ok();
    }
    t.dyn_into::<HtmlSelectElement>().ok()?.value().parse().ok()
}

/// The faults panel.
#[function_component(Faults)]
pub fn faults(props: &FaultsProps) -> Html {
    let d = &props.dispatch;
    let ids: Vec<MemberId> = props.members.iter().map(|m| m.id).collect();
    let latency = use_state(|| (15u64, 40u64));
    let loss = use_state(|| 0u64);
    let link = use_state(|| (1u64, 2u64));

    let rows = props.members.iter().map(|m| {
        let (id, down) = (m.id, m.down);
        html! {
            <tr>
                <th scope="row">{ format!("n{id}") }</th>
                <td>
                    <button data-testid={format!("crash-n{id}")} disabled={down}
                        onclick={act(d, UserInput::Crash(id))}>{ "crash" }</button>
                    <button data-testid={format!("restart-n{id}")} disabled={!down}
                        onclick={act(d, UserInput::Restart(id))}>{ "restart" }</button>
                    <button data-testid={format!("isolate-n{id}")} disabled={m.isolated}
                        onclick={act(d, UserInput::Isolate(id))}>{ "isolate" }</button>
                </td>
            </tr>
        }
    });
    let matrix = html! {
        <table class="matrix" aria-label="links: row sends to column; untick to cut one direction">
            <tr><th>{ "from \\ to" }</th>
                { for ids.iter().map(|b| html! { <th scope="col">{ format!("n{b}") }</th> }) }
            </tr>
            { for ids.iter().map(|&a| html! {
                <tr>
                    <th scope="row">{ format!("n{a}") }</th>
                    { for ids.iter().map(|&b| {
                        if a == b {
                            return html! { <td>{ "·" }</td> };
                        }
                        let up = !props.cut.contains(&(a, b));
                        let input = if up { UserInput::Cut(a, b) } else { UserInput::Restore(a, b) };
                        let d = d.clone();
                        let onchange = Callback::from(move |_: Event| d.emit(Msg::Act(input.clone())));
                        html! {
                            <td>
                                <input type="checkbox" checked={up} {onchange}
                                    data-testid={format!("link-n{a}-n{b}")}
                                    aria-label={format!("link n{a} to n{b}")} />
                            </td>
                        }
                    }) }
                </tr>
            }) }
        </table>
    };
    let params = NetworkParams {
        latency_min_ms: latency.0,
        latency_max_ms: latency.1.max(latency.0),
        loss_permille: *loss as u32,
        duplicate_permille: 0,
    };
    let set_min = {
        let latency = latency.clone();
        Callback::from(move |e: Event| {
            if let Some(v) = number(&e) {
                latency.set((v, latency.1.max(v)));
            }
        })
    };
    let set_max = {
        let latency = latency.clone();
        Callback::from(move |e: Event| {
            if let Some(v) = number(&e) {
                latency.set((latency.0.min(v), v));
            }
        })
    };
    let set_loss = {
        let loss = loss.clone();
        Callback::from(move |e: Event| {
            if let Some(v) = number(&e) {
                loss.set(v);
            }
        })
    };
    let set_from = {
        let link = link.clone();
        Callback::from(move |e: Event| {
            if let Some(v) = number(&e) {
                link.set((v, link.1));
            }
        })
    };
    let set_to = {
        let link = link.clone();
        Callback::from(move |e: Event| {
            if let Some(v) = number(&e) {
                link.set((link.0, v));
            }
        })
    };
    let member_options = |chosen: u64| {
        ids.iter()
            .map(|id| html! { <option value={id.to_string()} selected={*id == chosen}>{ format!("n{id}") }</option> })
            .collect::<Html>()
    };
    html! {
        <section class="faults" aria-label="faults">
            <h2>{ "Faults" }</h2>
            <table class="members">
                <tr><th>{ "member" }</th><th>{ "actions" }</th></tr>
                { for rows }
            </table>
            <Islands members={ids.clone()} dispatch={d.clone()} />
            <div class="group">
                <button data-testid="heal-all" onclick={act(d, UserInput::Heal)}>{ "heal all" }</button>
                <button data-testid="workload-off" onclick={act(d, UserInput::Workload(false))}>
                    { "stop clients" }</button>
                <button data-testid="workload-on" onclick={act(d, UserInput::Workload(true))}>
                    { "start clients" }</button>
            </div>
            <details>
                <summary>{ "link matrix (one direction at a time)" }</summary>
                { matrix }
            </details>
            <details>
                <summary>{ "latency and loss" }</summary>
                <div class="sliders">
                    <label>{ format!("latency min {} ms ", latency.0) }
                        <input type="range" min="0" max="500" value={latency.0.to_string()}
                            onchange={set_min} data-testid="latency-min" /></label>
                    <label>{ format!("latency max {} ms ", latency.1) }
                        <input type="range" min="0" max="1000" value={latency.1.to_string()}
                            onchange={set_max} data-testid="latency-max" /></label>
                    <label>{ format!("loss {:.1} % ", *loss as f64 / 10.0) }
                        <input type="range" min="0" max="1000" value={loss.to_string()}
                            onchange={set_loss} data-testid="loss" /></label>
                </div>
                <button data-testid="apply-network" onclick={act(d, UserInput::Network(params))}>
                    { "apply to every link" }</button>
                <span>{ " or to the link " }</span>
                <select aria-label="link from" onchange={set_from}>{ member_options(link.0) }</select>
                { " → " }
                <select aria-label="link to" onchange={set_to}>{ member_options(link.1) }</select>
                <button data-testid="apply-link"
                    onclick={act(d, UserInput::Link(link.0, link.1, Some(params)))}>{ "apply" }</button>
                <button onclick={act(d, UserInput::Link(link.0, link.1, None))}>{ "reset link" }</button>
            </details>
        </section>
    }
}
