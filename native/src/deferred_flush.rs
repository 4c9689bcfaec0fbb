//! A connection whose flushes wait one scheduler turn, so that the answers finished by one
//! group commit leave in one write instead of one write each. It wraps the connections the
//! member accepts from clients (the reason below), and the load generator's own, where it
//! gathers the requests its tasks issue in one turn.
//!
//! Why: hyper's server runs each gRPC call in its own task. When the node answers a batch of
//! calls, each call's task finishes and wakes the connection's task, and tokio runs a task
//! woken that way next (its LIFO slot), before the other calls' tasks. So h2 wrote and
//! flushed each answer on its own: ~0.9 `writev` per put at 256 puts in flight (etcd 3.4:
//! 0.27 writes). Here a flush with bytes to send first yields once (the task wakes itself,
//! which tokio queues behind the tasks already waiting, the rest of the batch among them);
//! the next flush sends everything gathered meanwhile in one write. With nothing else
//! queued the task is polled again at once, so a lone request waits for no timer.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Bytes gathered past which a write sends them first: bounds the buffer.
const MAX_BUFFERED: usize = 64 * 1024;

/// Bytes gathered past which a flush sends at once instead of yielding: a large answer
/// streams without a trip through the scheduler per flush.
const SEND_AT_ONCE: usize = 16 * 1024;

/// A connection that gathers writes and sends them at the second flush (at once past
/// `SEND_AT_ONCE`).
pub struct DeferredFlush<T> {
    io: T,
    /// Written by the caller, not yet sent from `sent` on.
    buf: Vec<u8>,
    sent: usize,
    /// Whether the last flush yielded instead of sending.
    yielded: bool,
}

impl<T> DeferredFlush<T> {
    /// Wraps `io`.
    pub fn new(io: T) -> Self {
        Self {
            io,
            buf: Vec::new(),
            sent: 0,
            yielded: false,
        }
    }
}

impl<T: AsyncWrite + Unpin> DeferredFlush<T> {
    /// Sends every gathered byte; pending while the socket is full.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.buf.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.buf[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.sent = 0;
        if self.buf.capacity() > MAX_BUFFERED {
            // The buffer grew past the bound while gathering: an idle connection keeps no
            // large buffer.
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for DeferredFlush<T> {
    /// Gathers `data`; a write that would pass `MAX_BUFFERED` sends what was gathered
    /// first, and one that alone passes it goes straight to the connection.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.buf.len() - this.sent + data.len() > MAX_BUFFERED {
            ready!(this.poll_send(cx))?;
            if data.len() > MAX_BUFFERED {
                return Pin::new(&mut this.io).poll_write(cx, data);
            }
        }
        this.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    // Not vectored (the default): h2 then copies payloads under 1 KiB into its own buffer
    // instead of holding each one aside and flushing before the next frame, which would
    // send about two frames per write.

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let pending = this.buf.len() - this.sent;
        if pending > 0 {
            if !this.yielded && pending < SEND_AT_ONCE {
                this.yielded = true;
                // Not `tokio::task::yield_now`: tokio wakes that only once the worker has
                // nothing else to run, which held watch events back (p50 23 -> 60 ms in
                // the bench's fan-out) while puts kept the worker busy.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            ready!(this.poll_send(cx))?;
        }
        this.yielded = false;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for DeferredFlush<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl Connected for DeferredFlush<TcpStream> {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.io.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn writes_arrive_in_order_after_a_flush_and_large_writes_stream() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut w = DeferredFlush::new(a);
        w.write_all(b"hello ").await.unwrap();
        w.write_all(b"world").await.unwrap();
        w.flush().await.unwrap();
        let mut got = [0; 11];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello world");
        // A gathered byte, then more than the buffer's bound: the byte goes first, the
        // large write straight after it, all of it by the shutdown.
        w.write_all(b"a").await.unwrap();
        let big: Vec<u8> = (0..3 * MAX_BUFFERED).map(|i| i as u8).collect();
        w.write_all(&big).await.unwrap();
        w.shutdown().await.unwrap();
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest[0], b'a');
        assert_eq!(&rest[1..], &big[..]);
    }

    #[tokio::test]
    async fn a_flush_yields_once_before_sending() {
        let (a, mut b) = tokio::io::duplex(1024);
        let mut w = DeferredFlush::new(a);
        w.write_all(b"x").await.unwrap();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(Pin::new(&mut w).poll_flush(&mut cx).is_pending());
        assert!(Pin::new(&mut w).poll_flush(&mut cx).is_ready());
        let mut got = [0; 1];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"x");
        // Nothing to send: no yield.
        assert!(Pin::new(&mut w).poll_flush(&mut cx).is_ready());
    }
}
