//! Orrery's browser playground: the same core as the native node, simulated in the page.
//!
//! The model is `orrery_core::playground` (no protocol logic here); [`model`] holds the
//! page's state in a reducer, and each component (one per file) draws part of it. Time is
//! driven by one requestAnimationFrame loop in [`app::App`], the outermost component, and
//! only while playing.

pub mod app;
pub mod browser;
pub mod cluster_view;
pub mod console;
pub mod controls;
pub mod faults;
pub mod islands;
pub mod member_panel;
pub mod model;

/// Mounts the playground on `root`, or on `<body>`; `fragment` is a share link's
/// fragment to open (the page's own `location.hash` when `None`).
pub fn mount(root: Option<web_sys::Element>, fragment: Option<String>) {
    let props = app::AppProps { fragment };
    match root {
        Some(el) => {
            yew::Renderer::<app::App>::with_root_and_props(el, props).render();
        }
        None => {
            yew::Renderer::<app::App>::with_props(props).render();
        }
    }
}
