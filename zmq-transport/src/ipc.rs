//! ipc specifics: Unix-domain socket addresses (paths, Linux abstract names, `ipc://*`), stale
//! socket files, and removing what a listener created when it closes.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use socket2::{Domain, SockAddr, Socket, Type};

use crate::endpoint::{EndpointError, IpcEndpoint, MAX_IPC_PATH};
use crate::options::{ConnOptions, TransportError};

/// A bound ipc listening socket and what to remove when it closes.
#[derive(Debug)]
pub(crate) struct IpcBound {
    pub(crate) socket: Socket,
    pub(crate) endpoint: String,
    pub(crate) cleanup: Option<IpcCleanup>,
}

/// Files a listener created: the socket file (removed only if it is still ours) and, for
/// `ipc://*`, its private directory.
#[derive(Debug)]
pub(crate) struct IpcCleanup {
    path: PathBuf,
    dev: u64,
    ino: u64,
    dir: Option<PathBuf>,
}

impl IpcCleanup {
    /// Removes the socket file if it is still the one we bound (another process may have bound
    /// the same path since), and the private directory of `ipc://*`.
    pub(crate) fn run(&self) {
        if let Ok(meta) = std::fs::symlink_metadata(&self.path)
            && meta.dev() == self.dev
            && meta.ino() == self.ino
        {
            // Best effort: nothing useful can be done if the removal fails.
            let _ = std::fs::remove_file(&self.path);
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Binds an ipc endpoint synchronously.
///
/// A path that holds a socket file nobody listens on (a stale file) is unlinked first, as libzmq
/// does; if a live listener answers on it, the bind fails with `AddrInUse` instead of stealing it.
pub(crate) fn bind(ep: &IpcEndpoint, opts: &ConnOptions) -> Result<IpcBound, TransportError> {
    match ep {
        IpcEndpoint::Path(path) => {
            check_len(path.as_os_str().len())?;
            remove_stale(path)?;
            let socket = listen(&SockAddr::unix(path)?, opts)?;
            let cleanup = cleanup_for(path, None);
            Ok(IpcBound {
                socket,
                endpoint: format!("ipc://{}", path.display()),
                cleanup,
            })
        }
        IpcEndpoint::Abstract(name) => {
            let socket = listen(&abstract_addr(name)?, opts)?;
            Ok(IpcBound {
                socket,
                endpoint: format!("ipc://@{}", String::from_utf8_lossy(name)),
                cleanup: None,
            })
        }
        IpcEndpoint::Wildcard => {
            let dir = private_dir()?;
            let path = dir.join("socket");
            let bound = check_len(path.as_os_str().len())
                .and_then(|()| listen(&SockAddr::unix(&path)?, opts));
            match bound {
                Ok(socket) => {
                    let cleanup = cleanup_for(&path, Some(dir));
                    Ok(IpcBound {
                        socket,
                        endpoint: format!("ipc://{}", path.display()),
                        cleanup,
                    })
                }
                Err(e) => {
                    let _ = std::fs::remove_dir(&dir);
                    Err(e)
                }
            }
        }
    }
}

/// The socket address to connect to.
pub(crate) fn connect_addr(ep: &IpcEndpoint) -> Result<SockAddr, TransportError> {
    match ep {
        IpcEndpoint::Path(path) => {
            check_len(path.as_os_str().len())?;
            Ok(SockAddr::unix(path)?)
        }
        IpcEndpoint::Abstract(name) => abstract_addr(name),
        IpcEndpoint::Wildcard => {
            Err(EndpointError::Invalid("ipc://* is only allowed when binding".into()).into())
        }
    }
}

/// Starts a non-blocking connect. Returns the socket and whether it completed at once.
pub(crate) fn connect(addr: &SockAddr, opts: &ConnOptions) -> io::Result<(Socket, bool)> {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    crate::stream::buffers(&(&socket).into(), opts)?;
    match socket.connect(addr) {
        Ok(()) => Ok((socket, true)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok((socket, false)),
        Err(e) => Err(e),
    }
}

/// A Linux abstract address. libzmq passes `offsetof(sun_path) + strlen("@name")` as the address
/// length, i.e. no trailing NULs; socket2 computes exactly that for a path starting with NUL.
fn abstract_addr(name: &[u8]) -> Result<SockAddr, TransportError> {
    check_len(name.len() + 1)?;
    let mut raw = Vec::with_capacity(name.len() + 1);
    raw.push(0);
    raw.extend_from_slice(name);
    Ok(SockAddr::unix(Path::new(OsStr::from_bytes(&raw)))?)
}

fn check_len(len: usize) -> Result<(), TransportError> {
    if len > MAX_IPC_PATH {
        Err(TransportError::NameTooLong)
    } else {
        Ok(())
    }
}

fn listen(addr: &SockAddr, opts: &ConnOptions) -> Result<Socket, TransportError> {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.bind(addr)?;
    socket.listen(opts.backlog.max(1))?;
    Ok(socket)
}

fn remove_stale(path: &Path) -> Result<(), TransportError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        // Not a socket: leave it alone; bind then fails with EADDRINUSE.
        return Ok(());
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(TransportError::AddrInUse),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn cleanup_for(path: &Path, dir: Option<PathBuf>) -> Option<IpcCleanup> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    Some(IpcCleanup {
        path: path.to_owned(),
        dev: meta.dev(),
        ino: meta.ino(),
        dir,
    })
}

/// Creates a fresh private (0700) directory `tmpXXXXXXXX` under the temp dir, as libzmq's
/// `mkdtemp` for `ipc://*`.
fn private_dir() -> Result<PathBuf, TransportError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()) ^ d.as_secs());
    let mut seed = nanos ^ (u64::from(std::process::id()) << 32);
    for _ in 0..64 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed) | 1);
        let dir = base.join(format!("tmp{}", base36(seed >> 16)));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(TransportError::Io(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a unique ipc directory",
    )))
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    for _ in 0..8 {
        // `n % 36` is below 36, so the index is in range.
        out.push(DIGITS[usize::try_from(n % 36).unwrap_or(0)]);
        n /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abstract_address_has_no_trailing_nuls() {
        let addr = abstract_addr(b"name").unwrap();
        // sa_family (2 octets) + NUL + "name".
        assert_eq!(usize::try_from(addr.len()).unwrap(), 2 + 1 + 4);
        assert_eq!(addr.as_abstract_namespace(), Some(&b"name"[..]));
    }

    #[test]
    fn stale_socket_file_is_replaced_but_live_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let opts = ConnOptions::new(zmtp_codec::Config::new(zmtp_codec::SocketType::PEER));
        let first = bind(&IpcEndpoint::Path(path.clone()), &opts).unwrap();
        assert!(matches!(
            bind(&IpcEndpoint::Path(path.clone()), &opts),
            Err(TransportError::AddrInUse)
        ));
        drop(first.socket);
        // The file is still there but nobody listens: a stale file.
        assert!(path.exists());
        let second = bind(&IpcEndpoint::Path(path.clone()), &opts).unwrap();
        second.cleanup.as_ref().unwrap().run();
        assert!(!path.exists());
    }

    #[test]
    fn wildcard_creates_and_removes_a_private_dir() {
        let opts = ConnOptions::new(zmtp_codec::Config::new(zmtp_codec::SocketType::PEER));
        let bound = bind(&IpcEndpoint::Wildcard, &opts).unwrap();
        let path = PathBuf::from(bound.endpoint.strip_prefix("ipc://").unwrap());
        assert!(path.ends_with("socket"));
        assert!(path.exists());
        bound.cleanup.as_ref().unwrap().run();
        assert!(!path.exists());
        assert!(!path.parent().unwrap().exists());
    }

    #[test]
    fn too_long_is_name_too_long() {
        let opts = ConnOptions::new(zmtp_codec::Config::new(zmtp_codec::SocketType::PEER));
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(200)));
        assert!(matches!(
            bind(&IpcEndpoint::Path(long), &opts),
            Err(TransportError::NameTooLong)
        ));
    }
}
