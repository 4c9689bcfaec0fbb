//! From a typed line to an [`Invocation`], with etcdctl's flags, defaults and errors.

use super::args::{split, Args, FlagSpec};
use super::{Command, CtlError, Invocation, OutputFormat};
use crate::mvcc::prefix_end;
use crate::request::*;
use bytes::Bytes;

/// `help`'s text: the commands the console knows.
pub(crate) const HELP: &str = "\
Commands (etcdctl 3.4 syntax; a leading `etcdctl` is accepted):
  put [--lease=<id>] [--prev-kv] [--ignore-value] [--ignore-lease] <key> <value>
  get [--prefix|--from-key] [--limit=N] [--rev=N] [--keys-only] [--print-value-only]
      [--order=ASCEND|DESCEND] [--sort-by=KEY|CREATE|MODIFY|VALUE|VERSION]
      [--consistency=l|s] <key> [range_end]
  del [--prefix|--from-key] [--prev-kv] <key> [range_end]
  txn [-i]   (then compares, a blank line, success ops, a blank line, failure ops, a blank line)
  compaction [--physical] <revision>
  watch [--prefix] [--rev=N] [--prev-kv] <key> [range_end]   (keeps printing events)
  lock [--ttl=10] <name>   (prints the lock's key once held; holds it while the session lives)
  elect <name> <proposal>  (prints the leader key and proposal once elected)
  elect -l <name>          (prints each new leader's key and proposal)
  lease grant <ttl> | revoke <id> | timetolive <id> [--keys] | list | keep-alive --once <id>
  member list
  endpoint status | endpoint hashkv [--rev=N]
  alarm list
  move-leader <member id>
  version, help
Global flags: -w/--write-out simple|json|table, --hex
";

/// Flags every command takes.
const GLOBAL: &[FlagSpec] = &[
    ("write-out", Some('w'), true),
    ("hex", None, false),
    ("endpoints", None, true),
    ("command-timeout", None, true),
    ("dial-timeout", None, true),
];

/// Parses a command line (without input on stdin).
pub fn parse(line: &str) -> Result<Invocation, CtlError> {
    parse_with_stdin(line, "")
}

/// Parses a command line; `stdin` is what etcdctl would read from standard input (`txn`'s
/// compares and operations, `put`'s value when it has one argument).
pub fn parse_with_stdin(line: &str, stdin: &str) -> Result<Invocation, CtlError> {
    let mut words = split(line)?;
    if words.first().is_some_and(|w| w == "etcdctl") {
        words.remove(0);
    }
    let Some(name) = words.first().cloned() else {
        return Err(CtlError::usage("no command given; type `help`"));
    };
    // A command with a subcommand (`lease grant`) takes the next positional word.
    let group = matches!(name.as_str(), "lease" | "member" | "endpoint" | "alarm");
    let specs: Vec<FlagSpec> = GLOBAL.iter().chain(flags_of(&name)).copied().collect();
    let args = Args::parse(&words[1..], &specs)?;
    let output = match args.value("write-out").unwrap_or("simple") {
        "simple" => OutputFormat::Simple,
        "json" => OutputFormat::Json,
        "table" => OutputFormat::Table,
        "fields" | "protobuf" => {
            return Err(CtlError::feature(format!(
                "the console does not print -w {} yet (simple, json and table work)",
                args.value("write-out").unwrap_or_default()
            )))
        }
        _ => return Err(CtlError::feature("unsupported output format")),
    };
    let mut pos = args.positional.clone();
    let sub = if group && !pos.is_empty() {
        Some(pos.remove(0))
    } else {
        None
    };
    let command = command(&name, sub.as_deref(), &pos, &args, stdin)?;
    Ok(Invocation {
        command,
        output,
        hex: args.bool("hex")?,
    })
}

/// The flags of a command (subcommands share their group's list).
fn flags_of(name: &str) -> &'static [FlagSpec] {
    match name {
        "put" => &[
            ("lease", None, true),
            ("prev-kv", None, false),
            ("ignore-value", None, false),
            ("ignore-lease", None, false),
        ],
        "get" => &[
            ("consistency", None, true),
            ("order", None, true),
            ("sort-by", None, true),
            ("limit", None, true),
            ("prefix", None, false),
            ("from-key", None, false),
            ("rev", None, true),
            ("keys-only", None, false),
            ("print-value-only", None, false),
        ],
        "del" => &[
            ("prefix", None, false),
            ("prev-kv", None, false),
            ("from-key", None, false),
        ],
        "txn" => &[("interactive", Some('i'), false)],
        "lock" => &[("ttl", None, true)],
        "elect" => &[("listen", Some('l'), false)],
        "watch" => &[
            ("interactive", Some('i'), false),
            ("prefix", None, false),
            ("rev", None, true),
            ("prev-kv", None, false),
        ],
        "compaction" => &[("physical", None, false)],
        "lease" => &[("keys", None, false), ("once", None, false)],
        "endpoint" => &[("rev", None, true), ("cluster", None, false)],
        _ => &[],
    }
}

fn command(
    name: &str,
    sub: Option<&str>,
    pos: &[String],
    args: &Args,
    stdin: &str,
) -> Result<Command, CtlError> {
    Ok(match (name, sub) {
        ("put", _) => Command::Put(put(pos, args, stdin)?),
        ("get", _) => {
            let (request, print_value_only) = get(pos, args)?;
            Command::Get {
                request,
                print_value_only,
            }
        }
        ("del", _) => Command::Del(del(pos, args)?),
        ("txn", _) => {
            if !pos.is_empty() {
                return Err(CtlError::args("txn command does not accept argument"));
            }
            Command::Txn {
                request: txn(stdin)?,
                interactive: args.bool("interactive")?,
            }
        }
        ("compaction", _) => {
            let [rev] = pos else {
                return Err(CtlError::args("compaction command needs 1 argument"));
            };
            let revision = rev.parse().map_err(|_| CtlError {
                message: format!("strconv.ParseInt: parsing {rev:?}: invalid syntax"),
                exit: super::exit::ERROR,
            })?;
            Command::Compaction(CompactionRequest {
                revision,
                physical: args.bool("physical")?,
            })
        }
        ("lease", Some("grant")) => {
            let [ttl] = pos else {
                return Err(CtlError::args("lease grant command needs TTL argument"));
            };
            let ttl = ttl.parse().map_err(|_| {
                CtlError::args(format!(
                    "bad TTL (strconv.ParseInt: parsing {ttl:?}: invalid syntax)"
                ))
            })?;
            Command::LeaseGrant { ttl }
        }
        ("lease", Some("revoke")) => {
            let [id] = pos else {
                return Err(CtlError::args("lease revoke command needs 1 argument"));
            };
            Command::LeaseRevoke { id: lease_id(id)? }
        }
        ("lease", Some("timetolive")) => {
            let [id] = pos else {
                return Err(CtlError::args(
                    "lease timetolive command needs lease ID as argument",
                ));
            };
            Command::LeaseTimeToLive {
                id: lease_id(id)?,
                keys: args.bool("keys")?,
            }
        }
        ("lease", Some("list")) => Command::LeaseList,
        ("lease", Some("keep-alive")) => {
            let [id] = pos else {
                return Err(CtlError::args(
                    "lease keep-alive command needs lease ID as argument",
                ));
            };
            if !args.bool("once")? {
                return Err(CtlError::feature(
                    "the console runs `lease keep-alive --once` only",
                ));
            }
            Command::LeaseKeepAliveOnce { id: lease_id(id)? }
        }
        ("member", Some("list")) => Command::MemberList,
        ("endpoint", Some("status")) => Command::EndpointStatus,
        ("endpoint", Some("hashkv")) => Command::EndpointHashKv {
            revision: args.int("rev", 0)?,
        },
        ("alarm", Some("list")) => {
            if !pos.is_empty() {
                return Err(CtlError::args("alarm list command accepts no arguments"));
            }
            Command::AlarmList
        }
        ("move-leader", _) => {
            let [id] = pos else {
                return Err(CtlError::args("move-leader command needs 1 argument"));
            };
            let target = u64::from_str_radix(id, 16).map_err(|_| {
                CtlError::args(format!(
                    "bad member ID arg (strconv.ParseUint: parsing {id:?}: invalid syntax), expecting ID in Hex"
                ))
            })?;
            Command::MoveLeader { target }
        }
        ("watch", _) => Command::Watch(super::watch::parse(pos, args)?),
        ("lock", _) => super::lock::parse_lock(pos, args)?,
        ("elect", _) => super::lock::parse_elect(pos, args)?,
        ("version", _) => Command::Version,
        ("help", _) => Command::Help,
        (group @ ("lease" | "member" | "endpoint" | "alarm"), Some(other)) => {
            return Err(CtlError::usage(format!(
                "unknown command \"{other}\" for \"etcdctl {group}\""
            )))
        }
        (group @ ("lease" | "member" | "endpoint" | "alarm"), None) => {
            return Err(CtlError::usage(format!(
                "\"etcdctl {group}\" needs a subcommand; type `help`"
            )))
        }
        (other, _) => {
            return Err(CtlError::usage(format!(
                "unknown command \"{other}\" for \"etcdctl\""
            )))
        }
    })
}

fn lease_id(arg: &str) -> Result<i64, CtlError> {
    i64::from_str_radix(arg, 16).map_err(|_| {
        CtlError::args(format!(
            "bad lease ID arg (strconv.ParseInt: parsing {arg:?}: invalid syntax), expecting ID in Hex"
        ))
    })
}

pub(super) fn bytes(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// `--prefix` / `--from-key` / an explicit range end, as etcdctl turns them into a range.
fn key_range(
    cmd: &str,
    pos: &[String],
    prefix: bool,
    from_key: bool,
) -> Result<(Bytes, Bytes), CtlError> {
    if pos.is_empty() || pos.len() > 2 {
        return Err(CtlError::args(format!(
            "{cmd} command needs one argument as key and an optional argument as range_end"
        )));
    }
    if prefix && from_key {
        return Err(CtlError::args(
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        ));
    }
    let key = bytes(&pos[0]);
    if let Some(end) = pos.get(1) {
        if prefix || from_key {
            return Err(CtlError::args(
                "too many arguments, only accept one argument when `--prefix` or `--from-key` is set",
            ));
        }
        return Ok((key, bytes(end)));
    }
    Ok(match (prefix, from_key, key.is_empty()) {
        // An empty prefix or start key means every key: etcdctl asks from "\0".
        (true, _, true) | (_, true, true) => (Bytes::from_static(b"\0"), Bytes::from_static(b"\0")),
        (true, _, false) => {
            let end = prefix_end(&key);
            (key, end)
        }
        (_, true, false) => (key, Bytes::from_static(b"\0")),
        _ => (key, Bytes::new()),
    })
}

fn put(pos: &[String], args: &Args, stdin: &str) -> Result<PutRequest, CtlError> {
    let needs = "put command needs 1 argument and input from stdin or 2 arguments";
    let Some(key) = pos.first() else {
        return Err(CtlError::args(needs));
    };
    let ignore_value = args.bool("ignore-value")?;
    if ignore_value && pos.len() > 1 {
        return Err(CtlError::args(
            "put command needs only 1 argument when 'ignore-value' is set",
        ));
    }
    let value = if ignore_value {
        String::new()
    } else if let Some(v) = pos.get(1) {
        v.clone()
    } else if !stdin.is_empty() {
        stdin.to_owned()
    } else {
        return Err(CtlError::args(needs));
    };
    let lease = args.value("lease").unwrap_or("0");
    let lease = i64::from_str_radix(lease, 16).map_err(|_| {
        CtlError::args(format!(
            "bad lease ID (strconv.ParseInt: parsing {lease:?}: invalid syntax), expecting ID in Hex"
        ))
    })?;
    Ok(PutRequest {
        key: bytes(key),
        value: bytes(&value),
        lease,
        prev_kv: args.bool("prev-kv")?,
        ignore_value,
        ignore_lease: args.bool("ignore-lease")?,
    })
}

/// A `get`: the range and `--print-value-only`.
fn get(pos: &[String], args: &Args) -> Result<(RangeRequest, bool), CtlError> {
    let prefix = args.bool("prefix")?;
    let from_key = args.bool("from-key")?;
    if pos.is_empty() {
        return Err(CtlError::args(
            "get command needs one argument as key and an optional argument as range_end",
        ));
    }
    if prefix && from_key {
        return Err(CtlError::args(
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        ));
    }
    let serializable = match args.value("consistency").unwrap_or("l") {
        "l" => false,
        "s" => true,
        other => {
            return Err(CtlError::feature(format!(
                "unknown consistency flag {other:?}"
            )))
        }
    };
    let order = args.value("order").unwrap_or("").to_uppercase();
    let sort_order = match order.as_str() {
        "ASCEND" => SortOrder::Ascend,
        "DESCEND" => SortOrder::Descend,
        "" => SortOrder::None,
        _ => {
            return Err(CtlError::feature(format!(
                "bad sort order {}",
                args.value("order").unwrap_or_default()
            )))
        }
    };
    let target = args.value("sort-by").unwrap_or("").to_uppercase();
    let sort_target = match target.as_str() {
        "CREATE" => SortTarget::Create,
        "KEY" | "" => SortTarget::Key,
        "MODIFY" => SortTarget::Mod,
        "VALUE" => SortTarget::Value,
        "VERSION" => SortTarget::Version,
        _ => {
            return Err(CtlError::feature(format!(
                "bad sort target {}",
                args.value("sort-by").unwrap_or_default()
            )))
        }
    };
    // clientv3 drops an ascending sort by key: the server returns keys in that order anyway.
    let sort_order = if sort_target == SortTarget::Key && sort_order == SortOrder::Ascend {
        SortOrder::None
    } else {
        sort_order
    };
    let (key, range_end) = key_range("get", pos, prefix, from_key)?;
    Ok((
        RangeRequest {
            key,
            range_end,
            limit: args.int("limit", 0)?,
            revision: args.int("rev", 0)?.max(0),
            sort_order,
            sort_target,
            serializable,
            keys_only: args.bool("keys-only")?,
            ..RangeRequest::default()
        },
        args.bool("print-value-only")?,
    ))
}

fn del(pos: &[String], args: &Args) -> Result<DeleteRangeRequest, CtlError> {
    let (key, range_end) = key_range("del", pos, args.bool("prefix")?, args.bool("from-key")?)?;
    Ok(DeleteRangeRequest {
        key,
        range_end,
        prev_kv: args.bool("prev-kv")?,
    })
}

/// `txn`'s input: compares, a blank line, success operations, a blank line, failure
/// operations, a blank line (etcdctl's txn_command.go).
fn txn(stdin: &str) -> Result<TxnRequest, CtlError> {
    let mut sections: [Vec<&str>; 3] = Default::default();
    let mut section = 0;
    let mut lines = stdin.lines().map(str::trim);
    for line in lines.by_ref() {
        if line.is_empty() {
            section += 1;
            if section == 3 {
                break;
            }
            continue;
        }
        sections[section].push(line);
    }
    if section < 3 {
        // etcdctl reads until three blank lines; at the end of input it fails with EOF.
        return Err(CtlError::input("EOF"));
    }
    let compare = sections[0]
        .iter()
        .map(|l| compare(l))
        .collect::<Result<_, _>>()?;
    let ops = |lines: &[&str]| -> Result<Vec<RequestOp>, CtlError> {
        lines.iter().map(|l| op(l)).collect()
    };
    Ok(TxnRequest {
        compare,
        success: ops(&sections[1])?,
        failure: ops(&sections[2])?,
    })
}

/// One compare: `<target>("<key>") <op> "<value>"`.
fn compare(line: &str) -> Result<Compare, CtlError> {
    let malformed = || CtlError::input(format!("malformed comparison: {line}"));
    let (target, rest) = line.split_once('(').ok_or_else(malformed)?;
    let words = split(rest).map_err(|_| malformed())?;
    let [key, op, value] = words.as_slice() else {
        return Err(malformed());
    };
    let key = key.strip_suffix(')').ok_or_else(malformed)?;
    let result = match op.as_str() {
        "=" | "==" => CompareResult::Equal,
        "!=" => CompareResult::NotEqual,
        "<" => CompareResult::Less,
        ">" => CompareResult::Greater,
        _ => return Err(CtlError::input(format!("Unknown compare type {op}"))),
    };
    let int = || -> Result<i64, CtlError> {
        value.parse().map_err(|_| {
            CtlError::input(format!(
                "invalid txn compare request: {line}: strconv.ParseInt: parsing {value:?}: invalid syntax"
            ))
        })
    };
    let target = match target {
        "ver" | "version" => CompareTarget::Version(int()?),
        "c" | "create" => CompareTarget::Create(int()?),
        "m" | "mod" => CompareTarget::Mod(int()?),
        "val" | "value" => CompareTarget::Value(bytes(value)),
        "lease" => CompareTarget::Lease(int()?),
        other => {
            return Err(CtlError::input(format!(
                "malformed comparison: {line}; invalid target {other}"
            )))
        }
    };
    Ok(Compare {
        key: bytes(key),
        range_end: Bytes::new(),
        result,
        target,
    })
}

/// One operation line: a `put`, `get` or `del` command.
fn op(line: &str) -> Result<RequestOp, CtlError> {
    let invalid = || CtlError::input(format!("invalid txn request: {line}"));
    let words = split(line).map_err(|_| invalid())?;
    let name = words.first().ok_or_else(invalid)?;
    let args = Args::parse(&words[1..], flags_of(name)).map_err(|_| invalid())?;
    let pos = &args.positional;
    Ok(match name.as_str() {
        "put" => RequestOp::Put(put(pos, &args, "").map_err(|_| invalid())?),
        "get" => RequestOp::Range(get(pos, &args).map_err(|_| invalid())?.0),
        "del" => RequestOp::DeleteRange(del(pos, &args).map_err(|_| invalid())?),
        _ => return Err(invalid()),
    })
}

#[cfg(test)]
mod tests;
