//! The outermost component: owns the state, drives time while playing, and keeps the URL
//! fragment equal to the share link.

use crate::browser;
use crate::cluster_view::ClusterView;
use crate::console::Console;
use crate::controls::Controls;
use crate::faults::{FaultRow, Faults};
use crate::member_panel::MemberPanel;
use crate::model::{Model, Msg};
use orrery_core::playground::script::Script;
use orrery_core::playground::Playground;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// Members of a fresh run.
pub const DEFAULT_MEMBERS: usize = 5;
/// Longest wall time one frame accounts for (after a stall, time does not leap).
const MAX_FRAME_GAP_MS: f64 = 250.0;

/// Calls `on_frame(wall ms since the last frame)` on every animation frame until
/// `running` is cleared (wasm-bindgen's requestAnimationFrame pattern: the closure holds
/// the only handle to itself and drops it when told to stop).
fn frame_loop(running: Rc<Cell<bool>>, on_frame: impl Fn(f64) + 'static) {
    type FrameFn = Closure<dyn FnMut(f64)>;
    let handle: Rc<RefCell<Option<FrameFn>>> = Rc::default();
    let again = handle.clone();
    let mut last: Option<f64> = None;
    *handle.borrow_mut() = Some(Closure::new(move |ts: f64| {
        if !running.get() {
            again.borrow_mut().take();
            return;
        }
        let real_ms = last.map_or(0.0, |l| (ts - l).clamp(0.0, MAX_FRAME_GAP_MS));
        last = Some(ts);
        on_frame(real_ms);
        if let Some(f) = again.borrow().as_ref() {
            request_frame(f);
        }
    }));
    let first = handle.borrow();
    if let Some(f) = first.as_ref() {
        request_frame(f);
    }
}

fn request_frame(f: &Closure<dyn FnMut(f64)>) {
    let _ = gloo::utils::window().request_animation_frame(f.as_ref().unchecked_ref());
}

/// The app's properties.
#[derive(Properties, PartialEq, Clone, Default)]
pub struct AppProps {
    /// A share link's fragment to open instead of `location.hash`.
    #[prop_or_default]
    pub fragment: Option<String>,
}

/// The first state: the run in the link, or a fresh one that starts playing.
fn initial(fragment: &str) -> Model {
    if !fragment.is_empty() {
        match Script::from_link(fragment) {
            Ok(script) => return Model::new(Playground::open(&script), false),
            Err(e) => {
                let mut m = Model::new(
                    Playground::new(browser::random_seed(), DEFAULT_MEMBERS),
                    true,
                );
                m.error = Some(format!("could not open the link: {e}"));
                return m;
            }
        }
    }
    Model::new(
        Playground::new(browser::random_seed(), DEFAULT_MEMBERS),
        true,
    )
}

/// The playground.
#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let fragment = props.fragment.clone().unwrap_or_else(browser::fragment);
    let model = use_reducer(|| initial(&fragment));
    let written = use_mut_ref(String::new);
    let reduced_motion = *use_state(browser::reduced_motion);

    // Time: one requestAnimationFrame loop, alive only while playing (browsers stop
    // animation frames in hidden tabs, so a background page does no work).
    {
        let dispatcher = model.dispatcher();
        use_effect_with(model.playing, move |playing| {
            let running = Rc::new(Cell::new(*playing));
            if *playing {
                frame_loop(running.clone(), move |real_ms| {
                    dispatcher.dispatch(Msg::Frame {
                        real_ms,
                        clock: browser::now_ms,
                    })
                });
            }
            move || running.set(false)
        });
    }

    // The fragment always holds the run: rewritten when the log changes, on pause, and
    // once a virtual second while playing.
    let link = {
        let key = (model.log_version, model.playing, model.frame.now_ms / 1_000);
        let model = model.clone();
        use_memo(key, move |_| model.script().to_link())
    };
    {
        let written = written.clone();
        use_effect_with(link.clone(), move |link| {
            browser::set_fragment(link);
            *written.borrow_mut() = (**link).clone();
        });
    }

    // A link pasted into the address bar of this tab opens that run.
    {
        let dispatcher = model.dispatcher();
        let written = written.clone();
        use_effect_with((), move |_| {
            let listener =
                gloo::events::EventListener::new(&gloo::utils::window(), "hashchange", move |_| {
                    let now = browser::fragment();
                    if now.is_empty() || now == *written.borrow() {
                        return;
                    }
                    match Script::from_link(&now) {
                        Ok(script) => dispatcher.dispatch(Msg::Open(script)),
                        Err(e) => {
                            dispatcher.dispatch(Msg::Error(format!("could not open the link: {e}")))
                        }
                    }
                });
            move || drop(listener)
        });
    }

    // One callback for the page's life: children compare it by identity, so a new one on
    // every frame would redraw every component on every frame.
    let dispatch = {
        let dispatcher = model.dispatcher();
        use_callback((), move |msg: Msg, _| dispatcher.dispatch(msg))
    };
    let share_url = browser::url_with_fragment(&link);
    html! {
        <div class="app">
            <header>
                <h1>{ "Orrery" }</h1>
                <span class="tagline">
                    { "etcd 3.4's Raft, MVCC, leases and watch, simulated in your browser" }
                </span>
            </header>
            <Controls model={(*model).clone()} dispatch={dispatch.clone()} share_url={share_url} />
            if let Some(e) = &model.error {
                <p class="error" role="alert" data-testid="error">{ e }</p>
            }
            if !model.frame.violations.is_empty() {
                <p class="error" role="alert" data-testid="violations">
                    { format!("A checker found a violation: {}", model.frame.violations.join("; ")) }
                </p>
            }
            <main>
                <section class="left">
                    <ClusterView
                        frame={model.frame.clone()}
                        selected={model.selected}
                        console_member={model.console_member}
                        reduced_motion={reduced_motion}
                        dispatch={dispatch.clone()}
                    />
                    <Faults members={FaultRow::of(&model.frame)} cut={model.frame.cut.clone()}
                        dispatch={dispatch.clone()} />
                </section>
                <section class="right">
                    <Console
                        entries={model.console.clone()}
                        history={model.history.clone()}
                        members={model.frame.members.iter().map(|m| m.id).collect::<Vec<_>>()}
                        member={model.console_member}
                        dispatch={dispatch.clone()}
                    />
                    <MemberPanel detail={model.detail.clone()} dispatch={dispatch} />
                </section>
            </main>
        </div>
    }
}
