//! The page's state and its reducer. The cluster itself is `orrery_core::playground`; this
//! adds only what the page needs around it (playing or paused, speed, selections) and
//! keeps the views the components draw.

use orrery_core::playground::console::{self, ConsoleEntry};
use orrery_core::playground::script::Script;
use orrery_core::playground::view::{Frame, MemberDetail};
use orrery_core::playground::{MemberId, Playground, Until, UserInput};
use std::cell::RefCell;
use std::rc::Rc;
use yew::Reducible;

/// Speeds offered: virtual ms per real ms (`None` = as fast as the machine goes).
pub const SPEEDS: &[(&str, Option<f64>)] = &[
    ("0.05×", Some(0.05)),
    ("0.1×", Some(0.1)),
    ("0.25×", Some(0.25)),
    ("0.5×", Some(0.5)),
    ("1×", Some(1.0)),
    ("2×", Some(2.0)),
    ("5×", Some(5.0)),
    ("20×", Some(20.0)),
    ("max", None),
];
/// The speed a fresh page runs at.
pub const DEFAULT_SPEED: usize = 3;
/// Real ms of simulation per frame at "max" (leaves the rest of a 16 ms frame to drawing).
const MAX_SPEED_BUDGET_MS: f64 = 10.0;
/// Virtual ms simulated per chunk at "max" before checking the budget.
const MAX_SPEED_CHUNK_MS: u64 = 20;
/// A frame never simulates more than this much virtual time (a tab returning from the
/// background must not freeze the page catching up).
const MAX_FRAME_VIRTUAL_MS: f64 = 2_000.0;

/// What the user or the clock did.
pub enum Msg {
    /// A frame: `real_ms` of wall time passed; `clock` reads the wall clock (for "max").
    Frame {
        /// Wall time since the last frame.
        real_ms: f64,
        /// Reads the wall clock in ms.
        clock: fn() -> f64,
    },
    /// Play or pause.
    TogglePlay,
    /// One event.
    Step,
    /// Run until something happens.
    RunUntil(Until),
    /// Pick a speed from [`SPEEDS`].
    Speed(usize),
    /// Go to a moment of the timeline.
    Seek(u64),
    /// A user input at this moment.
    Act(UserInput),
    /// Show a member's panel (or none).
    Select(Option<MemberId>),
    /// The member the console talks to.
    ConsoleMember(MemberId),
    /// A new run.
    NewRun {
        /// Seed.
        seed: u64,
        /// Members.
        members: usize,
    },
    /// Open a saved or shared run.
    Open(Script),
    /// Switch to a saved branch.
    SwitchBranch(usize),
    /// Show an error (a bad link or file).
    Error(String),
}

/// The page's state.
#[derive(Clone)]
pub struct Model {
    playground: Rc<RefCell<Playground>>,
    /// Running.
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    /// The member whose panel is open.
    pub selected: Option<MemberId>,
    /// The member the console talks to.
    pub console_member: MemberId,
    /// The last error to show.
    pub error: Option<String>,
    /// The cluster now.
    pub frame: Rc<Frame>,
    /// The selected member's panel.
    pub detail: Option<Rc<MemberDetail>>,
    /// The console.
    pub console: Rc<Vec<ConsoleEntry>>,
    /// Lines typed so far (for the up/down keys).
    pub history: Rc<Vec<String>>,
    /// Saved branches: where each forked.
    pub branches: Rc<Vec<u64>>,
    /// Seed and members of this run.
    pub seed: u64,
    /// Members at the start.
    pub members: usize,
    /// Changes whenever the input log does (the share link is rewritten then).
    pub log_version: u64,
    /// Virtual time owed from earlier frames (below one ms).
    carry_ms: f64,
    /// What the console was last built from.
    console_fingerprint: [usize; 4],
}

impl PartialEq for Model {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.frame, &other.frame)
            && self.playing == other.playing
            && self.speed == other.speed
            && self.selected == other.selected
            && self.console_member == other.console_member
            && self.error == other.error
    }
}

impl Model {
    /// A page showing `playground`.
    pub fn new(playground: Playground, playing: bool) -> Self {
        let mut m = Self {
            seed: playground.seed(),
            members: playground.members(),
            playground: Rc::new(RefCell::new(playground)),
            playing,
            speed: DEFAULT_SPEED,
            selected: None,
            console_member: 1,
            error: None,
            frame: Rc::default(),
            detail: None,
            console: Rc::default(),
            history: Rc::default(),
            branches: Rc::default(),
            log_version: 0,
            carry_ms: 0.0,
            console_fingerprint: [usize::MAX; 4],
        };
        m.refresh(true);
        m
    }

    /// The run as a script (what the share link and the export hold).
    pub fn script(&self) -> Script {
        self.playground.borrow().script()
    }

    fn refresh(&mut self, log_changed: bool) {
        let p = self.playground.borrow();
        self.frame = Rc::new(p.frame());
        self.detail = self
            .selected
            .and_then(|id| p.member_detail(id))
            .map(Rc::new);
        let console_now = console::fingerprint(p.log(), p.sim());
        if log_changed || console_now != self.console_fingerprint {
            self.console = Rc::new(console::transcript(p.log(), p.sim()));
            self.console_fingerprint = console_now;
        }
        if log_changed {
            self.history = Rc::new(
                p.log()
                    .iter()
                    .filter_map(|s| match &s.input {
                        UserInput::Console { line, .. } => Some(line.clone()),
                        _ => None,
                    })
                    .collect(),
            );
            self.branches = Rc::new(p.branches().iter().map(|b| b.forked_at_ms).collect());
            self.seed = p.seed();
            self.members = p.members();
            self.log_version += 1;
        }
    }

    fn run_frame(&mut self, real_ms: f64, clock: fn() -> f64) {
        let mut p = self.playground.borrow_mut();
        match SPEEDS[self.speed].1 {
            Some(rate) => {
                let virtual_ms = (real_ms * rate + self.carry_ms).min(MAX_FRAME_VIRTUAL_MS);
                // Whole ms only; the remainder is carried to the next frame.
                let ms = virtual_ms.floor();
                self.carry_ms = virtual_ms - ms;
                p.advance(ms as u64);
            }
            None => {
                let start = clock();
                // Bounded: at most MAX_FRAME_VIRTUAL_MS per frame.
                for _ in 0..MAX_FRAME_VIRTUAL_MS as u64 / MAX_SPEED_CHUNK_MS {
                    p.advance(MAX_SPEED_CHUNK_MS);
                    if clock() - start > MAX_SPEED_BUDGET_MS {
                        break;
                    }
                }
            }
        }
    }
}

impl Reducible for Model {
    type Action = Msg;

    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut m = (*self).clone();
        let mut log_changed = false;
        match msg {
            Msg::Frame { real_ms, clock } => {
                if !m.playing {
                    return self;
                }
                m.run_frame(real_ms, clock);
            }
            Msg::TogglePlay => m.playing = !m.playing,
            Msg::Step => {
                m.playing = false;
                m.playground.borrow_mut().step_event();
            }
            Msg::RunUntil(until) => {
                m.playing = false;
                if !m.playground.borrow_mut().run_until(until) {
                    m.error = Some("nothing like that happened within 2 000 000 events".into());
                }
            }
            Msg::Speed(i) => m.speed = i.min(SPEEDS.len() - 1),
            Msg::Seek(ms) => {
                m.playing = false;
                m.playground.borrow_mut().seek(ms);
            }
            Msg::Act(input) => {
                let result = m.playground.borrow_mut().act(input);
                m.error = result.err().map(|e| e.to_string());
                log_changed = true;
            }
            Msg::Select(id) => m.selected = id,
            Msg::ConsoleMember(id) => m.console_member = id,
            Msg::NewRun { seed, members } => {
                m = Self::new(Playground::new(seed, members), m.playing);
                m.speed = self.speed;
                return Rc::new(m);
            }
            Msg::Open(script) => {
                m = Self::new(Playground::open(&script), false);
                m.speed = self.speed;
                return Rc::new(m);
            }
            Msg::SwitchBranch(i) => {
                m.playing = false;
                m.playground.borrow_mut().switch_branch(i);
                log_changed = true;
            }
            Msg::Error(e) => m.error = Some(e),
        }
        m.refresh(log_changed);
        Rc::new(m)
    }
}
