//! Mutual TLS for the local server: a local CA, the server certificate and client
//! certificates per organisation, generated on first use into `<data-dir>/tls`
//! (keys 0600), and the rustls server configuration that requires a client
//! certificate issued by that CA — what API Gateway's truststore does in AWS.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const CA_NAME: &str = "directory local CA";

/// The local certificate authority and the server's certificate.
pub struct LocalPki {
    dir: PathBuf,
    ca_key: KeyPair,
}

/// Where one issued client certificate and its key were written.
pub struct ClientCert {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// RFC 8705 `x5t#S256` of the certificate (what `token --cnf` binds to).
    pub thumbprint: String,
}

fn err(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

fn rc(e: rcgen::Error) -> String {
    format!("certificate generation failed: {e}")
}

/// The CA's parameters: the same on every start, so the issuer name of new
/// certificates matches the stored CA certificate.
fn ca_params() -> Result<CertificateParams, String> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rc)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

impl LocalPki {
    /// Loads the CA of `data_dir`, creating the CA and the server certificate on
    /// first use.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, String> {
        let dir = data_dir.join("tls");
        let ca_key_path = dir.join("ca-key.pem");
        let ca_key = match std::fs::read_to_string(&ca_key_path) {
            Ok(pem) => KeyPair::from_pem(&pem).map_err(|e| format!("{}: {e}", ca_key_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&dir).map_err(err(&dir))?;
                let key = KeyPair::generate().map_err(rc)?;
                let ca = ca_params()?.self_signed(&key).map_err(rc)?;
                crate::jwt::write_private(&ca_key_path, &key.serialize_pem())?;
                std::fs::write(dir.join("ca.pem"), ca.pem()).map_err(err(&dir))?;
                key
            }
            Err(e) => return Err(format!("{}: {e}", ca_key_path.display())),
        };
        let pki = Self { dir, ca_key };
        if !pki.dir.join("server.pem").exists() {
            pki.issue_server()?;
        }
        Ok(pki)
    }

    /// The CA certificate a client passes to `curl --cacert`.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn issue(&self, params: CertificateParams) -> Result<(String, String), String> {
        let key = KeyPair::generate().map_err(rc)?;
        let issuer = Issuer::new(ca_params()?, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).map_err(rc)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    fn issue_server(&self) -> Result<(), String> {
        let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()])
            .map_err(rc)?;
        params.distinguished_name.push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let (cert, key) = self.issue(params)?;
        let path = self.dir.join("server.pem");
        std::fs::write(&path, cert).map_err(err(&path))?;
        let key_path = self.dir.join("server-key.pem");
        let _ = std::fs::remove_file(&key_path);
        crate::jwt::write_private(&key_path, &key)
    }

    /// Issues a client certificate for `organisation_id` (its common name) into
    /// `out` (default `<data-dir>/tls/clients`), replacing an earlier one.
    pub fn issue_client(&self, organisation_id: &str, out: Option<&Path>) -> Result<ClientCert, String> {
        let safe = !organisation_id.is_empty()
            && organisation_id.len() <= 64
            && organisation_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !safe {
            return Err(format!(
                "--org: {organisation_id:?} is not an organisation id (letters, digits, - and _, at most 64)"
            ));
        }
        let out = out.map_or_else(|| self.dir.join("clients"), Path::to_path_buf);
        std::fs::create_dir_all(&out).map_err(err(&out))?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rc)?;
        params.distinguished_name.push(DnType::CommonName, organisation_id);
        params
            .distinguished_name
            .push(DnType::OrganizationName, organisation_id);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let (cert_pem, key_pem) = self.issue(params)?;
        let cert = out.join(format!("{organisation_id}.pem"));
        let key = out.join(format!("{organisation_id}-key.pem"));
        std::fs::write(&cert, &cert_pem).map_err(err(&cert))?;
        let _ = std::fs::remove_file(&key);
        crate::jwt::write_private(&key, &key_pem)?;
        let thumbprint = directory_authz::thumbprint::of_pem(&cert_pem).ok_or("issued certificate unreadable")?;
        Ok(ClientCert { cert, key, thumbprint })
    }

    /// The server side of mutual TLS: the server certificate, and client
    /// certificates required and verified against the local CA.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        let ca_path = self.ca_path();
        let ca = CertificateDer::from_pem_file(&ca_path).map_err(|e| format!("{}: {e}", ca_path.display()))?;
        roots.add(ca).map_err(|e| format!("{}: {e}", ca_path.display()))?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("client verifier: {e}"))?;
        let cert_path = self.dir.join("server.pem");
        let chain = CertificateDer::pem_file_iter(&cert_path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{}: {e}", cert_path.display()))?;
        let key_path = self.dir.join("server-key.pem");
        let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS versions: {e}"))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| format!("server certificate: {e}"))?;
        Ok(Arc::new(config))
    }
}

/// A DER certificate as the PEM text API Gateway puts in `clientCertPem`.
pub fn to_pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_made_once_and_clients_chain_to_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let pki = LocalPki::load_or_create(dir.path()).unwrap();
        let ca_before = std::fs::read(pki.ca_path()).unwrap();
        let client = pki.issue_client("org-1", None).unwrap();
        let pem = std::fs::read_to_string(&client.cert).unwrap();
        assert_eq!(
            directory_authz::thumbprint::of_pem(&pem),
            Some(client.thumbprint.clone())
        );
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        assert_eq!(to_pem(der.as_ref()), pem, "round trip through the event form");
        // Reloading keeps the CA, and the server config builds.
        let again = LocalPki::load_or_create(dir.path()).unwrap();
        assert_eq!(std::fs::read(again.ca_path()).unwrap(), ca_before);
        assert!(again.server_config().is_ok());
        assert!(pki.issue_client("../evil", None).is_err());
    }
}
