//! etcdctl 3.4's command language over the core's own request types: the playground's
//! console and (later) `orreryctl` parse a typed line into a [`ClientRequest`], send it
//! through the real apply path, and print the answer exactly as etcdctl prints it
//! (etcdctl/ctlv3/command/*_command.go and printer_*.go).
//!
//! ```text
//!  "get foo -w json" ──parse──> Invocation ──request()──> ClientRequest ──> member
//!                                   │                                          │
//!  stdout / stderr / exit  <──print()───────── Result<ClientResponse, EtcdError> ┘
//! ```
//!
//! Commands that need no member (`help`, `version`) and errors found while parsing are
//! printed at once by [`run_local`].

mod args;
mod json;
mod lock;
mod parse;
mod print;
mod table;
pub mod transcript;
mod watch;

pub use args::split;
pub use lock::{print_session, Session};
pub use parse::{parse, parse_with_stdin};
pub use print::print;
pub use watch::print_watch;

use crate::request::{CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest};
use crate::server::ClientRequest;

/// etcdctl's exit codes (etcdctl/ctlv3/command/error.go).
pub mod exit {
    /// Success.
    pub const SUCCESS: u8 = 0;
    /// A server or client error.
    pub const ERROR: u8 = 1;
    /// Invalid input (txn, watch).
    pub const INVALID_INPUT: u8 = 3;
    /// A valid flag with an unsupported value (`-w table` on `get`).
    pub const BAD_FEATURE: u8 = 4;
    /// A watch canceled by the server.
    pub const INTERRUPTED: u8 = 5;
    /// Bad arguments.
    pub const BAD_ARGS: u8 = 128;
}

/// A command line etcdctl would refuse, with its message and exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtlError {
    /// The text after `Error: `.
    pub message: String,
    /// The exit code.
    pub exit: u8,
}

impl CtlError {
    pub(crate) fn args(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit: exit::BAD_ARGS,
        }
    }

    /// cobra's own errors (unknown flags and commands): etcdctl exits with 1 for them.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit: exit::ERROR,
        }
    }

    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit: exit::INVALID_INPUT,
        }
    }

    pub(crate) fn feature(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit: exit::BAD_FEATURE,
        }
    }
}

/// `-w`/`--write-out`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// One item per line (the default).
    #[default]
    Simple,
    /// Go `encoding/json` of the response.
    Json,
    /// A bordered table (`member list`, `endpoint status`, `endpoint hashkv` only).
    Table,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// What to do.
    pub command: Command,
    /// How to print the answer.
    pub output: OutputFormat,
    /// `--hex`: keys and values as `\xNN` escapes.
    pub hex: bool,
}

/// One etcdctl command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `put <key> <value>`.
    Put(PutRequest),
    /// `get <key> [range_end]`.
    Get {
        /// The range read.
        request: RangeRequest,
        /// `--print-value-only`.
        print_value_only: bool,
    },
    /// `del <key> [range_end]`.
    Del(DeleteRangeRequest),
    /// `txn [-i]`, with its compares and operations read from the lines after it.
    Txn {
        /// The transaction.
        request: TxnRequest,
        /// `-i`: print the prompts.
        interactive: bool,
    },
    /// `compaction <revision>`.
    Compaction(CompactionRequest),
    /// `lease grant <ttl>`.
    LeaseGrant {
        /// Seconds.
        ttl: i64,
    },
    /// `lease revoke <id>`.
    LeaseRevoke {
        /// The lease.
        id: i64,
    },
    /// `lease timetolive <id> [--keys]`.
    LeaseTimeToLive {
        /// The lease.
        id: i64,
        /// List the attached keys.
        keys: bool,
    },
    /// `lease list`.
    LeaseList,
    /// `lease keep-alive --once <id>`.
    LeaseKeepAliveOnce {
        /// The lease.
        id: i64,
    },
    /// `member list`.
    MemberList,
    /// `endpoint status`.
    EndpointStatus,
    /// `endpoint hashkv [--rev]`.
    EndpointHashKv {
        /// The revision (0 = current).
        revision: i64,
    },
    /// `alarm list`.
    AlarmList,
    /// `move-leader <id>`.
    MoveLeader {
        /// The member that should lead.
        target: u64,
    },
    /// `watch`: events keep printing until the watcher is canceled (see
    /// [`print_watch`]).
    Watch(crate::watch::WatchCreateRequest),
    /// `lock <name>`: holds the lock until the session expires (see [`print_session`]).
    Lock(Session),
    /// `elect <name> <proposal>`: campaigns, then leads until the session expires; or
    /// `elect -l <name>`: prints every new leader.
    Elect(Session),
    /// `version`.
    Version,
    /// `help`.
    Help,
}

impl Invocation {
    /// The session a `lock` or `elect` runs (no single request answers them either).
    pub fn session(&self) -> Option<&Session> {
        match &self.command {
            Command::Lock(s) | Command::Elect(s) => Some(s),
            _ => None,
        }
    }

    /// The watcher to create, for `watch` (which no single request answers).
    pub fn watch(&self) -> Option<&crate::watch::WatchCreateRequest> {
        match &self.command {
            Command::Watch(w) => Some(w),
            _ => None,
        }
    }

    /// The request to send, or `None` for a command answered without a member.
    pub fn request(&self) -> Option<ClientRequest> {
        use crate::request::AlarmRequest;
        Some(match &self.command {
            Command::Put(p) => ClientRequest::Put(p.clone()),
            Command::Get { request, .. } => ClientRequest::Range(request.clone()),
            Command::Del(d) => ClientRequest::DeleteRange(d.clone()),
            Command::Txn { request, .. } => ClientRequest::Txn(request.clone()),
            Command::Compaction(c) => ClientRequest::Compact(*c),
            Command::LeaseGrant { ttl } => {
                ClientRequest::LeaseGrant(crate::request::LeaseGrantRequest { ttl: *ttl, id: 0 })
            }
            Command::LeaseRevoke { id } => {
                ClientRequest::LeaseRevoke(crate::request::LeaseRevokeRequest { id: *id })
            }
            Command::LeaseTimeToLive { id, keys } => ClientRequest::LeaseTimeToLive {
                id: *id,
                keys: *keys,
            },
            Command::LeaseList => ClientRequest::LeaseLeases,
            Command::LeaseKeepAliveOnce { id } => ClientRequest::LeaseKeepAlive { id: *id },
            Command::MemberList => ClientRequest::MemberList,
            Command::EndpointStatus => ClientRequest::Status,
            Command::EndpointHashKv { revision } => ClientRequest::HashKv {
                revision: *revision,
            },
            Command::AlarmList => ClientRequest::Alarm(AlarmRequest::default()),
            Command::MoveLeader { target } => ClientRequest::MoveLeader { target: *target },
            Command::Watch(_)
            | Command::Lock(_)
            | Command::Elect(_)
            | Command::Version
            | Command::Help => return None,
        })
    }
}

/// What a command printed and how it exited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Printed {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exit code.
    pub exit: u8,
}

impl Printed {
    pub(crate) fn error(e: &CtlError) -> Self {
        Self {
            stdout: String::new(),
            stderr: format!("Error: {}\n", e.message),
            exit: e.exit,
        }
    }
}

/// Where the command ran, for the lines that name it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// As etcdctl prints it (`127.0.0.1:2379`).
    pub address: String,
}

/// Prints what needs no member: `help`, `version`, or the error of a line that did not
/// parse.
pub fn run_local(parsed: &Result<Invocation, CtlError>) -> Option<Printed> {
    match parsed {
        Err(e) => Some(Printed::error(e)),
        Ok(inv) => match inv.command {
            Command::Version => Some(Printed {
                stdout: "etcdctl version: 3.4.23\nAPI version: 3.4\n".into(),
                ..Printed::default()
            }),
            Command::Help => Some(Printed {
                stdout: parse::HELP.into(),
                ..Printed::default()
            }),
            _ => None,
        },
    }
}
