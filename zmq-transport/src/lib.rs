//! zmq-transport: endpoints, pipes, listeners and connections on mio, driving the ZMTP codec.
#![forbid(unsafe_code)]

pub mod endpoint;
pub mod pipe;

pub use endpoint::{Endpoint, EndpointError, Host, IpcEndpoint, Scheme, TcpEndpoint, TcpSource};
pub use pipe::{PipeClosed, PipeReceiver, PipeSender, TrySendError, Wake, pipe, typed_pipe};
