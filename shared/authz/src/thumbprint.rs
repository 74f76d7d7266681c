//! Certificate thumbprints as RFC 8705 binds tokens to them: the base64url SHA-256 of
//! the certificate's DER, compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The `x5t#S256` of a DER certificate.
pub fn of_der(der: &[u8]) -> String {
    B64.encode(Sha256::digest(der))
}

/// The `x5t#S256` of the first certificate in a PEM text (API Gateway's
/// `clientCertPem`); `None` when the text holds no certificate.
pub fn of_pem(pem: &str) -> Option<String> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .ok()
        .map(|der| of_der(der.as_ref()))
}

/// Whether `claimed` (from the token) names the same thumbprint as `actual`,
/// without an early exit that would leak how many characters matched.
pub fn matches(claimed: &str, actual: &str) -> bool {
    claimed.len() == actual.len() && bool::from(claimed.as_bytes().ct_eq(actual.as_bytes()))
}

/// Whether `text` has the shape of an `x5t#S256` value: 43 base64url characters
/// (32 bytes, no padding).
pub fn well_formed(text: &str) -> bool {
    text.len() == 43 && B64.decode(text).is_ok_and(|bytes| bytes.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_comparison() {
        let t = of_der(b"not really a certificate");
        assert!(well_formed(&t));
        assert!(matches(&t, &t.clone()));
        assert!(!matches(&t, &of_der(b"another")));
        assert!(!matches(&t[..42], &t));
        assert!(!well_formed("abc"));
        assert!(!well_formed(&format!("{}=", &t[..42])));
        assert_eq!(of_pem("no certificate here"), None);
    }
}
