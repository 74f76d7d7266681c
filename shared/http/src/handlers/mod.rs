//! One handler per endpoint: plain async fns from a `lambda_http::Request` to a
//! response, each naming the store capabilities it uses, called by the Lambda
//! binaries and the local server alike. Every client error is a normal response;
//! nothing here returns `Err` or panics on input.

pub mod api_resource;
pub mod authority_claims;
pub mod federation;
pub mod open_data_export;
pub mod organisation_snapshot;
pub mod participant_changes;
pub mod pin_federation_keys;
pub mod put_authority_claim;
pub mod ssf_configuration;
pub mod subscriptions;

use directory_domain::routes::{Handler, Route};
use directory_domain::signature::Signer;
use directory_usecases::export::ObjectTarget;
use directory_usecases::federation::EntityFetch;
use directory_usecases::feed::PageSigner;
use directory_usecases::ports::Store;
use futures_util::FutureExt;
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

/// A boxed response future.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// The transmitter the local server installs (its own base URL as issuer) before it
/// serves; Lambda functions read theirs from the environment.
pub static TRANSMITTER: std::sync::OnceLock<directory_usecases::events::Transmitter> = std::sync::OnceLock::new();

/// Pages of the changes feed this process signed (a process-wide memory: the same
/// page asked again costs no signature).
static PAGE_SIGNATURES: std::sync::LazyLock<PageSigner> = std::sync::LazyLock::new(PageSigner::default);

/// What a function was built with, by what its route row needs
/// ([`directory_domain::routes::Needs`]): every function has the store; only the
/// export functions have an export target and only the feed's function a signer
/// without one, and a function without them links no target or signing code at all.
pub trait Deps: Send + Sync {
    /// The store.
    type Store: Store;
    /// The store.
    fn store(&self) -> &Self::Store;
    /// The open-data export route's answer, with this function's target (a function
    /// built without one answers that it was).
    fn open_data_export(&self, req: Request) -> Answer<'_> {
        not_built(&req, "an export target")
    }
    /// The changes feed's answer, with this function's signer.
    fn participant_changes(&self, req: Request) -> Answer<'_> {
        not_built(&req, "a signing key")
    }
    /// The subscription resource's answer, with this function's signer (polls sign).
    fn subscriptions(&self, req: Request) -> Answer<'_> {
        not_built(&req, "a signing key")
    }
    /// The Trust Anchor's answer, with this function's federation key and fetcher.
    fn federation(&self, req: Request) -> Answer<'_> {
        not_built(&req, "a federation key")
    }
    /// The pin route's answer, with this function's fetcher.
    fn pin_federation_keys(&self, req: Request) -> Answer<'_> {
        not_built(&req, "an entity fetcher")
    }
}

/// The federation key and entity fetcher the local server installs before it serves
/// (Lambda functions build [`Federated`] and [`Pinning`] instead).
pub struct FederationKit {
    pub signer: std::sync::Arc<dyn Signer>,
    pub fetch: std::sync::Arc<dyn EntityFetch>,
}

/// The local server's federation key and fetcher.
pub static FEDERATION_KIT: std::sync::OnceLock<FederationKit> = std::sync::OnceLock::new();

/// The dependencies of the Trust Anchor's function: the store, the federation key and
/// the fetcher of self-managed entities' configurations.
pub struct Federated<S, G, F> {
    pub store: S,
    pub signer: G,
    pub fetch: F,
}

impl<S: Store, G: Signer + 'static, F: EntityFetch + 'static> Deps for Federated<S, G, F> {
    type Store = S;

    fn store(&self) -> &S {
        &self.store
    }

    fn federation(&self, req: Request) -> Answer<'_> {
        Box::pin(guard(req, move |req| {
            federation::handle(&self.store, &self.signer, &self.fetch, req)
        }))
    }
}

/// The dependencies of the pin route's function: the store and the fetcher.
pub struct Pinning<S, F> {
    pub store: S,
    pub fetch: F,
}

impl<S: Store, F: EntityFetch + 'static> Deps for Pinning<S, F> {
    type Store = S;

    fn store(&self) -> &S {
        &self.store
    }

    fn pin_federation_keys(&self, req: Request) -> Answer<'_> {
        Box::pin(guard(req, move |req| {
            pin_federation_keys::handle(&self.store, &self.fetch, req)
        }))
    }
}

fn not_built(req: &Request, what: &str) -> Answer<'static> {
    let response = crate::error::ApiError::NotFound(format!("this function was built without {what}"))
        .into_response(&crate::fapi::read(req.headers()).interaction_id);
    Box::pin(std::future::ready(response))
}

/// The dependencies of a function whose route needs only the table.
pub struct StoreOnly<S>(pub S);

impl<S: Store> Deps for StoreOnly<S> {
    type Store = S;

    fn store(&self) -> &S {
        &self.0
    }
}

/// The dependencies of a function that signs without publishing (the changes feed):
/// the store and the signing key.
pub struct Signed<S, G> {
    pub store: S,
    pub signer: G,
}

impl<S: Store, G: Signer + 'static> Deps for Signed<S, G> {
    type Store = S;

    fn store(&self) -> &S {
        &self.store
    }

    fn participant_changes(&self, req: Request) -> Answer<'_> {
        Box::pin(guard(req, move |req| {
            participant_changes::handle(&self.store, &self.signer, &PAGE_SIGNATURES, req)
        }))
    }

    fn subscriptions(&self, req: Request) -> Answer<'_> {
        Box::pin(guard(req, move |req| {
            subscriptions::handle(&self.store, &self.signer, req)
        }))
    }
}

/// The dependencies of a function (or the local server) that publishes the export:
/// the store and the export target.
pub struct Services<S, T> {
    pub store: S,
    pub exports: T,
}

impl<S: Store, T: ObjectTarget> Deps for Services<S, T> {
    type Store = S;

    fn store(&self) -> &S {
        &self.store
    }

    fn open_data_export(&self, req: Request) -> Answer<'_> {
        Box::pin(guard(req, move |req| {
            open_data_export::handle(&self.store, &self.exports, req)
        }))
    }

    fn participant_changes(&self, req: Request) -> Answer<'_> {
        Box::pin(guard(req, move |req| {
            participant_changes::handle(&self.store, self.exports.signer(), &PAGE_SIGNATURES, req)
        }))
    }

    fn subscriptions(&self, req: Request) -> Answer<'_> {
        Box::pin(guard(req, move |req| {
            subscriptions::handle(&self.store, self.exports.signer(), req)
        }))
    }

    fn federation(&self, req: Request) -> Answer<'_> {
        let Some(kit) = FEDERATION_KIT.get() else {
            return not_built(&req, "a federation key");
        };
        Box::pin(guard(req, move |req| {
            federation::handle(&self.store, kit.signer.as_ref(), kit.fetch.as_ref(), req)
        }))
    }

    fn pin_federation_keys(&self, req: Request) -> Answer<'_> {
        let Some(kit) = FEDERATION_KIT.get() else {
            return not_built(&req, "an entity fetcher");
        };
        Box::pin(guard(req, move |req| {
            pin_federation_keys::handle(&self.store, kit.fetch.as_ref(), req)
        }))
    }
}

/// Dispatches an HTTP request for `route` to its handler: the only route → handler
/// map, used by every Lambda binary, the local server, the fixture tests and the
/// benchmarks. Panics inside the handler become a 500 ([`guard`]).
///
/// The match runs before any future exists (a plain inlined function, not an `async`
/// one): a Lambda binary passes its route constant, so the optimiser keeps only that
/// route's handler instead of all five (README, Benchmarks: artifact size).
#[inline]
pub fn dispatch<'a, D: Deps>(route: &'a Route, deps: &'a D, req: Request) -> Answer<'a> {
    let store = deps.store();
    match route.handler {
        Handler::OrganisationSnapshot => Box::pin(guard(req, move |req| organisation_snapshot::handle(store, req))),
        Handler::ApiResource => Box::pin(guard(req, move |req| api_resource::handle(store, req))),
        Handler::AuthorityClaims => Box::pin(guard(req, move |req| authority_claims::handle(store, req))),
        Handler::PutAuthorityClaim => Box::pin(guard(req, move |req| put_authority_claim::handle(store, req))),
        Handler::OpenDataExport => deps.open_data_export(req),
        Handler::ParticipantChanges => deps.participant_changes(req),
        Handler::Subscriptions => deps.subscriptions(req),
        Handler::SsfConfiguration => Box::pin(guard(req, ssf_configuration::handle)),
        Handler::Federation => deps.federation(req),
        Handler::PinFederationKeys => deps.pin_federation_keys(req),
        Handler::ScheduledExport | Handler::SequenceChanges | Handler::DeliverEvents => {
            let response = crate::error::ApiError::NotFound(format!("{} has no HTTP route", route.name))
                .into_response(&crate::fapi::read(req.headers()).interaction_id);
            Box::pin(std::future::ready(response))
        }
    }
}

/// A handler's response handed to the Lambda runtime exactly as built (the handlers
/// already chose text or binary bodies). `lambda_http`'s own conversion of a
/// `Response` collects the body again and re-decodes text in whatever charset its
/// Content-Type names, which links every legacy encoding's tables into each function.
pub struct AsBuilt(pub Response<Body>);

impl lambda_http::IntoResponse for AsBuilt {
    fn into_response(self) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}

/// Runs the export for an EventBridge schedule event or a batch of the table's stream
/// records (export requests); the result is the invocation's.
pub async fn dispatch_event<S: Store, T: ObjectTarget>(
    route: &Route,
    services: &Services<S, T>,
    event: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    match route.handler {
        Handler::ScheduledExport => directory_usecases::export::scheduled(&services.store, &services.exports, event)
            .await
            .map_err(|e| e.to_string()),
        Handler::SequenceChanges => sequence_event(route, &services.store, event).await,
        Handler::DeliverEvents => Err(format!("{} runs through deliver_event", route.name)),
        Handler::Subscriptions | Handler::SsfConfiguration | Handler::Federation | Handler::PinFederationKeys => {
            Err(format!("{} is an HTTP route, not an event one", route.name))
        }
        Handler::OpenDataExport
        | Handler::OrganisationSnapshot
        | Handler::AuthorityClaims
        | Handler::PutAuthorityClaim
        | Handler::ApiResource
        | Handler::ParticipantChanges => Err(format!("{} is an HTTP route, not an event one", route.name)),
    }
}

/// Runs the sequencer for a batch of the table's stream records (outbox inserts): the
/// records only wake it, the outbox says what to do, so a lost or repeated batch
/// loses or repeats nothing.
pub async fn sequence_event<S: Store>(
    route: &Route,
    store: &S,
    event: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    if route.handler != Handler::SequenceChanges {
        return Err(format!("{} does not sequence changes", route.name));
    }
    let records = event.get("Records").and_then(|r| r.as_array()).map_or(0, Vec::len);
    let done = directory_usecases::feed::sequence(store)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(
        records,
        revisions = done.revisions,
        settled = done.settled,
        head = done.head,
        "sequenced"
    );
    Ok(serde_json::json!({
        "records": records,
        "revisions": done.revisions,
        "settled": done.settled,
        "seeded": done.seeded,
        "head": done.head,
    }))
}

/// Delivers due change events for a schedule event or a batch of the table's stream
/// records (feed head writes, new subscriptions): the records only wake it, the
/// subscriptions' cursors say what is due, so a lost or repeated batch loses or
/// repeats nothing (a repeat is at most a second send of the same `jti`).
pub async fn deliver_event<S: Store>(
    route: &Route,
    store: &S,
    signer: &dyn Signer,
    transport: &dyn directory_usecases::events::Transport,
    event: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    if route.handler != Handler::DeliverEvents {
        return Err(format!("{} does not deliver events", route.name));
    }
    let records = event.get("Records").and_then(|r| r.as_array()).map_or(0, Vec::len);
    let config = directory_usecases::events::DeliveryConfig::default();
    let clock = directory_usecases::clock::now;
    let done = directory_usecases::events::deliver_due(
        store,
        signer,
        transport,
        subscriptions::transmitter(),
        &config,
        &clock,
    )
    .await
    .map_err(|e| e.to_string())?;
    tracing::info!(
        records,
        subscriptions = done.subscriptions,
        accepted = done.accepted,
        refused = done.refused,
        failed = done.failed,
        "delivered"
    );
    Ok(serde_json::json!({
        "records": records,
        "subscriptions": done.subscriptions,
        "accepted": done.accepted,
        "refused": done.refused,
        "failed": done.failed,
    }))
}

/// Runs a handler so that a panic inside it becomes a 500 with the FAPI header
/// instead of ending the process: the local server and every Lambda binary call
/// their handler through this (release builds unwind, see Cargo.toml).
pub async fn guard<F, Fut>(req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let interaction_id = crate::fapi::read(req.headers()).interaction_id;
    match AssertUnwindSafe(handler(req)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(interaction_id, panic = %detail, "handler panicked");
            crate::error::panic_response(&interaction_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_the_interaction_id() {
        let mut req = Request::default();
        req.headers_mut()
            .insert(crate::fapi::INTERACTION_ID, "abc-123".parse().unwrap());
        let resp = guard(req, |_| async {
            if true {
                panic!("on purpose");
            }
            Response::new(Body::Empty)
        })
        .await;
        assert_eq!(resp.status(), 500);
        assert_eq!(resp.headers()[crate::fapi::INTERACTION_ID], "abc-123");
        assert_eq!(resp.body().as_ref(), br#"{"errors":["internal error"]}"#);
        // And a handler that does not panic is untouched.
        let ok = guard(Request::default(), |_| async { Response::new(Body::from("fine")) }).await;
        assert_eq!(ok.body().as_ref(), b"fine");
    }
}
