//! `std::io::Error` and `std::io::ErrorKind`: network trouble is transient,
//! a wrong path or a bad argument is not.
//!
//! | `ErrorKind` | transient? |
//! |---|---|
//! | `ConnectionRefused`, `ConnectionReset`, `ConnectionAborted`, `NotConnected` | yes |
//! | `TimedOut`, `Interrupted`, `WouldBlock` | yes |
//! | `BrokenPipe`, `UnexpectedEof` (a connection closed mid-message) | yes |
//! | `HostUnreachable`, `NetworkUnreachable`, `NetworkDown`, `ResourceBusy` | yes |
//! | `NotFound`, `PermissionDenied`, `AlreadyExists`, `InvalidInput`, `InvalidData`, `Unsupported` | no |
//! | anything else (`Other`, `StorageFull`, …) | no |
//!
//! `UnexpectedEof` counts as transient because the code that retries is
//! usually reading a socket, where it means the peer went away; a truncated
//! *file* gives the same kind, so classify file reads yourself.
//!
//! ```
//! use std::io::ErrorKind;
//! use retry_runtime::classify::Transient;
//!
//! let refused = std::net::TcpStream::connect("127.0.0.1:1").unwrap_err();
//! assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
//! assert!(refused.is_transient());
//!
//! let missing = std::fs::File::open("/no/such/file").unwrap_err();
//! assert!(!missing.is_transient());
//! assert!(ErrorKind::TimedOut.is_transient());
//! ```

use std::io::{Error, ErrorKind};

use super::Transient;

impl Transient for ErrorKind {
    fn is_transient(&self) -> bool {
        matches!(
            self,
            ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotConnected
                | ErrorKind::TimedOut
                | ErrorKind::Interrupted
                | ErrorKind::WouldBlock
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::NetworkDown
                | ErrorKind::ResourceBusy
        )
    }
}

impl Transient for Error {
    fn is_transient(&self) -> bool {
        self.kind().is_transient()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
    use std::time::Duration;

    use super::*;
    use crate::Verdict;
    use crate::classify::is_transient;

    /// A listening socket and a client connected to it.
    fn connected_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn connection_refused_by_a_closed_port_is_transient() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // The listener is dropped: nothing listens on `port` any more.
        let error = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
        assert!(error.is_transient());
        assert_eq!(is_transient(&error), Verdict::Retry);
    }

    #[test]
    fn connection_reset_by_peer_is_transient() {
        let (mut client, server) = connected_pair();
        // std has no stable `set_linger`; tokio does. Linger zero makes
        // close send RST instead of FIN.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        let _context = runtime.enter();
        server.set_nonblocking(true).unwrap();
        let server = tokio::net::TcpStream::from_std(server).unwrap();
        server.set_zero_linger().unwrap();
        drop(server);
        std::thread::sleep(Duration::from_millis(20));
        let error = client.read(&mut [0; 16]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionReset);
        assert!(error.is_transient());
    }

    #[test]
    fn unexpected_eof_from_a_closed_connection_is_transient() {
        let (mut client, server) = connected_pair();
        server.shutdown(Shutdown::Write).unwrap();
        let error = client.read_exact(&mut [0; 16]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof);
        assert!(error.is_transient());
    }

    #[test]
    fn would_block_on_a_non_blocking_socket_is_transient() {
        let (mut client, _server) = connected_pair();
        client.set_nonblocking(true).unwrap();
        let error = client.read(&mut [0; 16]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::WouldBlock);
        assert!(error.is_transient());
    }

    #[test]
    fn broken_pipe_is_transient() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        drop(reader);
        let error = writer.write_all(b"lost").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BrokenPipe);
        assert!(error.is_transient());
    }

    #[test]
    fn not_connected_is_transient() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let error = socket.peer_addr().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotConnected);
        assert!(error.is_transient());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn os_errors_of_a_flaky_network_are_transient() {
        // Raw OS codes, decoded by std the same way as a failed syscall's:
        // EINTR, ECONNABORTED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ENETDOWN, EBUSY.
        for (code, kind) in [
            (4, ErrorKind::Interrupted),
            (103, ErrorKind::ConnectionAborted),
            (110, ErrorKind::TimedOut),
            (113, ErrorKind::HostUnreachable),
            (101, ErrorKind::NetworkUnreachable),
            (100, ErrorKind::NetworkDown),
            (16, ErrorKind::ResourceBusy),
        ] {
            let error = Error::from_raw_os_error(code);
            assert_eq!(error.kind(), kind);
            assert!(error.is_transient(), "{kind:?}");
        }
    }

    #[test]
    fn not_found_is_permanent() {
        let error = std::fs::File::open("/definitely/not/here").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert!(!error.is_transient());
        assert_eq!(is_transient(&error), Verdict::Stop);
    }

    #[test]
    fn invalid_input_is_permanent() {
        let addr = "127.0.0.1:9".parse().unwrap();
        let error = TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(!error.is_transient());
    }

    #[test]
    fn invalid_data_is_permanent() {
        let error = std::io::read_to_string(&[0xff, 0xfe][..]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidData);
        assert!(!error.is_transient());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn permission_denied_already_exists_and_unsupported_are_permanent() {
        // EACCES, EEXIST, EOPNOTSUPP.
        for (code, kind) in
            [(13, ErrorKind::PermissionDenied), (17, ErrorKind::AlreadyExists), (95, ErrorKind::Unsupported)]
        {
            let error = Error::from_raw_os_error(code);
            assert_eq!(error.kind(), kind);
            assert!(!error.is_transient(), "{kind:?}");
        }
    }

    #[test]
    fn a_custom_error_is_classified_by_its_kind() {
        assert!(!Error::other("disk on fire").is_transient());
        assert!(Error::new(ErrorKind::TimedOut, "read timed out").is_transient());
    }
}
