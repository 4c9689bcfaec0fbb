//! The playground's components in a real (headless) Chromium: a shared run opens at its
//! moment, the console runs typed commands, fault buttons act on members.
#![cfg(target_arch = "wasm32")]

use gloo::timers::future::TimeoutFuture;
use orrery_core::playground::{Playground, UserInput};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts the app on a fresh element, opening `link`.
async fn mount(link: String) -> Element {
    let document = gloo::utils::document();
    let root = document.create_element("div").expect("div");
    document
        .body()
        .expect("body")
        .append_child(&root)
        .expect("append");
    orrery_web::mount(Some(root.clone()), Some(link));
    settle().await;
    root
}

/// Lets Yew render.
async fn settle() {
    TimeoutFuture::new(30).await;
}

/// Waits (up to 3 s) until `done` holds: a render may take longer than one settle on a
/// busy machine.
async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        settle().await;
    }
}

fn find(root: &Element, testid: &str) -> Element {
    root.query_selector(&format!("[data-testid=\"{testid}\"]"))
        .expect("selector")
        .unwrap_or_else(|| panic!("no element {testid}"))
}

fn click(root: &Element, testid: &str) {
    find(root, testid)
        .dyn_into::<HtmlElement>()
        .expect("html element")
        .click();
}

async fn type_line(root: &Element, line: &str) {
    let input: HtmlTextAreaElement = find(root, "console-input").dyn_into().expect("textarea");
    input.set_value(line);
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_bubbles(true);
    let event =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).expect("event");
    input.dispatch_event(&event).expect("dispatch");
    settle().await;
}

fn output(root: &Element) -> String {
    find(root, "console-output")
        .text_content()
        .unwrap_or_default()
}

/// A paused run three seconds in, with a leader and one key written.
fn paused_run() -> (Playground, String) {
    let mut p = Playground::new(7, 3);
    p.advance(3_000);
    p.act(UserInput::Console {
        member: 1,
        line: "put hello world".into(),
        stdin: String::new(),
    })
    .expect("act");
    p.advance(2_000);
    let link = p.script().to_link();
    (p, link)
}

#[wasm_bindgen_test]
async fn a_shared_run_opens_paused_at_its_moment() {
    let (p, link) = paused_run();
    let root = mount(link).await;
    for m in p.frame().members {
        let el = find(&root, &format!("member-n{}", m.id));
        assert_eq!(
            el.get_attribute("data-role").as_deref(),
            Some(m.role.as_str())
        );
        assert_eq!(el.get_attribute("data-term"), Some(m.term.to_string()));
    }
    assert!(
        output(&root).contains("n1$ put hello world\nOK\n"),
        "{}",
        output(&root)
    );
    assert_eq!(
        find(&root, "play-pause")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("false")
    );
}

#[wasm_bindgen_test]
async fn the_console_runs_commands_and_prints_etcdctl_output() {
    let (_, link) = paused_run();
    let root = mount(link).await;
    type_line(&root, "help").await;
    assert!(output(&root).contains("Commands (etcdctl 3.4 syntax"));
    type_line(&root, "get hello --print-value-only").await;
    // Paused: the read waits for virtual time; run until it is answered.
    for _ in 0..50 {
        if output(&root).contains("get hello --print-value-only\nworld\n") {
            break;
        }
        click(&root, "run-until-commit");
        settle().await;
    }
    assert!(
        output(&root).contains("n1$ get hello --print-value-only\nworld\n"),
        "{}",
        output(&root)
    );
    type_line(&root, "get").await;
    assert!(output(&root).contains(
        "Error: get command needs one argument as key and an optional argument as range_end"
    ));
}

#[wasm_bindgen_test]
async fn crash_and_restart_buttons_act_on_the_member() {
    let (_, link) = paused_run();
    let root = mount(link).await;
    let role = || find(&root, "member-n2").get_attribute("data-role");
    click(&root, "crash-n2");
    eventually(|| role().as_deref() == Some("down")).await;
    assert_eq!(role().as_deref(), Some("down"));
    click(&root, "restart-n2");
    eventually(|| role().as_deref() != Some("down")).await;
    let role = role();
    assert_ne!(role.as_deref(), Some("down"));
    // The share link now carries both inputs.
    let href = find(&root, "share-link")
        .get_attribute("href")
        .expect("href");
    let fragment = href.split_once('#').expect("fragment").1;
    let script = orrery_core::playground::script::Script::from_link(fragment).expect("link");
    let text = script.to_text();
    assert!(
        text.contains(" crash n2\n") && text.contains(" restart n2\n"),
        "{text}"
    );
}
