//! etcd's `--config-file`: a YAML mapping whose keys are the flag names without `--`
//! (`name`, `data-dir`, `initial-cluster`, ...). Each supported key becomes its flag, so a
//! bad value gets the same error as on the command line. Keys etcd knows but Orrery does not
//! support yet are reported and ignored (etcd, too, ignores keys it does not know), except
//! TLS settings, which are refused: serving plain text where TLS was asked for would be
//! worse than not starting.

use clap::CommandFactory;
use serde_norway::Value;
use std::time::Duration;

/// The flags (`--key=value`) a config file sets, and the keys it ignores.
pub(super) fn to_args(text: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let doc: Value = serde_norway::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
    let map = match doc {
        Value::Mapping(m) => m,
        Value::Null => return Ok((Vec::new(), Vec::new())),
        _ => return Err("expected a YAML mapping of etcd's configuration keys".into()),
    };
    let supported: Vec<String> = super::Flags::command()
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_owned))
        .filter(|l| l != "config-file")
        .collect();
    let mut args = Vec::new();
    let mut ignored = Vec::new();
    for (key, value) in map {
        let Value::String(key) = key else {
            return Err(format!("key {key:?} is not a string"));
        };
        if key.ends_with("transport-security") {
            refuse_tls(&key, &value)?;
            continue;
        }
        if !supported.contains(&key) {
            ignored.push(key);
            continue;
        }
        let value = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => return Err(format!("{key}: expected a single value")),
        };
        args.push(format!("--{key}={value}"));
    }
    Ok((args, ignored))
}

/// `client-transport-security` / `peer-transport-security`: fine if nothing is set.
fn refuse_tls(key: &str, value: &Value) -> Result<(), String> {
    let Value::Mapping(m) = value else {
        return Ok(());
    };
    let set = m.iter().any(|(_, v)| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Bool(b) => *b,
        _ => true,
    });
    if set {
        return Err(format!("{key}: TLS is not supported yet"));
    }
    Ok(())
}

/// A Go `time.ParseDuration` string without a sign: `300ms`, `5m`, `1h30m`, `1.5h`.
pub(super) fn go_duration(s: &str) -> Option<Duration> {
    const UNITS: [(&str, f64); 6] = [
        ("ns", 1e-9),
        ("us", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
    ];
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut secs = 0.0;
    // Each round consumes one number and its unit, so this ends within s.len() rounds.
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (_, scale) = UNITS.iter().find(|(u, _)| *u == &rest[..unit_len])?;
        secs += number * scale;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::super::{AutoCompaction, Flags};
    use super::*;

    #[test]
    fn etcds_sample_keys_become_flags_and_unknown_ones_are_reported() {
        let yaml = "name: infra1\ndata-dir: /var/lib/orrery\nheartbeat-interval: 200\nelection-timeout: 2000\npre-vote: true\nwal-dir:\nenable-v2: false\ninitial-cluster: infra1=http://127.0.0.1:2380\nclient-transport-security:\n  cert-file:\n  client-cert-auth: false\n";
        let (args, ignored) = to_args(yaml).unwrap();
        assert_eq!(ignored, ["enable-v2"]);
        let f = Flags::from_args_without_env(args).unwrap();
        assert_eq!(f.name, "infra1");
        assert_eq!(f.heartbeat_interval, 200);
        assert!(f.pre_vote);
        assert_eq!(f.wal_dir, None);
        assert_eq!(f.data_dir().to_str(), Some("/var/lib/orrery"));
        assert_eq!(f.listen_client_urls, "http://localhost:2379", "a default");
    }

    #[test]
    fn bad_values_and_tls_are_refused_naming_the_key() {
        let (args, _) = to_args("heartbeat-interval: fast\n").unwrap();
        let e = Flags::from_args_without_env(args).unwrap_err();
        assert!(
            e.contains("--heartbeat-interval") && e.contains("fast"),
            "{e}"
        );
        let e = to_args("client-transport-security:\n  cert-file: /etc/ssl/a.pem\n").unwrap_err();
        assert!(e.contains("TLS"), "{e}");
        assert!(to_args("- a\n- b\n").unwrap_err().contains("mapping"));
        assert!(to_args("name: [a, b]\n").unwrap_err().contains("name"));
    }

    #[test]
    fn auto_compaction_retention_reads_hours_durations_and_revisions() {
        let f = |mode: &str, r: &str| {
            Flags::from_args_without_env(vec![
                format!("--auto-compaction-mode={mode}"),
                format!("--auto-compaction-retention={r}"),
            ])
            .unwrap()
            .auto_compaction()
        };
        assert_eq!(f("periodic", "0"), Ok(AutoCompaction::Off));
        assert_eq!(
            f("periodic", "1"),
            Ok(AutoCompaction::Periodic(Duration::from_secs(3600)))
        );
        assert_eq!(
            f("periodic", "1h30m"),
            Ok(AutoCompaction::Periodic(Duration::from_secs(5400)))
        );
        assert_eq!(f("revision", "1000"), Ok(AutoCompaction::Revision(1000)));
        assert!(f("revision", "5m").is_err());
        assert!(f("periodic", "soon").is_err());
        assert_eq!(go_duration("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("5"), None);
    }
}
