//! The datadriven file format of etcd-io/raft's `testdata/*.txt`, with rewriting.
//!
//! ```text
//! # a comment
//! command arg key=value
//! optional input lines
//! ----
//! expected output, ended by a blank line
//! ```
//!
//! Output that contains blank lines is written between doubled separators (`----` twice before,
//! `----` twice after). `ORRERY_REWRITE=1` rewrites every file with the actual output.

use std::fmt::Write as _;

/// One block: a command, its input and the output it should print.
#[derive(Clone, Debug)]
pub struct Case {
    /// 1-based line of the command, for messages.
    pub line: usize,
    /// The command line, split into words (see [`split_words`]).
    pub words: Vec<String>,
    /// Input lines between the command and the separator.
    pub input: Vec<String>,
    /// Expected output (lines joined with `\n`, no trailing newline).
    pub expected: String,
}

/// A parsed file: verbatim text between cases, and the cases.
#[derive(Clone, Debug)]
pub struct Script {
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    Case { header: String, case: Case },
}

impl Script {
    /// Parses a file. Panics with the line number on malformed input.
    pub fn parse(text: &str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let mut parts = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            if line.trim().is_empty() || line.starts_with('#') {
                parts.push(Part::Text(format!("{line}\n")));
                i += 1;
                continue;
            }
            let start = i;
            let mut header = String::new();
            let mut input = Vec::new();
            writeln!(header, "{line}").unwrap();
            i += 1;
            while i < lines.len() && lines[i] != "----" {
                assert!(
                    !lines[i].trim().is_empty(),
                    "line {}: blank line before ----",
                    i + 1
                );
                input.push(lines[i].to_owned());
                writeln!(header, "{}", lines[i]).unwrap();
                i += 1;
            }
            assert!(i < lines.len(), "line {}: command without ----", start + 1);
            i += 1;
            let mut out = Vec::new();
            if i < lines.len() && lines[i] == "----" {
                // Doubled separators: read until "----\n----".
                i += 1;
                while i + 1 < lines.len() && !(lines[i] == "----" && lines[i + 1] == "----") {
                    out.push(lines[i]);
                    i += 1;
                }
                assert!(
                    i + 1 < lines.len(),
                    "line {}: unterminated ----/----",
                    start + 1
                );
                i += 2;
            } else {
                while i < lines.len() && !lines[i].is_empty() {
                    out.push(lines[i]);
                    i += 1;
                }
            }
            let case = Case {
                line: start + 1,
                words: split_words(line).unwrap_or_else(|e| panic!("line {}: {e}", start + 1)),
                input,
                expected: out.join("\n"),
            };
            parts.push(Part::Case { header, case });
        }
        Self { parts }
    }

    /// The cases, in order.
    pub fn cases(&self) -> impl Iterator<Item = &Case> {
        self.parts.iter().filter_map(|p| match p {
            Part::Case { case, .. } => Some(case),
            Part::Text(_) => None,
        })
    }

    /// Whether a `# etcd: skip` line marks the file as core-only.
    pub fn core_only(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Text(t) if t.starts_with("# etcd: skip")))
    }

    /// The file with every expected output replaced by `actual[i]`.
    pub fn rewrite(&self, actual: &[String]) -> String {
        let mut out = String::new();
        let mut outputs = actual.iter();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Case { header, .. } => {
                    out.push_str(header);
                    let got = outputs.next().expect("an output per case");
                    if got.lines().any(|l| l.is_empty()) {
                        writeln!(out, "----\n----\n{got}\n----\n----").unwrap();
                    } else {
                        writeln!(out, "----\n{got}").unwrap();
                    }
                }
            }
        }
        // The blank line after the last case is implied by the end of the file.
        while out.ends_with("\n\n") {
            out.pop();
        }
        out
    }
}

/// Splits a command line into words: spaces separate, `"…"` quotes (with `\"`, `\\`, `\n`,
/// `\0` and `\xNN` escapes), so `put k ""` has an empty value and `"\0"` is a zero byte.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut word = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next().ok_or("unterminated quote")? {
                    '"' => break,
                    '\\' => word.push(unescape(&mut chars)?),
                    c => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
    Ok(words)
}

fn unescape(chars: &mut impl Iterator<Item = char>) -> Result<char, String> {
    Ok(match chars.next().ok_or("dangling backslash")? {
        'n' => '\n',
        '0' => '\0',
        'x' => {
            let hex: String = chars.take(2).collect();
            let v = u8::from_str_radix(&hex, 16).map_err(|_| format!("bad escape \\x{hex}"))?;
            char::from(v)
        }
        c @ ('"' | '\\') => c,
        c => return Err(format!("unknown escape \\{c}")),
    })
}
