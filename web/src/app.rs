//! The outermost component: owns the state, drives time while playing, and keeps the URL
//! fragment equal to the share link.

use crate::browser;
use crate::cluster_view::ClusterView;
use crate::console::Console;
use crate::controls::Controls;
use crate::faults::Faults;
use crate::member_panel::MemberPanel;
use crate::model::{Model, Msg};
use gloo::timers::callback::Interval;
use orrery_core::playground::script::Script;
use orrery_core::playground::Playground;
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

/// Members of a fresh run.
pub const DEFAULT_MEMBERS: usize = 5;
/// Frame period while playing (the browser throttles it in background tabs, where frames
/// do no work anyway).
const FRAME_MS: u32 = 16;

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

    // Time: one interval, alive only while playing.
    {
        let dispatcher = model.dispatcher();
        use_effect_with(model.playing, move |playing| {
            let interval = playing.then(|| {
                let last = Rc::new(RefCell::new(browser::now_ms()));
                Interval::new(FRAME_MS, move || {
                    let now = browser::now_ms();
                    let real_ms = (now - *last.borrow()).clamp(0.0, 250.0);
                    *last.borrow_mut() = now;
                    if !browser::hidden() {
                        dispatcher.dispatch(Msg::Frame {
                            real_ms,
                            clock: browser::now_ms,
                        });
                    }
                })
            });
            move || drop(interval)
        });
    }

    // The fragment always holds the run: rewritten when the log changes, on pause, and
    // once a virtual second while playing.
    let link = {
        let key = (model.log_version, model.playing, model.frame.now_ms / 1_000);
        let model = model.clone();
        let written = written.clone();
        use_memo(key, move |_| {
            let link = model.script().to_link();
            browser::set_fragment(&link);
            *written.borrow_mut() = link.clone();
            link
        })
    };

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

    let dispatch = {
        let model = model.clone();
        Callback::from(move |msg: Msg| model.dispatch(msg))
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
            <main>
                <section class="left">
                    <ClusterView
                        frame={model.frame.clone()}
                        selected={model.selected}
                        reduced_motion={browser::reduced_motion()}
                        dispatch={dispatch.clone()}
                    />
                    <Faults frame={model.frame.clone()} dispatch={dispatch.clone()} />
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
