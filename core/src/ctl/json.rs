//! `-w json`: Go `encoding/json` of etcd's Go response structs. Fields are written in struct
//! order under their JSON tag names; `omitempty` fields are left out when zero; bytes are
//! standard base64; strings are escaped as Go does (HTML-safe: `<`, `>`, `&` as `\u003c`…).

use crate::mvcc::KeyValue;
use crate::request::ResponseHeader;

/// A JSON object being written, field by field.
pub(crate) struct Obj {
    out: String,
    first: bool,
}

impl Obj {
    pub(crate) fn new() -> Self {
        Self {
            out: "{".into(),
            first: true,
        }
    }

    fn key(&mut self, name: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push_str(&string(name));
        self.out.push(':');
    }

    /// A field with an already encoded value.
    pub(crate) fn raw(mut self, name: &str, json: &str) -> Self {
        self.key(name);
        self.out.push_str(json);
        self
    }

    /// A number, left out when 0 (`omitempty`).
    pub(crate) fn num(self, name: &str, v: impl Into<i128>) -> Self {
        let v = v.into();
        if v == 0 {
            self
        } else {
            self.raw(name, &v.to_string())
        }
    }

    /// A number, always written.
    pub(crate) fn num_always(self, name: &str, v: impl Into<i128>) -> Self {
        let v = v.into();
        self.raw(name, &v.to_string())
    }

    /// `true`, or nothing (`omitempty`).
    pub(crate) fn flag(self, name: &str, v: bool) -> Self {
        if v {
            self.raw(name, "true")
        } else {
            self
        }
    }

    /// A string, left out when empty.
    pub(crate) fn str(self, name: &str, v: &str) -> Self {
        if v.is_empty() {
            self
        } else {
            self.raw(name, &string(v))
        }
    }

    /// Bytes as base64, left out when empty.
    pub(crate) fn bytes(self, name: &str, v: &[u8]) -> Self {
        if v.is_empty() {
            self
        } else {
            self.raw(name, &format!("\"{}\"", base64(v)))
        }
    }

    /// A list of encoded items, left out when empty.
    pub(crate) fn list(self, name: &str, items: Vec<String>) -> Self {
        if items.is_empty() {
            self
        } else {
            self.raw(name, &format!("[{}]", items.join(",")))
        }
    }

    pub(crate) fn end(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// `etcdserverpb.ResponseHeader`.
pub(crate) fn header(h: &ResponseHeader) -> String {
    header_fields(Obj::new(), h).end()
}

/// The header's fields, for structs that embed it (`lease grant -w json`).
pub(crate) fn header_fields(o: Obj, h: &ResponseHeader) -> Obj {
    o.num("cluster_id", h.cluster_id)
        .num("member_id", h.member_id)
        .num("revision", h.revision)
        .num("raft_term", h.raft_term)
}

/// `mvccpb.KeyValue`.
pub(crate) fn kv(kv: &KeyValue) -> String {
    Obj::new()
        .bytes("key", &kv.key)
        .num("create_revision", kv.create_revision)
        .num("mod_revision", kv.mod_revision)
        .num("version", kv.version)
        .bytes("value", &kv.value)
        .num("lease", kv.lease)
        .end()
}

/// A Go string literal in JSON.
pub(crate) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Standard base64 with padding (Go's `[]byte` in JSON).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_strings_as_go_writes_them() {
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"bar2"), "YmFyMg==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
        assert_eq!(string("a<b>\"c\"\n"), "\"a\\u003cb\\u003e\\\"c\\\"\\n\"");
    }
}
