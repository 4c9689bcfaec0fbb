//! Time and run controls: play/pause, step, run until, speed, the timeline, branches, a
//! new run (seed and member count), the share link, export and import.

use crate::browser;
use crate::model::{Model, Msg, SPEEDS};
use orrery_core::playground::script::Script;
use orrery_core::playground::Until;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// Properties.
#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    /// The state.
    pub model: Model,
    /// Where messages go.
    pub dispatch: Callback<Msg>,
    /// The full share URL.
    pub share_url: String,
}

fn select_value(e: &Event) -> Option<String> {
    e.target()
        .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
        .map(|s| s.value())
}

fn input_value(e: &Event) -> Option<String> {
    e.target()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        .map(|s| s.value())
}

/// The control bar.
#[function_component(Controls)]
pub fn controls(props: &ControlsProps) -> Html {
    let m = &props.model;
    let d = props.dispatch.clone();
    let seed_input = use_state(|| m.seed.to_string());
    let members = use_state(|| m.members);
    {
        // A run opened from a link or file shows its own seed and size.
        let (seed_input, members) = (seed_input.clone(), members.clone());
        use_effect_with((m.seed, m.members), move |(seed, n)| {
            seed_input.set(seed.to_string());
            members.set(*n);
        });
    }
    let click = |msg: fn() -> Msg| {
        let d = d.clone();
        Callback::from(move |_: MouseEvent| d.emit(msg()))
    };
    let on_speed = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            if let Some(i) = select_value(&e).and_then(|v| v.parse().ok()) {
                d.emit(Msg::Speed(i));
            }
        })
    };
    let on_seek = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            if let Some(ms) = input_value(&e).and_then(|v| v.parse().ok()) {
                d.emit(Msg::Seek(ms));
            }
        })
    };
    let on_seed = {
        let seed_input = seed_input.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(v) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            {
                seed_input.set(v.value());
            }
        })
    };
    let on_members = {
        let members = members.clone();
        Callback::from(move |e: Event| {
            if let Some(n) = select_value(&e).and_then(|v| v.parse().ok()) {
                members.set(n);
            }
        })
    };
    let new_run = {
        let (d, seed_input, members) = (d.clone(), seed_input.clone(), members.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match seed_input.trim().parse() {
                Ok(seed) => d.emit(Msg::NewRun {
                    seed,
                    members: *members,
                }),
                Err(_) => d.emit(Msg::Error(format!(
                    "the seed must be a whole number, not {:?}",
                    *seed_input
                ))),
            }
        })
    };
    let export = {
        let m = m.clone();
        Callback::from(move |_: MouseEvent| {
            let s = m.script();
            browser::download(&format!("orrery-run-{}.txt", s.seed), &s.to_text());
        })
    };
    let import = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let Some(file) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                .and_then(|i| i.files())
                .and_then(|f| f.get(0))
            else {
                return;
            };
            let d = d.clone();
            let file = gloo::file::File::from(file);
            // The reader is kept alive by its own callback until it fires.
            let reader = std::rc::Rc::new(std::cell::RefCell::new(None));
            let keep = reader.clone();
            *reader.borrow_mut() = Some(gloo::file::callbacks::read_as_text(&file, move |text| {
                match text
                    .map_err(|e| e.to_string())
                    .and_then(|t| Script::from_text(&t).map_err(|e| e.to_string()))
                {
                    Ok(s) => d.emit(Msg::Open(s)),
                    Err(e) => d.emit(Msg::Error(format!("could not open the file: {e}"))),
                }
                keep.borrow_mut().take();
            }));
        })
    };
    let on_branch = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            if let Some(i) = select_value(&e).and_then(|v| v.parse().ok()) {
                d.emit(Msg::SwitchBranch(i));
            }
        })
    };
    let f = &m.frame;
    html! {
        <nav class="controls" aria-label="time and run">
            <div class="group">
                <button data-testid="play-pause" onclick={click(|| Msg::TogglePlay)}
                    aria-pressed={m.playing.to_string()}>
                    { if m.playing { "pause" } else { "play" } }
                </button>
                <button data-testid="step" onclick={click(|| Msg::Step)}
                    title="run exactly one event">{ "step" }</button>
                <button data-testid="run-until-leader"
                    onclick={click(|| Msg::RunUntil(Until::LeaderChange))}>
                    { "until leader change" }
                </button>
                <button data-testid="run-until-commit"
                    onclick={click(|| Msg::RunUntil(Until::Commit))}>
                    { "until next commit" }
                </button>
                <label>{ "speed " }
                    <select data-testid="speed" onchange={on_speed}>
                        { for SPEEDS.iter().enumerate().map(|(i, (name, _))| html! {
                            <option value={i.to_string()} selected={i == m.speed}>{ *name }</option>
                        }) }
                    </select>
                </label>
            </div>
            <div class="group timeline">
                <label for="timeline">{ "time" }</label>
                <input id="timeline" data-testid="timeline" type="range" min="0"
                    max={f.horizon_ms.to_string()} value={f.now_ms.to_string()}
                    onchange={on_seek} aria-valuetext={format!("{} ms", f.now_ms)} />
                <span class="now" data-testid="now">
                    { format!("{:.3} s · {} events", f.now_ms as f64 / 1000.0, f.events) }
                </span>
                if !m.branches.is_empty() {
                    <label>{ "branches " }
                        <select data-testid="branches" onchange={on_branch}>
                            <option selected=true disabled=true>{ "current" }</option>
                            { for m.branches.iter().enumerate().map(|(i, at)| html! {
                                <option value={i.to_string()}>
                                    { format!("forked at {:.3} s", *at as f64 / 1000.0) }
                                </option>
                            }) }
                        </select>
                    </label>
                }
            </div>
            <form class="group" onsubmit={new_run}>
                <label>{ "seed " }
                    <input data-testid="seed" type="text" inputmode="numeric" size="8"
                        value={(*seed_input).clone()} oninput={on_seed} />
                </label>
                <label>{ "members " }
                    <select data-testid="member-count" onchange={on_members}>
                        { for (1..=9usize).map(|n| html! {
                            <option value={n.to_string()} selected={n == *members}>{ n }</option>
                        }) }
                    </select>
                </label>
                <button type="submit" data-testid="new-run">{ "new run" }</button>
            </form>
            <div class="group">
                <a data-testid="share-link" href={props.share_url.clone()}
                    title="this run, replayed exactly to this moment">{ "share link" }</a>
                <button data-testid="export" onclick={export}>{ "export" }</button>
                <label class="file">{ "import " }
                    <input data-testid="import" type="file" accept=".txt,text/plain"
                        onchange={import} />
                </label>
            </div>
        </nav>
    }
}
