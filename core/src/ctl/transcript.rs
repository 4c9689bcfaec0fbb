//! Console transcripts: a sequence of commands with what each printed, in a text form that
//! can be recorded from the real etcdctl against the real etcd and compared with the
//! console's own output (`core/tests/console/`).
//!
//! ```text
//! $ txn -i                 a command
//! < mod("k") > "0"         a line of its standard input
//! SUCCESS                  a line of its standard output
//! ! Error: …               the last line of its standard error
//! ! exit 1                 its exit code, when not 0
//! $ watch foo &            a command started in the background (job 1, 2, … in order)
//! $ kill %1                stops job 1 and shows what it printed while it ran
//! ```
//!
//! Values that differ between two clusters (member, cluster and lease IDs, addresses,
//! remaining TTLs) are written as placeholders: `<member>`, `<cluster>`, `<lease1>`, ….
//! Commands may use the lease placeholders; [`Masks::unmask`] puts the real IDs back.

use super::Printed;

/// One command of a transcript.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// The command line.
    pub command: String,
    /// Its standard input (lines joined with `\n`, each ending with one).
    pub stdin: String,
}

impl Step {
    /// The command line of a background job (`… &`).
    pub fn background(&self) -> Option<&str> {
        self.command.strip_suffix(" &")
    }

    /// The job a `kill %N` stops (1 = the first job started).
    pub fn killed_job(&self) -> Option<usize> {
        self.command.strip_prefix("kill %")?.parse().ok()
    }
}

/// Reads the commands (and their input) from a transcript, ignoring what they printed.
pub fn steps(transcript: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for line in transcript.lines() {
        if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: cmd.to_owned(),
                stdin: String::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            // `< text` or a bare `<` (an empty line); output such as `<lease1>` is not input.
            let input = if line == "<" {
                Some("")
            } else {
                line.strip_prefix("< ")
            };
            if let Some(input) = input {
                step.stdin.push_str(input);
                step.stdin.push('\n');
            }
        }
    }
    steps
}

/// Writes one step and what it printed.
pub fn render(step: &Step, printed: &Printed, masks: &Masks) -> String {
    let mut out = format!("$ {}\n", step.command);
    for line in step.stdin.lines() {
        out += &format!("< {line}\n").replace("< \n", "<\n");
    }
    out += &masks.mask(&printed.stdout);
    if !printed.stdout.is_empty() && !printed.stdout.ends_with('\n') {
        out.push('\n');
    }
    // etcdctl may log warnings before its error and print usage after it: the `Error:`
    // line is the one that says what happened.
    let lines = || printed.stderr.lines().rev();
    let error = lines().find(|l| l.starts_with("Error:"));
    if let Some(last) = error.or_else(|| lines().find(|l| !l.trim().is_empty())) {
        out += &format!("! {}\n", masks.mask(last));
    }
    if printed.exit != 0 {
        out += &format!("! exit {}\n", printed.exit);
    }
    out
}

/// Real values and their placeholders.
#[derive(Clone, Debug, Default)]
pub struct Masks {
    member: u64,
    cluster: u64,
    /// (real text, placeholder): addresses, replaced wherever they occur.
    texts: Vec<(String, String)>,
    /// Lease IDs in the order they were granted (`<lease1>`, …).
    leases: Vec<i64>,
}

impl Masks {
    /// Masks for a member (`<member>`), its cluster (`<cluster>`), the address etcdctl names
    /// it by (`<endpoint>`) and its peer and client URLs.
    pub fn new(
        member: u64,
        cluster: u64,
        endpoint: &str,
        peer_url: &str,
        client_url: &str,
    ) -> Self {
        Self {
            member,
            cluster,
            texts: vec![
                (peer_url.to_owned(), "<peer-url>".to_owned()),
                (client_url.to_owned(), "<client-url>".to_owned()),
                (endpoint.to_owned(), "<endpoint>".to_owned()),
            ],
            leases: Vec::new(),
        }
    }

    /// Learns the lease ID a `lease grant` printed (`lease … granted`, `"ID":…`).
    pub fn learn_leases(&mut self, step: &Step, stdout: &str) {
        if !step.command.contains("lease grant") {
            return;
        }
        let hex = stdout
            .strip_prefix("lease ")
            .and_then(|r| r.split_whitespace().next())
            .filter(|_| stdout.contains(" granted with TTL("))
            .and_then(|h| i64::from_str_radix(h, 16).ok());
        let json = stdout
            .split_once("\"ID\":")
            .and_then(|(_, r)| r.split([',', '}']).next())
            .and_then(|d| d.trim().parse::<i64>().ok());
        if let Some(id) = hex.or(json) {
            if !self.leases.contains(&id) {
                self.leases.push(id);
            }
        }
    }

    /// Learns the session leases in the keys a `lock` or `elect` job printed
    /// (`<name>/<lease in hex>`).
    pub fn learn_session_keys(&mut self, stdout: &str) {
        for line in stdout.lines() {
            let Some((_, hex)) = line.rsplit_once('/') else {
                continue;
            };
            if hex.len() < 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            if let Ok(id) = i64::from_str_radix(hex, 16) {
                if !self.leases.contains(&id) {
                    self.leases.push(id);
                }
            }
        }
    }

    /// Replaces real values by placeholders, and remaining TTLs (which depend on timing)
    /// by `<n>`.
    pub fn mask(&self, text: &str) -> String {
        let mut s = text.to_owned();
        for (i, id) in self.leases.iter().enumerate() {
            let name = format!("<lease{}>", i + 1);
            s = replace_word(&s, &format!("{id:016x}"), &name);
            s = replace_word(&s, &format!("{id:x}"), &name);
            s = replace_word(&s, &id.to_string(), &name);
        }
        for key in ["cluster_id", "member_id", "leader", "ID"] {
            s = self.mask_json_id(&s, &format!("\"{key}\":"));
        }
        // `member list`: the ID starts the line.
        s = s
            .lines()
            .map(|l| match l.strip_prefix(&format!("{:x}, ", self.member)) {
                Some(rest) => format!("<member>, {rest}\n"),
                None => format!("{l}\n"),
            })
            .collect::<String>();
        if !text.ends_with('\n') {
            s.pop();
        }
        for (real, placeholder) in &self.texts {
            if !real.is_empty() {
                s = s.replace(real, placeholder);
            }
        }
        for prefix in ["remaining(", "\"ttl\":"] {
            s = mask_number_after(&s, prefix);
        }
        s
    }

    /// `"key":<the member or cluster ID in decimal>` → `"key":<member>` / `<cluster>`.
    fn mask_json_id(&self, s: &str, key: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find(key) {
            let (head, tail) = rest.split_at(at + key.len());
            out += head;
            let end = tail
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(tail.len());
            match tail[..end].parse::<u64>() {
                Ok(v) if v == self.member => out += "<member>",
                Ok(v) if v == self.cluster => out += "<cluster>",
                _ => out += &tail[..end],
            }
            rest = &tail[end..];
        }
        out + rest
    }

    /// Replaces lease placeholders in a command by the real IDs.
    pub fn unmask(&self, command: &str) -> String {
        let mut s = command.to_owned();
        for (i, id) in self.leases.iter().enumerate() {
            s = s.replace(&format!("<lease{}>", i + 1), &format!("{id:016x}"));
        }
        s
    }
}

/// Replaces `real` where it is not part of a longer word or number.
fn replace_word(s: &str, real: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(real) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + real.len()..].chars().next();
        let alone = !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric());
        out += &rest[..at];
        out += if alone { placeholder } else { real };
        rest = &rest[at + real.len()..];
    }
    out + rest
}

fn mask_number_after(s: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(prefix) {
        let (head, tail) = rest.split_at(at + prefix.len());
        out += head;
        let digits = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(tail.len());
        if digits > 0 {
            out += "<n>";
        }
        rest = &tail[digits..];
    }
    out + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_render_and_mask() {
        let t = "$ put a b\nOK\n$ txn\n< put a c\n<\n! Error: EOF\n! exit 3\n";
        let s = steps(t);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].stdin, "put a c\n\n");
        let mut masks = Masks::new(
            0x8e9e05c52164694d,
            7,
            "127.0.0.1:1",
            "http://p:2380",
            "http://c:2379",
        );
        let grant = Step {
            command: "lease grant 60".into(),
            stdin: String::new(),
        };
        masks.learn_leases(&grant, "lease 694d77aa9e38260f granted with TTL(60s)\n");
        let printed = Printed {
            stdout: "lease 694d77aa9e38260f granted with TTL(60s), remaining(59s)\n".into(),
            stderr: "noise\nError: etcdserver: no leader\n".into(),
            exit: 1,
        };
        let step = Step {
            command: "lease timetolive <lease1>".into(),
            stdin: String::new(),
        };
        assert_eq!(
            render(&step, &printed, &masks),
            "$ lease timetolive <lease1>\nlease <lease1> granted with TTL(60s), remaining(<n>s)\n! Error: etcdserver: no leader\n! exit 1\n"
        );
        masks.learn_session_keys("lock/1a2b3c4d5e6f7\n\n");
        assert_eq!(masks.mask("lock/1a2b3c4d5e6f7\n"), "lock/<lease2>\n");
        let bg = Step {
            command: "watch foo &".into(),
            stdin: String::new(),
        };
        assert_eq!(bg.background(), Some("watch foo"));
        assert_eq!(step.background(), None);
        let kill = Step {
            command: "kill %2".into(),
            stdin: String::new(),
        };
        assert_eq!(kill.killed_job(), Some(2));
        assert_eq!(
            masks.unmask("put --lease=<lease1> k v"),
            "put --lease=694d77aa9e38260f k v"
        );
    }
}
