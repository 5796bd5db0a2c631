//! wss: TLS (rustls with the ring provider) between the non-blocking tcp socket and the
//! WebSocket engine, and the client / server configurations built from [`TlsOptions`].
//!
//! [`TlsStream`] is a `Read + Write` adapter that pumps records itself (`read_tls` /
//! `process_new_packets` / `write_tls`): every call first pushes pending TLS output, reads only
//! when no plaintext is buffered, and reports `WouldBlock` exactly when the socket did, which is
//! what an edge-triggered mio loop needs.
//!
//! The client always verifies the server's chain against the trusted roots. As libzmq
//! (PROTOCOL.md §6.7), it checks the certificate's name only when `ZMQ_WSS_HOSTNAME` is set
//! ([`ChainOnly`] otherwise).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, Connection, DigitallySignedStruct,
    DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};

use crate::endpoint::Host;
use crate::options::{TlsOptions, TransportError};

/// A TLS session over a non-blocking tcp socket.
pub(crate) struct TlsStream {
    conn: Connection,
    sock: TcpStream,
}

impl TlsStream {
    /// The client side, verifying the server as `name`.
    pub(crate) fn client(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        sock: TcpStream,
    ) -> Result<Self, rustls::Error> {
        Ok(Self {
            conn: ClientConnection::new(config, name)?.into(),
            sock,
        })
    }

    /// The server side.
    pub(crate) fn server(
        config: Arc<ServerConfig>,
        sock: TcpStream,
    ) -> Result<Self, rustls::Error> {
        Ok(Self {
            conn: rustls::ServerConnection::new(config)?.into(),
            sock,
        })
    }

    /// Writes pending TLS records until done or the socket is full.
    fn push(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut eof = false;
        loop {
            match self.conn.reader().read(buf) {
                // Ok(0) here is a clean close_notify.
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e)
                    if e.kind() == io::ErrorKind::UnexpectedEof && self.conn.is_handshaking() =>
                {
                    // Typically a peer that does not speak TLS: say so.
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        rustls::Error::General(
                            "the peer closed the connection during the TLS handshake".into(),
                        ),
                    ));
                }
                // UnexpectedEof: the tcp stream ended without close_notify.
                Err(e) => return Err(e),
            }
            if eof {
                // rustls reports the end itself once it saw it; this only guards the loop.
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.push()?;
            match self.conn.read_tls(&mut self.sock) {
                Ok(0) => eof = true,
                Ok(_) => {
                    if let Err(err) = self.conn.process_new_packets() {
                        // Best effort: the alert rustls queued for the peer.
                        let _ = self.push();
                        return Err(io::Error::new(io::ErrorKind::InvalidData, err));
                    }
                    // Handshake messages (or a key update) may need an answer.
                    self.push()?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // WouldBlock included: nothing buffered and nothing to read.
                Err(e) => return Err(e),
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        self.push()?;
        if n == 0 && !buf.is_empty() {
            // rustls' buffer is full and the socket could not take more: wait for WRITABLE.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The rustls error inside an I/O error produced by [`TlsStream`], as text.
pub(crate) fn error_text(err: &io::Error) -> Option<String> {
    let inner = err.get_ref()?;
    let tls = inner
        .downcast_ref::<rustls::Error>()
        .or_else(|| inner.source()?.downcast_ref::<rustls::Error>())?;
    Some(tls.to_string())
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(what: &str, err: impl std::fmt::Display) -> TransportError {
    TransportError::Tls(format!("{what}: {err}"))
}

/// Parses every certificate of a PEM text; at least one is required.
fn certificates(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error(what, e))?;
    if certs.is_empty() {
        return Err(TransportError::Tls(format!(
            "{what}: no certificate in the PEM text"
        )));
    }
    Ok(certs)
}

/// The server configuration of a wss bind.
///
/// # Errors
/// [`TransportError::Tls`] when the certificate chain or the key is missing, does not parse, or
/// the key does not fit the certificate.
pub(crate) fn server_config(tls: &TlsOptions) -> Result<Arc<ServerConfig>, TransportError> {
    let (Some(chain), Some(key)) = (&tls.cert_chain_pem, &tls.key_pem) else {
        return Err(TransportError::Tls(
            "a wss bind needs a certificate chain and a private key (ZMQ_WSS_CERT_PEM, \
             ZMQ_WSS_KEY_PEM)"
                .into(),
        ));
    };
    let chain = certificates(chain, "certificate chain")?;
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
        .map_err(|e| config_error("private key", e))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error("protocol versions", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| config_error("certificate and key", e))?;
    Ok(Arc::new(config))
}

/// The client configuration of a wss connect and the server name to connect with.
///
/// The chain is always verified against the trusted roots. With a non-empty `tls.hostname`,
/// that name is sent as SNI and must be in the certificate. Without one (libzmq: "if empty, no
/// hostname check is made"), the certificate's name is not checked ([`ChainOnly`]) and the
/// endpoint's host is sent as SNI when it is a DNS name.
///
/// # Errors
/// [`TransportError::Tls`] when there is no trust at all, the trusted PEM does not parse, the
/// system store yields nothing usable while it is the only trust, or `tls.hostname` is not a
/// valid server name.
pub(crate) fn client_config(
    tls: &TlsOptions,
    host: &Host,
) -> Result<(Arc<ClientConfig>, ServerName<'static>), TransportError> {
    if tls.trust_pem.is_none() && !tls.trust_system {
        return Err(TransportError::Tls(
            "a wss connect needs trusted roots (ZMQ_WSS_TRUST_PEM and/or ZMQ_WSS_TRUST_SYSTEM)"
                .into(),
        ));
    }
    let mut roots = RootCertStore::empty();
    if let Some(pem) = &tls.trust_pem {
        for cert in certificates(pem, "trusted certificates")? {
            roots
                .add(cert)
                .map_err(|e| config_error("trusted certificate", e))?;
        }
    }
    if tls.trust_system {
        let system = rustls_native_certs::load_native_certs();
        let (added, _ignored) = roots.add_parsable_certificates(system.certs);
        if added == 0 && tls.trust_pem.is_none() {
            return Err(TransportError::Tls(
                "the system trust store has no usable root certificate".into(),
            ));
        }
    }
    let hostname = tls.hostname.as_deref().filter(|name| !name.is_empty());
    let name = server_name(hostname, host)?;
    let provider = provider();
    let webpki =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .map_err(|e| config_error("trusted roots", e))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error("protocol versions", e))?;
    let config = if hostname.is_some() {
        builder.with_webpki_verifier(webpki)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
    }
    .with_no_client_auth();
    Ok((Arc::new(config), name))
}

/// The server name of a connection: `hostname` when set (sent as SNI and checked), else the
/// endpoint's host. An IP address or a host that is no valid DNS name sends no SNI; its name is
/// not checked either ([`ChainOnly`]), so an unspecified address stands in for the latter.
fn server_name(hostname: Option<&str>, host: &Host) -> Result<ServerName<'static>, TransportError> {
    if let Some(name) = hostname {
        return ServerName::try_from(name.to_owned())
            .map_err(|e| TransportError::Tls(format!("{name:?} is not a TLS server name: {e}")));
    }
    let placeholder = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::UNSPECIFIED).into());
    Ok(match host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        Host::ScopedIpv6 { addr, .. } => ServerName::IpAddress(IpAddr::V6(*addr).into()),
        Host::Name(name) => ServerName::try_from(name.clone()).unwrap_or(placeholder),
        Host::Any => placeholder,
    })
}

/// The server certificate verifier used when no hostname is set: `WebPkiServerVerifier` with its
/// name check waived, as libzmq's "if empty, no hostname check is made" (PROTOCOL.md §6.7).
///
/// Everything else is `WebPkiServerVerifier`'s: the chain must lead to a trusted root, be within
/// its validity period and fit a server; signatures are checked as usual.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict =
            self.0
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match verdict {
            // The WebPKI verifier checks the name last, after the chain to a trusted root has
            // verified: a name error means everything else passed.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.0.root_hint_subjects()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_needs_certificate_and_key() {
        assert!(matches!(
            server_config(&TlsOptions::default()),
            Err(TransportError::Tls(_))
        ));
        let garbage = TlsOptions {
            cert_chain_pem: Some("not pem".into()),
            key_pem: Some("not pem".into()),
            ..TlsOptions::default()
        };
        assert!(matches!(
            server_config(&garbage),
            Err(TransportError::Tls(_))
        ));
    }

    #[test]
    fn connect_needs_trust_and_a_valid_name() {
        let host = Host::Name("localhost".into());
        assert!(matches!(
            client_config(&TlsOptions::default(), &host),
            Err(TransportError::Tls(_))
        ));
        let bad_pem = TlsOptions {
            trust_pem: Some(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            ),
            ..TlsOptions::default()
        };
        assert!(matches!(
            client_config(&bad_pem, &host),
            Err(TransportError::Tls(_))
        ));
        assert!(server_name(Some("bad name!"), &host).is_err());
        assert_eq!(
            server_name(Some("example.com"), &Host::Ip("127.0.0.1".parse().unwrap())).unwrap(),
            ServerName::try_from("example.com").unwrap()
        );
    }

    #[test]
    fn without_hostname_the_endpoint_host_is_the_sni_if_it_can_be() {
        assert_eq!(
            server_name(None, &Host::Ip("127.0.0.1".parse().unwrap())).unwrap(),
            ServerName::try_from("127.0.0.1").unwrap()
        );
        assert_eq!(
            server_name(None, &Host::Name("example.com".into())).unwrap(),
            ServerName::try_from("example.com").unwrap()
        );
        // Not a DNS name: no SNI (an address), and no name check, so the connect still works.
        assert!(matches!(
            server_name(None, &Host::Name("bad name!".into())).unwrap(),
            ServerName::IpAddress(_)
        ));
    }
}
