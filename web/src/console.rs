//! The etcdctl console: a member to talk to, the transcript, and a prompt. Enter runs the
//! line; Shift+Enter adds a line of standard input (for `txn`); Up/Down walk the history.

use crate::model::Msg;
use orrery_core::playground::console::{render, ConsoleEntry};
use orrery_core::playground::{MemberId, UserInput};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// Properties.
#[derive(Properties, PartialEq)]
pub struct ConsoleProps {
    /// The transcript.
    pub entries: Rc<Vec<ConsoleEntry>>,
    /// Lines typed so far.
    pub history: Rc<Vec<String>>,
    /// Members to choose from.
    pub members: Vec<MemberId>,
    /// The member the console talks to.
    pub member: MemberId,
    /// Where messages go.
    pub dispatch: Callback<Msg>,
}

/// The console.
#[function_component(Console)]
pub fn console(props: &ConsoleProps) -> Html {
    let input = use_node_ref();
    let output = use_node_ref();
    // Position in the history while walking it with Up/Down (None = a new line).
    let cursor = use_mut_ref(|| None::<usize>);
    {
        // Keep the newest output in view.
        let output = output.clone();
        use_effect_with(props.entries.clone(), move |_| {
            if let Some(el) = output.cast::<web_sys::Element>() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }
    let onkeydown = {
        let (input, cursor) = (input.clone(), cursor.clone());
        let (d, member, history) = (props.dispatch.clone(), props.member, props.history.clone());
        Callback::from(move |e: KeyboardEvent| {
            let Some(area) = input.cast::<HtmlTextAreaElement>() else {
                return;
            };
            let text = area.value();
            match e.key().as_str() {
                "Enter" if !e.shift_key() => {
                    e.prevent_default();
                    let (line, stdin) = text.split_once('\n').unwrap_or((&text, ""));
                    if line.trim().is_empty() {
                        return;
                    }
                    let mut stdin = stdin.to_owned();
                    if !stdin.is_empty() && !stdin.ends_with('\n') {
                        stdin.push('\n');
                    }
                    d.emit(Msg::Act(UserInput::Console {
                        member,
                        line: line.trim().to_owned(),
                        stdin,
                    }));
                    area.set_value("");
                    *cursor.borrow_mut() = None;
                }
                "ArrowUp" | "ArrowDown" if !text.contains('\n') && !history.is_empty() => {
                    e.prevent_default();
                    let last = history.len() - 1;
                    let next = match (e.key().as_str(), *cursor.borrow()) {
                        ("ArrowUp", None) => Some(last),
                        ("ArrowUp", Some(i)) => Some(i.saturating_sub(1)),
                        ("ArrowDown", Some(i)) if i < last => Some(i + 1),
                        _ => None,
                    };
                    *cursor.borrow_mut() = next;
                    area.set_value(next.map_or("", |i| history[i].as_str()));
                }
                _ => {}
            }
        })
    };
    let on_member = {
        let d = props.dispatch.clone();
        Callback::from(move |e: Event| {
            if let Some(id) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
                .and_then(|s| s.value().parse().ok())
            {
                d.emit(Msg::ConsoleMember(id));
            }
        })
    };
    html! {
        <section class="console" aria-label="etcdctl console">
            <h2>
                <label for="console-member">{ "etcdctl → " }</label>
                <select id="console-member" data-testid="console-member" onchange={on_member}>
                    { for props.members.iter().map(|id| html! {
                        <option value={id.to_string()} selected={*id == props.member}>
                            { format!("n{id} (10.0.0.{id}:2379)") }
                        </option>
                    }) }
                </select>
            </h2>
            <pre data-testid="console-output" ref={output} tabindex="0" aria-live="polite"
                aria-label="console output">
                { render(&props.entries) }
            </pre>
            <textarea data-testid="console-input" ref={input} rows="2" spellcheck="false"
                aria-label="etcdctl command (Enter runs it; Shift+Enter adds an input line)"
                placeholder="put foo bar · get foo · watch --prefix k · help" {onkeydown} />
        </section>
    }
}
