use super::*;

fn cmd(line: &str) -> Command {
    parse(line).unwrap().command
}

fn err(line: &str) -> (String, u8) {
    let e = parse(line).unwrap_err();
    (e.message, e.exit)
}

#[test]
fn kv_commands_become_etcdctls_requests() {
    assert_eq!(
        cmd("etcdctl put foo 'bar baz' --prev-kv"),
        Command::Put(PutRequest {
            key: bytes("foo"),
            value: bytes("bar baz"),
            prev_kv: true,
            ..PutRequest::default()
        })
    );
    let Command::Get { request, .. } = cmd("get --prefix foo --limit 2 --rev=3 -w json") else {
        panic!()
    };
    assert_eq!(
        (&request.key[..], &request.range_end[..]),
        (&b"foo"[..], &b"fop"[..])
    );
    assert_eq!((request.limit, request.revision), (2, 3));
    let Command::Get { request, .. } = cmd("get --from-key ''") else {
        panic!()
    };
    assert_eq!(
        (&request.key[..], &request.range_end[..]),
        (&b"\0"[..], &b"\0"[..])
    );
    let Command::Get { request, .. } = cmd("get a c --consistency=s") else {
        panic!()
    };
    assert!(request.serializable);
    assert_eq!(&request.range_end[..], b"c");
    assert_eq!(parse("get foo -w json").unwrap().output, OutputFormat::Json);
    assert_eq!(
        cmd("del --prefix a --prev-kv"),
        Command::Del(DeleteRangeRequest {
            key: bytes("a"),
            range_end: bytes("b"),
            prev_kv: true
        })
    );
    assert_eq!(
        cmd("put --lease=1a k v"),
        Command::Put(PutRequest {
            key: bytes("k"),
            value: bytes("v"),
            lease: 0x1a,
            ..PutRequest::default()
        })
    );
}

#[test]
fn bad_lines_get_etcdctls_errors_and_exit_codes() {
    assert_eq!(
        err("get"),
        (
            "get command needs one argument as key and an optional argument as range_end".into(),
            128
        )
    );
    assert_eq!(
        err("put k"),
        (
            "put command needs 1 argument and input from stdin or 2 arguments".into(),
            128
        )
    );
    assert_eq!(
        err("get --prefix --from-key a").0,
        "`--prefix` and `--from-key` cannot be set at the same time, choose one"
    );
    assert_eq!(
        err("get a --count-only"),
        ("unknown flag: --count-only".into(), 1)
    );
    assert_eq!(
        err("frobnicate"),
        ("unknown command \"frobnicate\" for \"etcdctl\"".into(), 1)
    );
    assert_eq!(
        err("lease revoke zz").0,
        "bad lease ID arg (strconv.ParseInt: parsing \"zz\": invalid syntax), expecting ID in Hex"
    );
    assert_eq!(
        err("compaction"),
        ("compaction command needs 1 argument".into(), 128)
    );
    assert_eq!(
        err("get a -w yaml"),
        ("unsupported output format".into(), 4)
    );
}

#[test]
fn txn_input_has_three_sections() {
    let inv = parse_with_stdin(
        "txn -i",
        "mod(\"k\") > \"0\"\nval(\"k\") = \"v\"\n\nput k v2\nget k --prefix\n\ndel k\n\n",
    )
    .unwrap();
    let Command::Txn {
        request,
        interactive,
    } = inv.command
    else {
        panic!()
    };
    assert!(interactive);
    assert_eq!(request.compare.len(), 2);
    assert_eq!(request.compare[0].target, CompareTarget::Mod(0));
    assert_eq!(request.compare[0].result, CompareResult::Greater);
    assert_eq!(request.compare[1].target, CompareTarget::Value(bytes("v")));
    assert_eq!(request.success.len(), 2);
    assert!(matches!(request.failure[..], [RequestOp::DeleteRange(_)]));
    assert_eq!(
        parse_with_stdin("txn", "put a b\n").unwrap_err().message,
        "EOF"
    );
    assert_eq!(
        parse_with_stdin("txn", "bogus\n\n\n\n")
            .unwrap_err()
            .message,
        "malformed comparison: bogus"
    );
    assert_eq!(
        parse_with_stdin("txn", "\nfly away\n\n\n")
            .unwrap_err()
            .message,
        "invalid txn request: fly away"
    );
}
