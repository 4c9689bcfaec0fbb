//! The load generator's gRPC connection: the `h2` crate's HTTP/2 client on a TCP
//! connection whose writes gather ([`DeferredFlush`]), under tonic's generated clients.
//!
//! Why not `tonic::transport::Channel`: a channel hands every request to a buffer task
//! before the connection's task, and arms a timer per request. Why not hyper's client:
//! it spawns a task per call to copy the request body into the stream. The generator
//! shares the machine's CPUs with the member it measures, so each of its microseconds
//! per request is taken from the member (Orrery or etcd alike). Here a unary call's
//! body, one encoded message that is ready at once, goes out with the headers from the
//! caller's task; only a streaming call (watch) gets a task copying its body. No request
//! has a deadline of its own: a run fails once no request is answered for 10 s (the bench
//! module's stall check), and `wait-leader` bounds each answer.

use crate::deferred_flush::DeferredFlush;
use bytes::Bytes;
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use http_body::{Body as _, Frame};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tonic::body::Body;
use tonic::codegen::http::{uri, HeaderMap, Request, Response, Uri};

/// Boxed error, as tonic's clients take it.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Flow-control windows (hyper's client defaults): a watch stream's events are not
/// throttled by window updates.
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 5 * 1024 * 1024;

/// Request body frames polled before the call counts as a stream: a unary body is one
/// message and its end.
const UNARY_FRAMES: usize = 2;

/// One HTTP/2 connection to an endpoint; clones share it.
#[derive(Clone)]
pub struct Conn {
    send: SendRequest<Bytes>,
    authority: uri::Authority,
}

impl Conn {
    /// Connects to `addr` (`host:port`) within 5 s.
    pub async fn connect(addr: &str) -> Result<Self, String> {
        let authority: uri::Authority = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
        let tcp =
            tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
                .await
                .map_err(|_| format!("{addr}: connect timed out"))?
                .map_err(|e| format!("{addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (send, connection) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .handshake(DeferredFlush::new(tcp))
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        tokio::spawn(async move {
            // Ends when the connection closes; calls in flight see the error.
            let _ = connection.await;
        });
        Ok(Self { send, authority })
    }
}

impl tower::Service<Request<Body>> for Conn {
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.send.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let (mut parts, mut body) = req.into_parts();
        // tonic's clients send the path alone; HTTP/2 needs the scheme and authority.
        let mut uri = parts.uri.into_parts();
        uri.scheme = Some(uri::Scheme::HTTP);
        uri.authority = Some(self.authority.clone());
        parts.uri = Uri::from_parts(uri).expect("a path with scheme and authority");
        // A fresh handle: it has no stream of its own waiting to open, so it may send. So
        // `poll_ready` does not hold calls to the server's stream limit: streams past it
        // queue in h2. Neither system limits them (etcd: 2^32; tonic sets no limit).
        let mut send = self.send.clone();
        Box::pin(async move {
            let mut data = Vec::new();
            let mut ended = false;
            for _ in 0..UNARY_FRAMES {
                match poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx))).await {
                    Poll::Ready(Some(frame)) => {
                        if let Ok(bytes) = frame?.into_data() {
                            data.push(bytes);
                        }
                    }
                    Poll::Ready(None) => {
                        ended = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            let headers_end = ended && data.is_empty();
            let (response, mut stream) =
                send.send_request(Request::from_parts(parts, ()), headers_end)?;
            let last = data.len();
            for (i, bytes) in data.into_iter().enumerate() {
                stream.send_data(bytes, ended && i + 1 == last)?;
            }
            if !ended {
                tokio::spawn(copy_body(body, stream));
            }
            Ok(response.await?.map(ResponseBody::new))
        })
    }
}

/// Copies a streaming call's request body into its HTTP/2 stream until either ends. It
/// reserves no send capacity: the bench's only streaming calls are watch requests, a few
/// small messages per stream.
async fn copy_body(mut body: Body, mut stream: SendStream<Bytes>) {
    loop {
        match poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            Some(Ok(frame)) => {
                if let Ok(bytes) = frame.into_data() {
                    if stream.send_data(bytes, false).is_err() {
                        return;
                    }
                }
            }
            Some(Err(_)) => return stream.send_reset(h2::Reason::CANCEL),
            None => {
                let _ = stream.send_data(Bytes::new(), true);
                return;
            }
        }
    }
}

/// A response body: the stream's data frames, then its trailers (gRPC's status).
pub struct ResponseBody {
    recv: RecvStream,
    data_done: bool,
    done: bool,
}

impl ResponseBody {
    fn new(recv: RecvStream) -> Self {
        Self {
            recv,
            data_done: false,
            done: false,
        }
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if !this.data_done {
            match ready!(this.recv.poll_data(cx)) {
                Some(Ok(bytes)) => {
                    // Read: the server may send as much again.
                    let _ = this.recv.flow_control().release_capacity(bytes.len());
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => this.data_done = true,
            }
        }
        let trailers: Result<Option<HeaderMap>, _> = ready!(this.recv.poll_trailers(cx));
        this.done = true;
        Poll::Ready(trailers.map(|t| t.map(Frame::trailers)).transpose())
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.recv.is_end_stream()
    }
}
