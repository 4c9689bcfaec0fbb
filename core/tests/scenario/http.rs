//! Just enough HTTP/1.1 to talk to etcd's JSON gateway on 127.0.0.1: POST a JSON body, read a
//! `Content-Length` or chunked response, and read a chunked stream of JSON lines incrementally.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A response body that arrives over time (etcd's watch and keep-alive streams).
pub struct Stream {
    sock: TcpStream,
    /// Bytes read but not yet de-chunked.
    raw: Vec<u8>,
    /// De-chunked body bytes not yet split into lines.
    body: Vec<u8>,
    chunked: bool,
    pub status: u16,
}

fn send(addr: SocketAddr, path: &str, json: &str) -> std::io::Result<TcpStream> {
    let mut sock = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    sock.set_read_timeout(Some(IO_TIMEOUT))?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    sock.write_all(req.as_bytes())?;
    Ok(sock)
}

/// POSTs `json` and returns `(status, body)`, or the IO error.
pub fn try_post(addr: SocketAddr, path: &str, json: &str) -> std::io::Result<(u16, String)> {
    let mut sock = send(addr, path, json)?;
    let mut all = Vec::new();
    sock.read_to_end(&mut all)?;
    let bad = || std::io::Error::new(ErrorKind::InvalidData, "incomplete HTTP response");
    let (status, chunked, head_len) = parse_head(&all).ok_or_else(bad)?;
    let mut rest = all[head_len..].to_vec();
    let body = if chunked { dechunk(&mut rest) } else { rest };
    String::from_utf8(body)
        .map(|b| (status, b))
        .map_err(|_| std::io::Error::new(ErrorKind::InvalidData, "body is not UTF-8"))
}

/// POSTs `json` and returns `(status, body)`.
pub fn post(addr: SocketAddr, path: &str, json: &str) -> (u16, String) {
    try_post(addr, path, json).unwrap_or_else(|e| panic!("POST {path} to etcd: {e}"))
}

/// POSTs `json` and returns the open response stream.
pub fn post_stream(addr: SocketAddr, path: &str, json: &str) -> Stream {
    let mut sock = send(addr, path, json).unwrap_or_else(|e| panic!("POST {path} to etcd: {e}"));
    let mut raw = Vec::new();
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        if let Some((status, chunked, head_len)) = parse_head(&raw) {
            raw.drain(..head_len);
            return Stream {
                sock,
                raw,
                body: Vec::new(),
                chunked,
                status,
            };
        }
        assert!(Instant::now() < deadline, "no response head from etcd");
        let mut buf = [0u8; 4096];
        let n = sock.read(&mut buf).expect("read response head");
        assert!(n > 0, "etcd closed the stream before answering");
        raw.extend_from_slice(&buf[..n]);
    }
}

impl Stream {
    /// Reads until nothing arrives for `idle`, then returns the complete lines received.
    pub fn lines(&mut self, idle: Duration) -> Vec<String> {
        self.sock.set_read_timeout(Some(idle)).unwrap();
        let mut buf = [0u8; 16384];
        loop {
            match self.sock.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.raw.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                Err(e) => panic!("reading an etcd stream: {e}"),
            }
        }
        if self.chunked {
            let data = dechunk(&mut self.raw);
            self.body.extend_from_slice(&data);
        } else {
            self.body.append(&mut self.raw);
        }
        let mut lines = Vec::new();
        while let Some(i) = self.body.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.body.drain(..=i).collect();
            let text = String::from_utf8(line).expect("utf-8 line");
            if !text.trim().is_empty() {
                lines.push(text.trim().to_owned());
            }
        }
        lines
    }
}

/// `(status, chunked, head length)` once the head is complete.
fn parse_head(raw: &[u8]) -> Option<(u16, bool, usize)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.contains("transfer-encoding: chunked");
    Some((status, chunked, end))
}

/// Removes every complete chunk from `raw` and returns their data (an incomplete chunk stays
/// in `raw` until more bytes arrive).
fn dechunk(raw: &mut Vec<u8>) -> Vec<u8> {
    let mut data = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).expect("chunk size");
        if size == 0 {
            raw.clear(); // the last chunk: the body is complete
            break;
        }
        let total = eol + 2 + size + 2;
        if raw.len() < total {
            break;
        }
        data.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw.drain(..total);
    }
    data
}
