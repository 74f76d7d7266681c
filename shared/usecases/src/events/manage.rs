//! Making, reading, listing and deleting subscriptions: each by its owner (or an
//! administrator), each change logged with who made it.

use super::Transmitter;
use crate::ports::{AuditLog, ChangeFeed, StoreError, StoredSubscription, Subscriptions};
use directory_domain::Refusal;
use directory_domain::audit::{self, Actor, AuditRecord};
use directory_domain::auth::{self, Caller};
use directory_domain::events::set::Place;
use directory_domain::events::subscription::{CreateRequest, MAX_PER_OWNER, Status, Subscription, View};
use directory_domain::signature::SignError;

/// Why a subscription call failed.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Makes a subscription for the caller (or, for an administrator, the participant it
/// names): `Pending` until its receiver accepts the verification event; its events
/// start after the feed's head now.
pub async fn create<S: Subscriptions + ChangeFeed + AuditLog>(
    store: &S,
    transmitter: &Transmitter,
    caller: &Caller,
    actor: &Actor,
    request: CreateRequest,
    now: i64,
) -> Result<View, EventsError> {
    let named = request.organisation_id.clone();
    let wanted = request.check(transmitter.reach).map_err(Refusal::Invalid)?;
    let owner = auth::subscription_owner(caller, named.as_deref())?;
    let head = store.feed_head().await?.map_or(0, |h| h.revision);
    let subscription = Subscription {
        stream_id: uuid::Uuid::new_v4().to_string(),
        owner,
        delivery: wanted.delivery,
        events_requested: wanted.events_requested,
        organisations: wanted.organisations,
        status: Status::Pending,
        state: uuid::Uuid::new_v4().to_string(),
        created_at: now,
        cursor: Place {
            revision: head + 1,
            index: 0,
        },
        verified: false,
        acked: Vec::new(),
        failures: 0,
        failing_since: None,
        next_attempt_at: 0,
        leased_until: 0,
        last_attempt_at: None,
        last_status: None,
        delivered: 0,
        refused: 0,
    };
    let view = View::of(&subscription, &transmitter.issuer);
    let record = audit_record(store, actor, &subscription, serde_json::Value::Null, json(&view));
    if !store.create_subscription(&subscription, MAX_PER_OWNER, &record).await? {
        return Err(Refusal::Invalid(vec![format!(
            "subscriptions: a participant holds at most {MAX_PER_OWNER}; delete one first"
        )])
        .into());
    }
    tracing::info!(
        sub = caller.sub.as_deref().unwrap_or_default(),
        caller_organisation = caller.organisation_id.as_deref().unwrap_or_default(),
        owner = %subscription.owner,
        stream_id = %subscription.stream_id,
        method = %subscription.delivery.method,
        endpoint = subscription.delivery.endpoint_url.as_deref().unwrap_or_default(),
        "subscription created"
    );
    record.log();
    Ok(view)
}

fn json(view: &View) -> serde_json::Value {
    serde_json::to_value(view).unwrap_or_default()
}

/// The audit record of a subscription made or deleted: in the owner's partition, the
/// subscription's fields before and after (no secret is among them).
fn audit_record<S: AuditLog>(
    store: &S,
    actor: &Actor,
    s: &Subscription,
    before: serde_json::Value,
    after: serde_json::Value,
) -> AuditRecord {
    let target = audit::target(&[("OrganisationId", &s.owner), ("SubscriptionId", &s.stream_id)]);
    AuditRecord::new(
        actor,
        target,
        audit::diff("", &before, &after),
        store.audit_retention_days(),
    )
}

/// The subscription the caller may see, or the refusal (a participant cannot tell
/// another's from none).
pub async fn read<S: Subscriptions>(
    store: &S,
    caller: &Caller,
    stream_id: &str,
) -> Result<StoredSubscription, EventsError> {
    let found = store.subscription(stream_id).await?;
    auth::subscription_access(caller, found.as_ref().map(|f| f.subscription.owner.as_str()))?;
    found.ok_or_else(|| Refusal::NotFound("no such subscription".into()).into())
}

/// The caller's subscriptions (an administrator's: everyone's, or `owner`'s).
pub async fn list<S: Subscriptions>(
    store: &S,
    caller: &Caller,
    owner: Option<&str>,
) -> Result<Vec<Subscription>, EventsError> {
    let owner = match (caller.has(auth::SCOPE_ADMIN), owner, caller.organisation_id.as_deref()) {
        (true, owner, _) => owner,
        (false, Some(named), Some(own)) if named == own => Some(own),
        (false, None, Some(own)) => Some(own),
        (false, Some(_), _) => {
            return Err(Refusal::Forbidden("a participant lists its own subscriptions only".into()).into());
        }
        (false, None, None) => return Err(Refusal::Forbidden("the token names no organisation".into()).into()),
    };
    Ok(store
        .subscriptions(owner)
        .await?
        .into_iter()
        .map(|s| s.subscription)
        .collect())
}

/// Deletes a subscription: nothing more is sent for it.
pub async fn delete<S: Subscriptions + AuditLog>(
    store: &S,
    caller: &Caller,
    actor: &Actor,
    stream_id: &str,
) -> Result<(), EventsError> {
    if caller.sub.as_deref().is_none_or(str::is_empty) {
        return Err(Refusal::Unauthenticated("token without sub: a change must name who makes it".into()).into());
    }
    let found = read(store, caller, stream_id).await?;
    let before = json(&View::of(&found.subscription, ""));
    let record = audit_record(store, actor, &found.subscription, before, serde_json::Value::Null);
    if !store.delete_subscription(&found.subscription, &record).await? {
        return Err(Refusal::NotFound("no such subscription".into()).into());
    }
    tracing::info!(
        sub = caller.sub.as_deref().unwrap_or_default(),
        caller_organisation = caller.organisation_id.as_deref().unwrap_or_default(),
        owner = %found.subscription.owner,
        stream_id,
        "subscription deleted"
    );
    record.log();
    Ok(())
}
