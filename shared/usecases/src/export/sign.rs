//! Signing what was published: the detached JWS of the file (read back from the
//! target), the JWKS derived from the store's key history, and the explorer's files.

use super::target::ObjectTarget;
use super::{ExportError, ExportStore};
use crate::signing_keys as keys;
use directory_domain::signature::{self, JWKS_KEY, Jwks, SIGNATURE_KEY};

/// The published file's signature: the stored one when the file was left as it was and
/// that signature is for these bytes at this revision by the current key (no re-sign),
/// else a new one,
/// published after the file and after the JWKS holding its key, so a reader that finds
/// it finds its key. The JWKS comes from the store's key history, never from the
/// published `participants.jwks`.
pub(super) async fn ensure_signed<S: ExportStore, T: ObjectTarget>(
    store: &S,
    target: &T,
    sha256: &str,
    revision: u64,
    unchanged: bool,
) -> Result<(String, bool), ExportError> {
    let signer = target.signer();
    let kid = signer.public_jwk().await?.kid;
    if unchanged
        && let Some(stored) = target.get_beside(SIGNATURE_KEY).await?
        && let Ok(stored) = String::from_utf8(stored)
        && signature::header_of(&stored)
            .is_some_and(|h| h.sha256 == sha256 && h.kid == kid && h.revision == Some(revision))
    {
        return Ok((stored, false));
    }
    let now = crate::clock::now();
    let subject = signature::Subject::file(sha256, Some(revision));
    let jws = signature::sign_file(signer, &subject, now, |mut input| async move {
        target.read_published(&mut |bytes| input.update(bytes)).await?;
        Ok::<_, ExportError>(input)
    })
    .await?;
    let jwks = keys::record(store, keys::PARTICIPANTS_KEYS, signer, now).await?.jwks;
    let body = serde_json::to_vec_pretty(&jwks).map_err(|e| ExportError::Target(e.to_string()))?;
    if target.get_beside(JWKS_KEY).await?.as_deref() != Some(body.as_slice()) {
        target.put_beside(JWKS_KEY, body, signature::JWKS_CONTENT_TYPE).await?;
    }
    target
        .put_beside(
            SIGNATURE_KEY,
            jws.clone().into_bytes(),
            signature::SIGNATURE_CONTENT_TYPE,
        )
        .await?;
    Ok((jws, true))
}

/// Publishes the explorer page's files beside the file, each only when it differs from
/// what is there (so an unchanged run writes nothing). The stored copies are read
/// together: this runs on every export, the HTTP route's included.
pub(super) async fn publish_explorer<T: ObjectTarget>(target: &T) -> Result<(), ExportError> {
    let assets = &crate::explorer::ASSETS;
    let stored = futures_util::future::try_join_all(assets.iter().map(|a| target.get_beside(a.name))).await?;
    for (asset, stored) in assets.iter().zip(stored) {
        if stored.as_deref() != Some(asset.body.as_bytes()) {
            target
                .put_beside(asset.name, asset.body.as_bytes().to_vec(), asset.content_type)
                .await?;
        }
    }
    Ok(())
}

/// The keys that verify the directory's published files (the store's key history, or
/// before the first signed publish the current key alone).
pub async fn participants_jwks<S: ExportStore, T: ObjectTarget>(store: &S, target: &T) -> Result<Jwks, ExportError> {
    let now = crate::clock::now();
    keys::published(store, keys::PARTICIPANTS_KEYS, target.signer(), now)
        .await
        .map_err(Into::into)
}
