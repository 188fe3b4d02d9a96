//! How a request is sent again: each attempt needs its own copy.

use std::future::{Ready, ready};

/// Makes the copies of a request that each attempt sends.
///
/// [`prepare`](Self::prepare) runs once per call, before the first attempt:
/// it keeps what is needed to make the request again, or gives the request
/// back when it cannot be made again (a streaming body), in which case it is
/// sent once and not retried. [`request`](Self::request) then makes the
/// request of each attempt.
///
/// ```
/// use std::future::{ready, Ready};
/// use retry_runtime::tower::ReplayRequest;
///
/// /// Requests are shared strings: cheap to copy, nothing to prepare.
/// struct Shared;
///
/// impl ReplayRequest<std::sync::Arc<str>> for Shared {
///     type Replay = std::sync::Arc<str>;
///     type Prepare = Ready<Result<Self::Replay, std::sync::Arc<str>>>;
///     fn prepare(&self, request: std::sync::Arc<str>) -> Self::Prepare {
///         ready(Ok(request))
///     }
///     fn request(&self, replay: &Self::Replay) -> std::sync::Arc<str> {
///         std::sync::Arc::clone(replay)
///     }
/// }
/// # let _ = Shared;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot copy requests of type `{Req}` for each attempt",
    note = "the default, `CloneRequest`, needs `{Req}: Clone`; for a tonic channel, whose request body is a stream, use `.replay(BufferGrpcBody::default())`"
)]
pub trait ReplayRequest<Req> {
    /// What is kept between attempts.
    type Replay;
    /// The future [`prepare`](Self::prepare) returns.
    type Prepare: Future<Output = Result<Self::Replay, Req>>;

    /// Keeps what is needed to make `request` again, or gives it back
    /// (`Err`) to be sent once.
    fn prepare(&self, request: Req) -> Self::Prepare;

    /// The request of the next attempt.
    fn request(&self, replay: &Self::Replay) -> Req;
}

/// The default [`ReplayRequest`]: clones the request (any `Request: Clone`).
///
/// ```
/// use retry_runtime::tower::{CloneRequest, ReplayRequest};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let Ok(kept) = CloneRequest.prepare(String::from("GET /")).await else { unreachable!() };
/// assert_eq!(CloneRequest.request(&kept), "GET /");
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneRequest;

impl<Req: Clone> ReplayRequest<Req> for CloneRequest {
    type Replay = Req;
    type Prepare = Ready<Result<Req, Req>>;

    #[inline]
    fn prepare(&self, request: Req) -> Self::Prepare {
        ready(Ok(request))
    }

    #[inline]
    fn request(&self, replay: &Req) -> Req {
        replay.clone()
    }
}

#[cfg(feature = "tonic")]
pub use grpc::BufferGrpcBody;

#[cfg(feature = "tonic")]
mod grpc {
    use std::collections::VecDeque;
    use std::future::poll_fn;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::{Bytes, BytesMut};
    use http_body::{Body, Frame, SizeHint};
    use tonic::Status;

    use super::ReplayRequest;

    type GrpcRequest = http::Request<tonic::body::Body>;

    /// A [`ReplayRequest`] for tonic channels: keeps the encoded request
    /// body of a call, up to a size limit, and sends it again.
    ///
    /// The body of a tonic request is a stream, so it cannot be cloned.
    /// Before the first attempt, this reads the frames the body has ready at
    /// once: a unary call's message (and a client-streaming call's, when its
    /// stream is ready to the end) is kept and sent again on each attempt. A
    /// body that is not complete at once (a stream still producing
    /// messages), or larger than the limit, is sent once and not retried,
    /// with what was read put back in front of the rest.
    ///
    /// ```
    /// use retry_runtime::tower::{BufferGrpcBody, RetryLayer, TransientGrpc};
    /// use retry_runtime::RetryPolicy;
    ///
    /// let layer = RetryLayer::new(RetryPolicy::new())
    ///     .when(TransientGrpc::default())
    ///     .replay(BufferGrpcBody::new(64 * 1024));
    /// // tower::ServiceBuilder::new().layer(layer).service(channel)
    /// # let _ = layer;
    /// ```
    #[derive(Clone, Copy, Debug)]
    pub struct BufferGrpcBody {
        limit: usize,
    }

    impl BufferGrpcBody {
        /// Keeps request bodies of at most `limit` bytes.
        ///
        /// See [`BufferGrpcBody`] for an example.
        #[must_use]
        pub const fn new(limit: usize) -> Self {
            BufferGrpcBody { limit }
        }
    }

    impl Default for BufferGrpcBody {
        /// 1 MiB.
        fn default() -> Self {
            Self::new(1 << 20)
        }
    }

    impl ReplayRequest<GrpcRequest> for BufferGrpcBody {
        type Replay = (http::request::Parts, Bytes);
        type Prepare = Pin<Box<dyn Future<Output = Result<Self::Replay, GrpcRequest>> + Send>>;

        fn prepare(&self, request: GrpcRequest) -> Self::Prepare {
            let limit = self.limit;
            Box::pin(async move {
                let (parts, mut body) = request.into_parts();
                let mut read = VecDeque::new();
                let mut data = BytesMut::new();
                loop {
                    // Only what is ready now: waiting for a stream's next
                    // message could wait on the server's answer (a
                    // bidirectional call) forever.
                    let frame = poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx))).await;
                    let chunk = match frame {
                        Poll::Ready(None) => return Ok((parts, data.freeze())),
                        Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                            Ok(chunk) => chunk,
                            // Trailers: a body this layer does not rebuild.
                            Err(frame) => {
                                read.push_back(Ok(frame));
                                break;
                            }
                        },
                        Poll::Ready(Some(Err(status))) => {
                            read.push_back(Err(status));
                            break;
                        }
                        Poll::Pending => break,
                    };
                    if data.len().saturating_add(chunk.len()) > limit {
                        read.push_back(Ok(Frame::data(chunk)));
                        break;
                    }
                    data.extend_from_slice(&chunk);
                }
                // Sent once: what was read goes first, then the rest.
                if !data.is_empty() {
                    read.push_front(Ok(Frame::data(data.freeze())));
                }
                Err(http::Request::from_parts(parts, tonic::body::Body::new(Replayed { read, rest: Some(body) })))
            })
        }

        fn request(&self, (parts, data): &Self::Replay) -> GrpcRequest {
            let read = if data.is_empty() { VecDeque::new() } else { VecDeque::from([Ok(Frame::data(data.clone()))]) };
            http::Request::from_parts(parts.clone(), tonic::body::Body::new(Replayed { read, rest: None }))
        }
    }

    /// A body of frames already read, then (if any) the rest of the original body.
    struct Replayed {
        read: VecDeque<Result<Frame<Bytes>, Status>>,
        rest: Option<tonic::body::Body>,
    }

    impl Body for Replayed {
        type Data = Bytes;
        type Error = Status;

        fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
            if let Some(frame) = self.read.pop_front() {
                return Poll::Ready(Some(frame));
            }
            match &mut self.rest {
                Some(rest) => Pin::new(rest).poll_frame(cx),
                None => Poll::Ready(None),
            }
        }

        fn is_end_stream(&self) -> bool {
            self.read.is_empty() && self.rest.as_ref().is_none_or(Body::is_end_stream)
        }

        fn size_hint(&self) -> SizeHint {
            let read: u64 = self
                .read
                .iter()
                .filter_map(|frame| frame.as_ref().ok()?.data_ref().map(|data| data.len() as u64))
                .sum();
            let rest = self.rest.as_ref().map_or_else(|| SizeHint::with_exact(0), Body::size_hint);
            let mut hint = SizeHint::new();
            hint.set_lower(rest.lower().saturating_add(read));
            if let Some(upper) = rest.upper() {
                hint.set_upper(upper.saturating_add(read));
            }
            hint
        }
    }
}

#[cfg(all(test, feature = "tonic"))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::VecDeque;
    use std::future::poll_fn;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body::{Body, Frame};
    use tonic::Status;

    use super::{BufferGrpcBody, ReplayRequest};

    /// A body that answers each poll with the next scripted answer, then ends.
    struct Script(VecDeque<Poll<Bytes>>);

    impl Body for Script {
        type Data = Bytes;
        type Error = Status;
        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
            match self.0.pop_front() {
                Some(Poll::Ready(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
                Some(Poll::Pending) => Poll::Pending,
                None => Poll::Ready(None),
            }
        }
    }

    fn request(script: impl IntoIterator<Item = Poll<&'static str>>) -> http::Request<tonic::body::Body> {
        let script = script
            .into_iter()
            .map(|answer| answer.map(|text: &'static str| Bytes::from_static(text.as_bytes())))
            .collect();
        http::Request::builder()
            .uri("/grpc.health.v1.Health/Check")
            .body(tonic::body::Body::new(Script(script)))
            .unwrap()
    }

    /// The data of a body, chunk by chunk, polled until it ends.
    async fn chunks(request: http::Request<tonic::body::Body>) -> Vec<Bytes> {
        let mut body = request.into_body();
        let mut chunks = Vec::new();
        while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            chunks.push(frame.unwrap().into_data().unwrap());
        }
        chunks
    }

    #[tokio::test]
    async fn a_body_ready_to_its_end_is_sent_again_whole() {
        let replay = BufferGrpcBody::default();
        let Ok(kept) = replay.prepare(request([Poll::Ready("ab"), Poll::Ready("cd")])).await else {
            panic!("not kept")
        };
        for _ in 0..2 {
            let again = replay.request(&kept);
            assert_eq!(again.uri(), "/grpc.health.v1.Health/Check");
            assert_eq!(chunks(again).await, ["abcd"]);
        }
    }

    #[tokio::test]
    async fn a_body_still_streaming_is_sent_once_with_what_was_read_first() {
        let replay = BufferGrpcBody::default();
        let Err(once) = replay.prepare(request([Poll::Ready("ab"), Poll::Pending, Poll::Ready("cd")])).await else {
            panic!("a streaming body was kept")
        };
        assert_eq!(chunks(once).await, ["ab", "cd"]);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_sent_once_in_order() {
        let replay = BufferGrpcBody::new(3);
        let Err(once) = replay.prepare(request([Poll::Ready("ab"), Poll::Ready("cd"), Poll::Ready("ef")])).await else {
            panic!("a body over the limit was kept")
        };
        assert_eq!(chunks(once).await, ["ab", "cd", "ef"]);
    }
}
