//! Pinning a self-managed entity's federation keys (admin only): the directory vouches
//! for an authorisation server's `FederationEndpoint` with these keys and no others,
//! until an admin pins again. Keys are either registered by the admin (given in the
//! request) or fetched once from the entity's configuration, whose self-signature
//! must verify with the keys it carries.

use super::{EntityFetch, FedError, check_configuration};
use crate::ports::{AuditLog, ChangeFeed, FederationStore, MAX_WRITE_ATTEMPTS, StoreError};
use directory_domain::audit::{self, Actor, AuditRecord};
use directory_domain::federation::{self as fed, Pin};
use directory_domain::ids::OrganisationId;
use directory_domain::model::common::OrganisationStatus;
use directory_domain::model::export::ExportOrganisation;
use directory_domain::signature::Jwks;
use serde::Deserialize;
use serde_json::json;

/// The largest number of keys a pin holds.
pub const MAX_PINNED_KEYS: usize = 10;

/// The admin's request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PinRequest {
    pub organisation_id: String,
    pub authorisation_server_id: String,
    /// Keys registered out of band; absent: fetched from the entity's configuration.
    #[serde(default)]
    pub jwks: Option<Jwks>,
}

fn keys_usable(jwks: &Jwks) -> Result<(), FedError> {
    if jwks.keys.is_empty() || jwks.keys.len() > MAX_PINNED_KEYS {
        return Err(FedError::InvalidRequest(format!(
            "Jwks.keys: between 1 and {MAX_PINNED_KEYS} keys"
        )));
    }
    if let Some(bad) = jwks
        .keys
        .iter()
        .position(|k| k.verifying_key().is_none() || k.kid.is_empty())
    {
        return Err(FedError::InvalidRequest(format!(
            "Jwks.keys[{bad}]: must be a P-256 public key (kty EC, crv P-256) with a kid"
        )));
    }
    Ok(())
}

/// Pins the keys of the authorisation server's federation entity; the pin written.
pub async fn pin<S: FederationStore + ChangeFeed + AuditLog>(
    store: &S,
    fetch: &dyn EntityFetch,
    actor: &Actor,
    request: PinRequest,
    loopback: bool,
    now: i64,
) -> Result<Pin, FedError> {
    let org_id = OrganisationId::parse(&request.organisation_id)
        .map_err(|p| FedError::InvalidRequest(format!("OrganisationId: {}", p.join("; "))))?;
    let (Some(record), _) = store.public_record(&org_id).await? else {
        return Err(FedError::NotFound(format!(
            "no organisation {}",
            request.organisation_id
        )));
    };
    let org: ExportOrganisation = serde_json::from_str(&record.0).map_err(|e| StoreError::Corrupt {
        key: "public record".into(),
        reason: e.to_string(),
    })?;
    if org.status != OrganisationStatus::Active {
        return Err(FedError::InvalidRequest(format!(
            "OrganisationId: {} is not Active",
            request.organisation_id
        )));
    }
    let server = org
        .authorisation_servers
        .iter()
        .find(|s| s.fields.authorisation_server_id == request.authorisation_server_id)
        .ok_or_else(|| FedError::NotFound(format!("no authorisation server {}", request.authorisation_server_id)))?;
    let entity_id = server.fields.federation_endpoint.clone().ok_or_else(|| {
        FedError::InvalidRequest(
            "AuthorisationServerId: the server has no FederationEndpoint (a self-managed entity's identifier)".into(),
        )
    })?;
    if !fed::valid_entity_id(&entity_id, loopback) {
        return Err(FedError::InvalidRequest(format!(
            "FederationEndpoint: {entity_id} is not an https entity identifier"
        )));
    }
    let (jwks, source) = match request.jwks {
        Some(jwks) => {
            keys_usable(&jwks)?;
            (jwks, "registered")
        }
        None => {
            let url = fed::configuration_url(&entity_id);
            let token = fetch
                .get(&url)
                .await
                .map_err(|e| FedError::Upstream(format!("entity configuration at {}: {e}", super::quoted(&url))))?;
            let claimed: Jwks = directory_domain::jwt::decode(&token)
                .ok()
                .and_then(|d| d.claims.get("jwks").cloned())
                .and_then(|j| serde_json::from_value(j).ok())
                .ok_or_else(|| {
                    FedError::Upstream(format!(
                        "entity configuration at {}: no P-256 jwks",
                        super::quoted(&url)
                    ))
                })?;
            keys_usable(&claimed)
                .map_err(|e| FedError::Upstream(format!("entity configuration at {}: {e}", super::quoted(&url))))?;
            check_configuration(&token, &entity_id, &claimed, now)
                .map_err(|e| FedError::Upstream(format!("entity configuration at {}: {e}", super::quoted(&url))))?;
            (claimed, "fetched")
        }
    };
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let existing = store.pin(&entity_id).await?;
        if let Some(other) = existing
            .as_ref()
            .filter(|p| p.organisation_id != request.organisation_id)
        {
            return Err(FedError::InvalidRequest(format!(
                "FederationEndpoint: {entity_id} is pinned for organisation {}",
                other.organisation_id
            )));
        }
        let pin = Pin {
            entity_id: entity_id.clone(),
            organisation_id: request.organisation_id.clone(),
            jwks: jwks.clone(),
            pinned_at: now,
            pinned_by: actor.sub.clone().unwrap_or_else(|| actor.action.clone()),
            source: source.to_owned(),
            version: 0,
        };
        let kids = |p: Option<&Pin>| json!(p.map(|p| p.jwks.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>()));
        let record = AuditRecord::new(
            actor,
            audit::target(&[
                ("OrganisationId", &request.organisation_id),
                ("AuthorisationServerId", &request.authorisation_server_id),
                ("FederationEntity", &entity_id),
            ]),
            audit::diff(
                "",
                &json!({"PinnedKids": kids(existing.as_ref())}),
                &json!({"PinnedKids": kids(Some(&pin)), "Source": source}),
            ),
            store.audit_retention_days(),
        );
        if store
            .put_pin(&pin, existing.as_ref().map(|p| p.version), &record)
            .await?
        {
            record.log();
            return Ok(Pin {
                version: existing.map_or(1, |p| p.version + 1),
                ..pin
            });
        }
    }
    Err(StoreError::Contention(MAX_WRITE_ATTEMPTS).into())
}
