//! Local stand-in for the API Gateway JWT authorizer: ES256 tokens signed with a key
//! kept in the data dir, verified (signature, expiry, issuer, audience) before any
//! handler runs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The issuer of local tokens (the template's JWT authorizer takes the real one).
pub const ISSUER: &str = "directory-local";
/// The audience of local tokens.
pub const AUDIENCE: &str = "directory-api";
/// Clock skew tolerated on `exp` / `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;
const KEY_FILE: &str = "signing-key";

/// The signing key of this data dir.
pub struct Keys {
    signing: SigningKey,
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
        Ok(Self { signing, verifying })
    }

    /// Mints a token for `organisation_id` with `scope`, valid for `ttl_secs`.
    pub fn mint(&self, sub: &str, organisation_id: &str, scope: &str, ttl_secs: u64) -> String {
        let iat = now();
        self.sign(&json!({
            "sub": sub,
            "organisation_id": organisation_id,
            "scope": scope,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": iat,
            "exp": iat + ttl_secs,
        }))
    }

    /// Signs arbitrary claims (tests use it for expired or foreign tokens).
    pub fn sign(&self, claims: &Value) -> String {
        let header = B64.encode(br#"{"alg":"ES256","typ":"JWT","kid":"local"}"#);
        let payload = B64.encode(claims.to_string());
        let input = format!("{header}.{payload}");
        let sig: Signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.to_bytes()))
    }

    /// Verifies a compact JWS and its registered claims; returns the claims.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, String> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err("malformed token".into());
        };
        let header: Value = B64
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("malformed token header")?;
        if header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return Err("unsupported token algorithm".into());
        }
        let sig = B64
            .decode(s)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or("malformed signature")?;
        self.verifying
            .verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| "bad token signature".to_owned())?;
        let claims: Map<String, Value> = B64
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("malformed token payload")?;
        let t = now();
        match claims.get("exp").and_then(Value::as_u64) {
            Some(exp) if exp + LEEWAY_SECS > t => {}
            Some(_) => return Err("token expired".into()),
            None => return Err("token without exp".into()),
        }
        if claims
            .get("nbf")
            .and_then(Value::as_u64)
            .is_some_and(|nbf| nbf > t + LEEWAY_SECS)
        {
            return Err("token not yet valid".into());
        }
        if claims.get("iss").and_then(Value::as_str) != Some(ISSUER) {
            return Err("wrong token issuer".into());
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == AUDIENCE,
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(AUDIENCE)),
            _ => false,
        };
        if !aud_ok {
            return Err("wrong token audience".into());
        }
        // A scope is a string or an array of scope tokens; a string's tokens are
        // checked where every route reads them (`auth::parse_scope`).
        match claims.get("scope") {
            None | Some(Value::String(_)) => {}
            // Each element one token: API Gateway renders an array as `[a b]`, so an
            // element holding a space would read as two scopes.
            Some(Value::Array(items))
                if items.iter().all(|v| {
                    v.as_str()
                        .and_then(directory_core::auth::parse_scope)
                        .is_some_and(|t| t.len() == 1)
                }) => {}
            Some(_) => return Err("invalid scope claim".into()),
        }
        Ok(claims)
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
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

    fn keys() -> (Keys, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Keys::load_or_create(dir.path()).unwrap(), dir)
    }

    #[test]
    fn minted_tokens_verify_and_the_key_persists() {
        let (k, dir) = keys();
        let t = k.mint("alice", "org-1", "directory:read", 60);
        let claims = k.verify(&t).unwrap();
        assert_eq!(claims["organisation_id"], "org-1");
        let again = Keys::load_or_create(dir.path()).unwrap();
        assert!(again.verify(&t).is_ok(), "same key after reload");
    }

    #[test]
    fn bad_tokens_are_refused() {
        let (k, _d) = keys();
        let (other, _d2) = keys();
        let base = json!({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 60});
        assert_eq!(k.verify(&other.sign(&base)).unwrap_err(), "bad token signature");
        let mut expired = base.clone();
        expired["exp"] = json!(now() - 3600);
        assert_eq!(k.verify(&k.sign(&expired)).unwrap_err(), "token expired");
        let mut aud = base.clone();
        aud["aud"] = json!("someone-else");
        assert_eq!(k.verify(&k.sign(&aud)).unwrap_err(), "wrong token audience");
        let mut iss = base.clone();
        iss["iss"] = json!("evil");
        assert_eq!(k.verify(&k.sign(&iss)).unwrap_err(), "wrong token issuer");
        assert!(k.verify("a.b").is_err());
        let t = k.sign(&base);
        let tampered = t.replacen('.', ".e30", 1);
        assert!(k.verify(&tampered).is_err());
        let none_alg = format!("{}.{}.", B64.encode(br#"{"alg":"none"}"#), B64.encode(base.to_string()));
        assert_eq!(k.verify(&none_alg).unwrap_err(), "unsupported token algorithm");
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
