//! The local token issuer: ES256 tokens signed (by `jsonwebtoken`) with a key kept in
//! the data dir, and its public key as a JWKS. Verification is not here: the local server runs the
//! Lambda authorizer's decision (`directory_authz`) over this key set.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use directory_authz::{Authorizer, Policy, StaticKeys};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::EncodePrivateKey;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The issuer of local tokens (the template's JWT authorizer takes the real one).
pub const ISSUER: &str = "directory-local";
/// The audience of local tokens.
pub const AUDIENCE: &str = "directory-api";
const KEY_FILE: &str = "signing-key";

/// The signing key of this data dir.
pub struct Keys {
    /// The key in the form the JOSE library signs with (PKCS #8).
    encoding: EncodingKey,
    verifying: VerifyingKey,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Keys {
    /// Loads the key of `dir`, creating it on first use (owner-only permissions).
    pub fn load_or_create(dir: &Path) -> Result<Self, String> {
        let path = dir.join(KEY_FILE);
        let signing = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = B64
                    .decode(text.trim())
                    .map_err(|e| format!("{}: not a key: {e}", path.display()))?;
                SigningKey::from_slice(&bytes).map_err(|e| format!("{}: not a P-256 key: {e}", path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let key = loop {
                    let mut secret = [0u8; 32];
                    getrandom::fill(&mut secret).map_err(|e| format!("no randomness: {e}"))?;
                    if let Ok(k) = SigningKey::from_slice(&secret) {
                        break k;
                    }
                };
                write_private(&path, &B64.encode(key.to_bytes()))?;
                key
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let verifying = *signing.verifying_key();
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| format!("{}: cannot encode the key: {e}", path.display()))?;
        Ok(Self {
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            verifying,
        })
    }

    /// Mints a token for `organisation_id` with `scope`, valid for `ttl_secs`, bound
    /// to the certificate with thumbprint `cnf` (RFC 8705 `x5t#S256`) when given.
    pub fn mint(&self, sub: &str, organisation_id: &str, scope: &str, ttl_secs: u64, cnf: Option<&str>) -> String {
        let iat = now();
        let mut claims = json!({
            "sub": sub,
            "organisation_id": organisation_id,
            "scope": scope,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": iat,
            "exp": iat + ttl_secs,
        });
        if let Some(thumbprint) = cnf {
            claims["cnf"] = json!({ "x5t#S256": thumbprint });
        }
        self.sign(&claims)
    }

    /// Signs arbitrary claims (tests use it for expired or foreign tokens).
    pub fn sign(&self, claims: &Value) -> String {
        let header = Header {
            kid: Some(self.kid()),
            ..Header::new(Algorithm::ES256)
        };
        // Claims are a JSON value and the key a valid P-256 key: encoding cannot fail.
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap_or_default()
    }

    /// The public key as a JWK; its `kid` is the RFC 7638 thumbprint, so a new key
    /// gets a new `kid` and the authorizer's refresh-on-unknown-kid path applies.
    pub fn jwk(&self) -> Value {
        let mut jwk = self.public_members();
        jwk.insert("kid".into(), Value::String(self.kid()));
        jwk.insert("use".into(), Value::String("sig".into()));
        jwk.insert("alg".into(), Value::String("ES256".into()));
        Value::Object(jwk)
    }

    /// The key set the local server publishes at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// The required members of the EC public key, in RFC 7638 order.
    fn public_members(&self) -> Map<String, Value> {
        let point = self.verifying.to_sec1_point(false);
        let coordinate = |c: Option<&p256::FieldBytes>| Value::String(c.map(|b| B64.encode(b)).unwrap_or_default());
        let mut m = Map::new();
        m.insert("crv".into(), Value::String("P-256".into()));
        m.insert("kty".into(), Value::String("EC".into()));
        m.insert("x".into(), coordinate(point.x()));
        m.insert("y".into(), coordinate(point.y()));
        m
    }

    /// RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
    pub fn kid(&self) -> String {
        use sha2::{Digest, Sha256};
        B64.encode(Sha256::digest(Value::Object(self.public_members()).to_string()))
    }

    /// The authorizer the local server runs: this key, the local issuer and
    /// audience, binding required under mutual TLS.
    pub fn authorizer(&self, require_binding: bool) -> Authorizer<StaticKeys> {
        let set = serde_json::from_value(self.jwks()).unwrap_or_else(|_| JwkSet { keys: Vec::new() });
        Authorizer::new(
            Policy {
                issuer: ISSUER.to_owned(),
                audience: AUDIENCE.to_owned(),
                algorithms: Policy::algorithms(false),
                require_binding,
            },
            StaticKeys(set),
        )
    }
}

pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a duration like `3600`, `90s`, `15m`, `1h`, `7d` into seconds.
pub fn parse_ttl(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("--ttl: not a duration: {text:?} (try 3600, 15m, 1h, 7d)"))?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        _ => return Err(format!("--ttl: unknown unit {unit:?} (s, m, h or d)")),
    };
    n.checked_mul(factor)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("--ttl: out of range: {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use directory_authz::Deny;

    fn keys() -> (Keys, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Keys::load_or_create(dir.path()).unwrap(), dir)
    }

    #[tokio::test]
    async fn minted_tokens_pass_the_authorizer_and_the_key_persists() {
        let (k, dir) = keys();
        let t = k.mint("alice", "org-1", "directory:read", 60, None);
        let id = k.authorizer(false).decide(Some(&t), None).await.unwrap();
        assert_eq!(id.organisation_id.as_deref(), Some("org-1"));
        let again = Keys::load_or_create(dir.path()).unwrap();
        assert_eq!(again.kid(), k.kid(), "same key after reload");
        assert!(again.authorizer(false).decide(Some(&t), None).await.is_ok());
        // Unbound tokens are refused once mutual TLS is on.
        assert_eq!(k.authorizer(true).decide(Some(&t), None).await, Err(Deny::Unbound));
    }

    #[tokio::test]
    async fn another_key_is_unknown_and_bad_claims_are_refused() {
        let (k, _d) = keys();
        let (other, _d2) = keys();
        let authorizer = k.authorizer(false);
        let base = json!({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 60});
        assert_eq!(
            authorizer.decide(Some(&other.sign(&base)), None).await,
            Err(Deny::UnknownKey)
        );
        let mut expired = base.clone();
        expired["exp"] = json!(now() - 3600);
        assert_eq!(
            authorizer.decide(Some(&k.sign(&expired)), None).await,
            Err(Deny::Expired)
        );
        let mut aud = base.clone();
        aud["aud"] = json!("someone-else");
        assert_eq!(authorizer.decide(Some(&k.sign(&aud)), None).await, Err(Deny::Audience));
    }

    #[test]
    fn the_kid_is_the_rfc7638_thumbprint() {
        let (k, _d) = keys();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(k.jwk()).unwrap();
        assert_eq!(
            jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap(),
            k.kid()
        );
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("3600").unwrap(), 3600);
        assert_eq!(parse_ttl("15m").unwrap(), 900);
        assert_eq!(parse_ttl("1h").unwrap(), 3600);
        assert_eq!(parse_ttl("7d").unwrap(), 604800);
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("1y").is_err());
        assert!(parse_ttl("abc").is_err());
    }
}
