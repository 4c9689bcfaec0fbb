//! The load generator's gRPC connection: hyper's HTTP/2 client on a TCP connection whose
//! writes gather ([`DeferredFlush`]), under tonic's generated clients.
//!
//! Why not `tonic::transport::Channel`: a channel hands every request to a buffer task
//! before the connection's task, and arms a timer per request. The generator shares the
//! machine's CPUs with the member it measures, so each of its microseconds per request
//! is taken from the member (Orrery or etcd alike). Hung requests are bounded by the
//! workloads' own deadlines instead.

use crate::deferred_flush::DeferredFlush;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::body::Body;
use tonic::codegen::http::{uri, Request, Response, Uri};

/// One HTTP/2 connection to an endpoint; clones share it.
#[derive(Clone)]
pub struct Conn {
    send: SendRequest<Body>,
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
        let (send, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(DeferredFlush::new(tcp)))
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        tokio::spawn(connection);
        Ok(Self { send, authority })
    }
}

impl tower::Service<Request<Body>> for Conn {
    type Response = Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        // tonic's clients send the path alone; HTTP/2 needs the scheme and authority.
        let mut parts = req.uri().clone().into_parts();
        parts.scheme = Some(uri::Scheme::HTTP);
        parts.authority = Some(self.authority.clone());
        *req.uri_mut() = Uri::from_parts(parts).expect("a path with scheme and authority");
        Box::pin(self.send.send_request(req))
    }
}
