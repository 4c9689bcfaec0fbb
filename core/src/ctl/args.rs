//! Splitting a typed line into arguments, and reading cobra/pflag-style flags from them.

use super::CtlError;

/// Splits a console line as a POSIX shell would for a simple command: whitespace separates
/// words; `'…'` quotes literally; `"…"` quotes with `\"`, `\\` and `\$` escapes; a backslash
/// outside quotes escapes the next character. An unclosed quote is an error.
pub fn split(line: &str) -> Result<Vec<String>, CtlError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(CtlError::input("unterminated quoted string")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(CtlError::input("unterminated quoted string")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(CtlError::input("unterminated quoted string")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// A command's arguments with its flags taken out, as cobra parses them: flags may come
/// anywhere (`--name=value`, `--name value`, `-n value`, `-nvalue`), `--` ends them.
#[derive(Debug)]
pub(crate) struct Args {
    /// The positional arguments, in order.
    pub(crate) positional: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

/// How a command's flags are declared: the long name, an optional one-letter short name, and
/// whether it takes a value (bool flags take one only as `--name=value`).
pub(crate) type FlagSpec = (&'static str, Option<char>, bool);

impl Args {
    /// Parses `words` against `specs`; an undeclared flag is cobra's `unknown flag` error.
    pub(crate) fn parse(words: &[String], specs: &[FlagSpec]) -> Result<Self, CtlError> {
        let mut positional = Vec::new();
        let mut flags = Vec::new();
        let mut it = words.iter();
        while let Some(w) = it.next() {
            if w == "--" {
                positional.extend(it.by_ref().cloned());
                break;
            }
            let (spec, inline) = if let Some(long) = w.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (long, None),
                };
                let spec = specs.iter().find(|s| s.0 == name);
                let spec =
                    spec.ok_or_else(|| CtlError::usage(format!("unknown flag: --{name}")))?;
                (spec, inline)
            } else if w.len() > 1 && w.starts_with('-') {
                let mut cs = w[1..].chars();
                let c = cs.next().expect("checked");
                let rest: String = cs.collect();
                let spec = specs.iter().find(|s| s.1 == Some(c));
                let spec = spec.ok_or_else(|| {
                    CtlError::usage(format!("unknown shorthand flag: '{c}' in {w}"))
                })?;
                let inline = (!rest.is_empty()).then(|| rest.trim_start_matches('=').to_owned());
                (spec, inline)
            } else {
                positional.push(w.clone());
                continue;
            };
            let value = match (spec.2, inline) {
                (_, Some(v)) => Some(v),
                (true, None) => Some(it.next().cloned().ok_or_else(|| {
                    CtlError::usage(format!("flag needs an argument: --{}", spec.0))
                })?),
                (false, None) => None,
            };
            flags.push((spec.0.to_owned(), value));
        }
        Ok(Self { positional, flags })
    }

    /// The last value given to a value flag.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// A bool flag: set by `--name` or `--name=true`.
    pub(crate) fn bool(&self, name: &str) -> Result<bool, CtlError> {
        match self.flags.iter().rev().find(|(n, _)| n == name) {
            None => Ok(false),
            Some((_, None)) => Ok(true),
            Some((_, Some(v))) => match v.as_str() {
                "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
                "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
                _ => Err(CtlError::usage(format!(
                    "invalid argument \"{v}\" for \"--{name}\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax"
                ))),
            },
        }
    }

    /// An integer value flag (Go `ParseInt`, base 10), or `default`.
    pub(crate) fn int(&self, name: &str, default: i64) -> Result<i64, CtlError> {
        match self.value(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                CtlError::usage(format!(
                    "invalid argument \"{v}\" for \"--{name}\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(s("put foo bar"), ["put", "foo", "bar"]);
        assert_eq!(
            s("  put 'a b'  \"c \\\"d\\\"\" e\\ f "),
            ["put", "a b", "c \"d\"", "e f"]
        );
        assert_eq!(s("put k ''"), ["put", "k", ""]);
        assert!(split("put 'open").is_err());
    }

    #[test]
    fn flags_anywhere_in_every_spelling() {
        let specs: &[FlagSpec] = &[("prefix", None, false), ("write-out", Some('w'), true)];
        let a = Args::parse(&s("get --prefix k -w json"), specs).unwrap();
        assert_eq!(a.positional, ["get", "k"]);
        assert!(a.bool("prefix").unwrap());
        assert_eq!(a.value("write-out"), Some("json"));
        let a = Args::parse(&s("get -wjson --write-out=table -- --prefix"), specs).unwrap();
        assert_eq!(a.value("write-out"), Some("table"));
        assert_eq!(a.positional, ["get", "--prefix"]);
        let e = Args::parse(&s("get --nope"), specs).unwrap_err();
        assert_eq!(e.message, "unknown flag: --nope");
    }
}
