//! Islands: drag members between up to three islands (or pick each one's island from its
//! select, by keyboard), then split the network along them: members talk only within
//! their island.

use crate::model::Msg;
use orrery_core::playground::{MemberId, UserInput};
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, HtmlSelectElement};
use yew::prelude::*;

/// Properties.
#[derive(Properties, PartialEq)]
pub struct IslandsProps {
    /// The members.
    pub members: Vec<MemberId>,
    /// Where messages go.
    pub dispatch: Callback<Msg>,
}

const ISLANDS: &[&str] = &["A", "B", "C"];
/// The drag payload's type: the member's name (`n3`).
const DRAG_TYPE: &str = "text/plain";

/// The groups to split into: non-empty islands, in order.
fn groups(members: &[MemberId], island_of: &[usize]) -> Vec<Vec<MemberId>> {
    (0..ISLANDS.len())
        .map(|i| {
            members
                .iter()
                .copied()
                .filter(|id| island_of[*id as usize - 1] == i)
                .collect::<Vec<_>>()
        })
        .filter(|g| !g.is_empty())
        .collect()
}

/// The islands panel.
#[function_component(Islands)]
pub fn islands(props: &IslandsProps) -> Html {
    // The island of each member n1…n9 (an index into ISLANDS).
    let island_of = use_state(|| vec![0usize; 9]);
    // The island a member is dragged over, to highlight it.
    let over = use_state(|| None::<usize>);
    let move_to = {
        let island_of = island_of.clone();
        move |id: MemberId, island: usize| {
            if (1..=9).contains(&id) && island < ISLANDS.len() {
                let mut next = (*island_of).clone();
                next[id as usize - 1] = island;
                island_of.set(next);
            }
        }
    };
    let zones = ISLANDS.iter().enumerate().map(|(i, name)| {
        let ondragover = {
            let over = over.clone();
            Callback::from(move |e: DragEvent| {
                // Allows the drop.
                e.prevent_default();
                if *over != Some(i) {
                    over.set(Some(i));
                }
            })
        };
        let ondragleave = {
            let over = over.clone();
            Callback::from(move |_: DragEvent| over.set(None))
        };
        let ondrop = {
            let over = over.clone();
            let move_to = move_to.clone();
            Callback::from(move |e: DragEvent| {
                e.prevent_default();
                over.set(None);
                let dragged = e
                    .data_transfer()
                    .and_then(|t| t.get_data(DRAG_TYPE).ok())
                    .and_then(|name| name.strip_prefix('n')?.parse::<MemberId>().ok());
                if let Some(id) = dragged {
                    move_to(id, i);
                }
            })
        };
        let chips = props
            .members
            .iter()
            .copied()
            .filter(|id| island_of[*id as usize - 1] == i)
            .map(|id| {
                let ondragstart = Callback::from(move |e: DragEvent| {
                    if let Some(t) = e.data_transfer() {
                        let _ = t.set_data(DRAG_TYPE, &format!("n{id}"));
                        t.set_effect_allowed("move");
                    }
                });
                let onchange = {
                    let move_to = move_to.clone();
                    Callback::from(move |e: Event| {
                        let chosen = e
                            .target()
                            .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
                            .and_then(|s| s.value().parse::<usize>().ok());
                        if let Some(island) = chosen {
                            move_to(id, island);
                        }
                    })
                };
                html! {
                    <span class="chip">
                        <span class="handle" draggable="true" data-testid={format!("chip-n{id}")}
                            title="drag to another island" {ondragstart}>{ format!("n{id}") }</span>
                        <select aria-label={format!("island of n{id}")} {onchange}>
                            { for ISLANDS.iter().enumerate().map(|(j, name)| html! {
                                <option value={j.to_string()} selected={i == j}>{ *name }</option>
                            }) }
                        </select>
                    </span>
                }
            });
        html! {
            <div class={classes!("island", (*over == Some(i)).then_some("over"))}
                data-testid={format!("island-{name}")} {ondragover} {ondragleave} {ondrop}>
                <span class="island-name">{ format!("island {name}") }</span>
                { for chips }
            </div>
        }
    });
    let split = {
        let d = props.dispatch.clone();
        let groups = groups(&props.members, &island_of);
        Callback::from(move |_: MouseEvent| d.emit(Msg::Act(UserInput::Partition(groups.clone()))))
    };
    html! {
        <div class="islands" aria-label="islands: drag members between them, or pick from each select">
            { for zones }
            <button data-testid="split-islands" onclick={split}>{ "split into islands" }</button>
        </div>
    }
}
