//! A run as text, and share links.
//!
//! ```text
//! orrery-run 1
//! seed 42
//! members 5
//! at 5200
//! events 48213
//! 1001 crash n2
//! 1502 console n1 put foo bar
//! 2003 partition n1,n2 n3,n4,n5
//! 2604 console n3 txn -i\nvalue("foo") = "bar"\n\nput ok yes\n\n
//! ```
//!
//! One input per line: the virtual ms it happened at, a verb, its arguments. A console line
//! keeps its text verbatim after the member; its standard input follows after `\n`
//! (`\\` is a backslash). `at` and `events` are the moment the link opens at: the virtual
//! time and the number of events processed (a moment can fall between two events of one
//! millisecond, after "step one event"). A share link is
//! `v1.` + base64url(deflate(text)).

use super::{MemberId, Step, UserInput, MAX_STEPS};
use crate::sim::NetworkParams;

/// A run: what replays it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// The seed.
    pub seed: u64,
    /// Members at the start.
    pub members: usize,
    /// The moment to open at: virtual time...
    pub at_ms: u64,
    /// ...and events processed by then.
    pub events: u64,
    /// The input log.
    pub log: Vec<Step>,
}

/// A script or link that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError(pub String);

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Largest decompressed script a link may hold.
const MAX_SCRIPT_BYTES: usize = 1 << 20;
const LINK_PREFIX: &str = "v1.";

impl Script {
    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "orrery-run 1\nseed {}\nmembers {}\nat {}\nevents {}\n",
            self.seed, self.members, self.at_ms, self.events
        );
        for step in &self.log {
            s += &format!("{} {}\n", step.at_ms, input_text(&step.input));
        }
        s
    }

    /// Reads the text form.
    pub fn from_text(text: &str) -> Result<Self, ScriptError> {
        let mut lines = text.lines().enumerate();
        let mut header = |name: &str| -> Result<u64, ScriptError> {
            let (n, line) = lines
                .next()
                .ok_or_else(|| ScriptError(format!("missing `{name}` line")))?;
            let value = line
                .strip_prefix(name)
                .and_then(|v| v.strip_prefix(' '))
                .ok_or_else(|| ScriptError(format!("line {}: expected `{name} <n>`", n + 1)))?;
            value
                .trim()
                .parse()
                .map_err(|_| ScriptError(format!("line {}: bad number {value:?}", n + 1)))
        };
        if header("orrery-run")? != 1 {
            return Err(ScriptError("unknown script version (expected 1)".into()));
        }
        let seed = header("seed")?;
        let members = header("members")?;
        if !(1..=9).contains(&members) {
            return Err(ScriptError(format!("members must be 1..9, got {members}")));
        }
        let at_ms = header("at")?;
        let events = header("events")?;
        let mut log = Vec::new();
        for (n, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            if log.len() == MAX_STEPS {
                return Err(ScriptError(format!("more than {MAX_STEPS} inputs")));
            }
            let step = step(line).map_err(|e| ScriptError(format!("line {}: {e}", n + 1)))?;
            if log.last().is_some_and(|l: &Step| l.at_ms > step.at_ms) {
                return Err(ScriptError(format!("line {}: inputs out of order", n + 1)));
            }
            log.push(step);
        }
        Ok(Self {
            seed,
            members: members as usize,
            at_ms,
            events,
            log,
        })
    }

    /// The share link's fragment (without `#`).
    pub fn to_link(&self) -> String {
        let packed = miniz_oxide::deflate::compress_to_vec(self.to_text().as_bytes(), 9);
        format!("{LINK_PREFIX}{}", base64url(&packed))
    }

    /// Reads a share link's fragment (with or without `#`).
    pub fn from_link(fragment: &str) -> Result<Self, ScriptError> {
        let body = fragment
            .trim_start_matches('#')
            .strip_prefix(LINK_PREFIX)
            .ok_or_else(|| ScriptError("not an Orrery run link (expected #v1.…)".into()))?;
        let packed = unbase64url(body).ok_or_else(|| ScriptError("the link is damaged".into()))?;
        let text = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_SCRIPT_BYTES)
            .map_err(|_| ScriptError("the link is damaged or too large".into()))?;
        let text =
            String::from_utf8(text).map_err(|_| ScriptError("the link is damaged".into()))?;
        Self::from_text(&text)
    }
}

fn member(m: MemberId) -> String {
    format!("n{m}")
}

fn params(p: &NetworkParams) -> String {
    format!(
        "{} {} {} {}",
        p.latency_min_ms, p.latency_max_ms, p.loss_permille, p.duplicate_permille
    )
}

fn input_text(input: &UserInput) -> String {
    match input {
        UserInput::Crash(m) => format!("crash {}", member(*m)),
        UserInput::Restart(m) => format!("restart {}", member(*m)),
        UserInput::Isolate(m) => format!("isolate {}", member(*m)),
        UserInput::Cut(a, b) => format!("cut {} {}", member(*a), member(*b)),
        UserInput::Restore(a, b) => format!("restore {} {}", member(*a), member(*b)),
        UserInput::Partition(groups) => {
            let groups: Vec<String> = groups
                .iter()
                .map(|g| g.iter().map(|m| member(*m)).collect::<Vec<_>>().join(","))
                .collect();
            format!("partition {}", groups.join(" "))
        }
        UserInput::Heal => "heal".into(),
        UserInput::Network(p) => format!("net {}", params(p)),
        UserInput::Link(a, b, p) => format!(
            "link {} {} {}",
            member(*a),
            member(*b),
            p.as_ref().map_or("default".into(), params)
        ),
        UserInput::Workload(on) => format!("workload {}", if *on { "on" } else { "off" }),
        UserInput::Console {
            member: m,
            line,
            stdin,
        } => {
            let mut text = escape(line);
            if !stdin.is_empty() {
                text += "\\n";
                text += &escape(stdin);
            }
            format!("console {} {text}", member(*m))
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

fn step(line: &str) -> Result<Step, String> {
    let (at, rest) = line.split_once(' ').ok_or("expected `<ms> <input>`")?;
    let at_ms = at.parse().map_err(|_| format!("bad time {at:?}"))?;
    let (verb, args) = rest.split_once(' ').unwrap_or((rest, ""));
    let words: Vec<&str> = args.split_whitespace().collect();
    let m = |w: &str| -> Result<MemberId, String> {
        w.strip_prefix('n')
            .and_then(|n| n.parse().ok())
            .filter(|n| (1..=9).contains(n))
            .ok_or(format!("bad member {w:?} (n1..n9)"))
    };
    let one = || -> Result<MemberId, String> {
        match words.as_slice() {
            [w] => m(w),
            _ => Err(format!("`{verb}` takes one member")),
        }
    };
    let two = || -> Result<(MemberId, MemberId), String> {
        match words.as_slice() {
            [a, b, ..] => Ok((m(a)?, m(b)?)),
            _ => Err(format!("`{verb}` takes two members")),
        }
    };
    let net = |w: &[&str]| -> Result<NetworkParams, String> {
        let n: Vec<u64> = w
            .iter()
            .map(|x| x.parse().map_err(|_| format!("bad number {x:?}")))
            .collect::<Result<_, _>>()?;
        let [min, max, loss, dup] = n[..] else {
            return Err("expected <min ms> <max ms> <loss ‰> <duplicate ‰>".into());
        };
        if min > max || loss > 1000 || dup > 1000 || max > 60_000 {
            return Err("latency min ≤ max ≤ 60000 ms, rates ≤ 1000 ‰".into());
        }
        Ok(NetworkParams {
            latency_min_ms: min,
            latency_max_ms: max,
            loss_permille: loss as u32,
            duplicate_permille: dup as u32,
        })
    };
    let input = match verb {
        "crash" => UserInput::Crash(one()?),
        "restart" => UserInput::Restart(one()?),
        "isolate" => UserInput::Isolate(one()?),
        "cut" => two().map(|(a, b)| UserInput::Cut(a, b))?,
        "restore" => two().map(|(a, b)| UserInput::Restore(a, b))?,
        "heal" => UserInput::Heal,
        "partition" => UserInput::Partition(
            words
                .iter()
                .map(|g| g.split(',').map(m).collect::<Result<Vec<_>, _>>())
                .collect::<Result<_, _>>()?,
        ),
        "net" => UserInput::Network(net(&words)?),
        "link" => {
            let (a, b) = two()?;
            let p = match &words[2..] {
                ["default"] => None,
                w => Some(net(w)?),
            };
            UserInput::Link(a, b, p)
        }
        "workload" => match args {
            "on" => UserInput::Workload(true),
            "off" => UserInput::Workload(false),
            _ => return Err("expected `workload on|off`".into()),
        },
        "console" => {
            let (who, text) = args
                .split_once(' ')
                .ok_or("expected `console <member> <line>`")?;
            let text = unescape(text);
            let (line, stdin) = text.split_once('\n').unwrap_or((&text, ""));
            UserInput::Console {
                member: m(who)?,
                line: line.to_owned(),
                stdin: stdin.to_owned(),
            }
        }
        other => return Err(format!("unknown input `{other}`")),
    };
    Ok(Step { at_ms, input })
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with the URL-safe alphabet and no padding.
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn unbase64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
