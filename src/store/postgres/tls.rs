//! TLS to PostgreSQL as libpq's `sslmode` and `sslrootcert` describe it
//! (<https://www.postgresql.org/docs/current/libpq-ssl.html>, "SSL Mode
//! Descriptions"), with rustls and its `ring` provider:
//!
//! - `disable`, `allow`, or no `sslmode`: no TLS. We do not try TLS
//!   opportunistically for these (libpq's default is `prefer`; ours is plain).
//! - `prefer`: TLS when the server offers it, plain otherwise. A TLS handshake
//!   that fails is an error (libpq would retry in plain text).
//! - `require`: TLS; the certificate is not verified, unless `sslrootcert` names
//!   a file, in which case it is verified as for `verify-ca`.
//! - `verify-ca`: TLS; the certificate must chain to a root in `sslrootcert` (a
//!   PEM file, which may hold several certificates) or, without it, to one of the
//!   Mozilla roots (built in). The host name is not checked.
//! - `verify-full`: as `verify-ca`, and the certificate must also name the host.
//!
//! `sslrootcert=system` means the Mozilla roots and, as in libpq, `verify-full`
//! (the default with it, and the only mode allowed). libpq's default root file,
//! `~/.postgresql/root.crt`, is never read: name the file.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// The mode a URL's `sslmode` value names (spelled as libpq spells it).
    pub(super) fn parse(value: &str) -> Option<SslMode> {
        match value {
            "disable" => Some(SslMode::Disable),
            "allow" => Some(SslMode::Allow),
            "prefer" => Some(SslMode::Prefer),
            "require" => Some(SslMode::Require),
            "verify-ca" => Some(SslMode::VerifyCa),
            "verify-full" => Some(SslMode::VerifyFull),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// What is checked of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verification {
    /// Nothing: the connection is encrypted, the server not authenticated.
    Nothing,
    /// The chain, up to a trusted root; not the host name.
    Chain,
    /// The chain and the host name.
    ChainAndName,
}

/// How to connect: whether to use TLS, and the connector that does it.
pub(super) struct Tls {
    pub(super) mode: postgres::config::SslMode,
    pub(super) verification: Verification,
    pub(super) connector: MakeRustlsConnect,
}

/// The TLS a URL's `sslmode` and `sslrootcert` ask for. The root file, when one
/// is named and TLS may be used, is read here: a missing or unreadable one is a
/// [`StoreError::BadUrl`] naming the file.
pub(super) fn tls(mode: Option<SslMode>, root_cert: Option<&str>) -> Result<Tls, StoreError> {
    let system = root_cert == Some("system");
    let mode = match (mode, system) {
        (None, true) => SslMode::VerifyFull,
        (Some(weak), true) if weak != SslMode::VerifyFull => {
            return Err(StoreError::BadUrl(format!(
                "sslmode={} may not be used with sslrootcert=system (use sslmode=verify-full)",
                weak.name()
            )));
        }
        (mode, _) => mode.unwrap_or(SslMode::Disable),
    };
    let (client_mode, verification) = match mode {
        SslMode::Disable | SslMode::Allow => {
            // Never used for a handshake; verifying everything all the same.
            let connector = verifying_connector(mozilla_roots(), true)?;
            return Ok(Tls {
                mode: postgres::config::SslMode::Disable,
                verification: Verification::ChainAndName,
                connector,
            });
        }
        SslMode::Prefer | SslMode::Require if root_cert.is_none() => {
            let config = client_config()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
                .with_no_client_auth();
            let mode = if mode == SslMode::Prefer {
                postgres::config::SslMode::Prefer
            } else {
                postgres::config::SslMode::Require
            };
            return Ok(Tls {
                mode,
                verification: Verification::Nothing,
                connector: MakeRustlsConnect::new(config),
            });
        }
        SslMode::Prefer => (postgres::config::SslMode::Prefer, Verification::Chain),
        SslMode::Require | SslMode::VerifyCa => (postgres::config::SslMode::Require, Verification::Chain),
        SslMode::VerifyFull => (postgres::config::SslMode::Require, Verification::ChainAndName),
    };
    let roots = match root_cert {
        None | Some("system") => mozilla_roots(),
        Some(file) => roots_from_file(file)?,
    };
    Ok(Tls {
        mode: client_mode,
        verification,
        connector: verifying_connector(roots, verification == Verification::ChainAndName)?,
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration with the `ring` provider and rustls's default
/// protocol versions (TLS 1.2 and 1.3).
fn client_config() -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, StoreError> {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| StoreError::BadUrl(format!("TLS cannot be set up: {error}")))
}

/// A connector that verifies the chain against `roots`, and the host name when
/// `check_name`.
fn verifying_connector(roots: RootCertStore, check_name: bool) -> Result<MakeRustlsConnect, StoreError> {
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|error| StoreError::BadUrl(format!("TLS cannot be set up: {error}")))?;
    let builder = client_config()?;
    let config = if check_name {
        builder.with_webpki_verifier(verifier).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(verifier)))
            .with_no_client_auth()
    };
    Ok(MakeRustlsConnect::new(config))
}

fn mozilla_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The certificates of a PEM file, as roots. The errors name the file (never the
/// URL, which may hold a password).
fn roots_from_file(file: &str) -> Result<RootCertStore, StoreError> {
    let unreadable = |reason: String| StoreError::BadUrl(format!("sslrootcert={file}: {reason}"));
    let certificates = CertificateDer::pem_file_iter(file)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|error| unreadable(format!("cannot be read: {error}")))?;
    if certificates.is_empty() {
        return Err(unreadable("holds no PEM certificate".to_owned()));
    }
    let mut roots = RootCertStore::empty();
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|error| unreadable(format!("holds a certificate that cannot be used: {error}")))?;
    }
    Ok(roots)
}

/// `sslmode=require` (or `prefer`) without a root file: any certificate is
/// accepted; the handshake's signatures are still checked, by the provider.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: rustls's own verifier, whose refusal of the host name alone is
/// overruled. It checks the name last, after the chain, its validity dates and
/// revocation, so a name error means everything else passed.
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
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
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
}
