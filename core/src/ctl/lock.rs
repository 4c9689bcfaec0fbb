//! `lock` and `elect`: parsed into a session (see `crate::sim::console_lock`), and its
//! outcome printed as etcdctl prints it (lock_command.go, elect_command.go).

use super::args::Args;
use super::{exit, Command, CtlError, Invocation, Printed};
use crate::sim::SessionOutcome;

/// The session a `lock` or `elect` runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The lock's or election's name.
    pub name: String,
    /// The key's value: empty for a lock, the proposal for an election.
    pub value: String,
    /// The session lease's TTL, in seconds.
    pub ttl: i64,
    /// `elect -l`: observe the election instead of campaigning.
    pub observe: bool,
}

/// `lock [--ttl=10] <lockname>`.
pub(super) fn parse_lock(pos: &[String], args: &Args) -> Result<Command, CtlError> {
    let Some(name) = pos.first() else {
        return Err(CtlError::args(
            "lock takes a lock name argument and an optional command to execute",
        ));
    };
    if pos.len() > 1 {
        return Err(CtlError::feature(
            "the console cannot run a command while holding the lock; type `lock <name>`",
        ));
    }
    Ok(Command::Lock(Session {
        name: name.clone(),
        value: String::new(),
        ttl: args.int("ttl", 10)?,
        observe: false,
    }))
}

/// `elect <election-name> <proposal>`, or `elect -l <election-name>` to observe.
pub(super) fn parse_elect(pos: &[String], args: &Args) -> Result<Command, CtlError> {
    let listen = args.bool("listen")?;
    match (pos, listen) {
        ([_], false) => Err(CtlError::args("no proposal argument but -l not set")),
        ([_, _], true) => Err(CtlError::args("proposal given but -l is set")),
        ([name], true) => Ok(Command::Elect(Session {
            name: name.clone(),
            value: String::new(),
            ttl: 60,
            observe: true,
        })),
        ([name, proposal], false) => Ok(Command::Elect(Session {
            name: name.clone(),
            value: proposal.clone(),
            ttl: 60,
            observe: false,
        })),
        _ => Err(CtlError::args(
            "elect takes one election name argument and an optional proposal argument",
        )),
    }
}

/// What a `lock` or `elect` prints when its session gets somewhere.
pub fn print_session(inv: &Invocation, outcome: &SessionOutcome) -> Printed {
    let elect = matches!(inv.command, Command::Elect(_));
    match outcome {
        SessionOutcome::Acquired { key, value } => {
            let text = |b: &[u8]| {
                if inv.hex {
                    super::print::hex(b)
                } else {
                    String::from_utf8_lossy(b).into_owned()
                }
            };
            Printed {
                stdout: format!("{}\n{}\n", text(key), text(value)),
                ..Printed::default()
            }
        }
        SessionOutcome::Failed(e) => Printed::error(&CtlError {
            message: e.message().to_owned(),
            exit: exit::ERROR,
        }),
        SessionOutcome::Expired => Printed::error(&CtlError {
            message: if elect {
                "elect: session expired".into()
            } else {
                "session expired".into()
            },
            exit: exit::ERROR,
        }),
    }
}
