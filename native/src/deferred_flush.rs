//! A client connection whose flushes wait one scheduler turn, so that the answers finished
//! by one group commit leave in one write instead of one write each.
//!
//! Why: hyper runs each gRPC call in its own task. When the node answers a batch of
//! calls, each call's task finishes and wakes the connection's task, and tokio runs a task
//! woken that way next (its LIFO slot), before the other calls' tasks. So h2 wrote and
//! flushed each answer on its own: ~0.9 `writev` per put at 256 puts in flight (etcd 3.4:
//! 0.27 writes). Here a flush with bytes to send first yields once (the task wakes itself,
//! which tokio queues behind the tasks already waiting, the rest of the batch among them);
//! the next flush sends everything gathered meanwhile in one write. With nothing else
//! queued the task is polled again at once, so a lone request waits for no timer.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Bytes written but not yet sent past which a write sends them first (bounds the buffer
/// and keeps large answers streaming).
const MAX_BUFFERED: usize = 64 * 1024;

/// A connection that gathers writes and sends them at the second flush.
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
            // A large answer went out: an idle connection keeps no large buffer.
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.buf.len() - self.sent >= MAX_BUFFERED {
            ready!(self.poll_send(cx))?;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for DeferredFlush<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_room(cx))?;
        this.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        slices: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_room(cx))?;
        let mut n = 0;
        for s in slices {
            this.buf.extend_from_slice(s);
            n += s.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.sent < this.buf.len() {
            if !this.yielded {
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
        // More than the buffer's bound: sent as it is written, complete after the flush.
        let big: Vec<u8> = (0..3 * MAX_BUFFERED).map(|i| i as u8).collect();
        w.write_all(&big).await.unwrap();
        w.shutdown().await.unwrap();
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, big);
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
