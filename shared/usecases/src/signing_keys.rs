//! The directory's own signing keys over time: kept in the store, recorded when a key
//! first signs, never taken from a published object (docs/design.md, "Signed
//! participants file").

use crate::ports::{Document, Documents, MAX_WRITE_ATTEMPTS, StoreError};
use directory_domain::signature::{Jwks, KeyHistory, SignError, Signer};

/// Why the key history could not be read or recorded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("key history: {0}")]
    Encode(String),
}

/// The history of the key that signs the participants file.
pub const PARTICIPANTS_KEYS: Document = Document::KeyHistory("participants");

/// The stored history and its version (`None`: never written).
async fn read<S: Documents>(store: &S, document: Document) -> Result<(KeyHistory, Option<u64>), KeyError> {
    match store.document(document).await? {
        None => Ok((KeyHistory::default(), None)),
        Some(stored) => {
            let history = serde_json::from_str(&stored.body).map_err(|e| StoreError::Corrupt {
                key: format!("{document:?}"),
                reason: e.to_string(),
            })?;
            Ok((history, Some(stored.version)))
        }
    }
}

/// What recording the signer's key found.
pub struct Recorded {
    /// The JWKS that verifies the directory's files from now on.
    pub jwks: Jwks,
    /// The key was not the current one before: the published key set lacks it until
    /// the next export writes it.
    pub new: bool,
}

/// Records the signer's key as the current one at `now` (the key it replaces is
/// retired then). Concurrent recorders retry on the version they read.
pub async fn record<S: Documents>(
    store: &S,
    document: Document,
    signer: &dyn Signer,
    now: i64,
) -> Result<Recorded, KeyError> {
    let current = signer.public_jwk().await?;
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let (history, version) = read(store, document).await?;
        let Some(next) = history.with_current(&current, now) else {
            return Ok(Recorded {
                jwks: history.jwks(now),
                new: false,
            });
        };
        let body = serde_json::to_string(&next).map_err(|e| KeyError::Encode(e.to_string()))?;
        if store.put_document(document, &body, version).await? {
            tracing::info!(kid = %current.kid, keys = next.keys.len(), "signing key history recorded");
            return Ok(Recorded {
                jwks: next.jwks(now),
                new: true,
            });
        }
    }
    Err(StoreError::Contention(MAX_WRITE_ATTEMPTS).into())
}

/// The JWKS that verifies what the directory has published: the stored history, or
/// before anything was signed, the signer's key alone. Records nothing.
pub async fn published<S: Documents>(
    store: &S,
    document: Document,
    signer: &dyn Signer,
    now: i64,
) -> Result<Jwks, KeyError> {
    let (history, version) = read(store, document).await?;
    match version {
        Some(_) if !history.keys.is_empty() => Ok(history.jwks(now)),
        _ => Ok(Jwks::of(signer.public_jwk().await?)),
    }
}
