//! Lambda entry point of the delivery of change events: the schedule, a feed head
//! write or a new subscription wakes it, and it pushes what is due. A failure fails
//! the invocation (retried); the cursors, not the batch, say what is left to do.

use directory_domain::events::endpoint::Reach;
use directory_domain::routes::{Route, row};
use directory_http::deliver_event;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

/// This function's row of the route table.
const ROUTE: Route = row("deliver-events");

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_http::logging::init_lambda();
    let (store, signer) = directory_aws::store_and_signer_for(&ROUTE).await?;
    let push = directory_authz::push::PushClient::new(Reach::from_env())?;
    let (store, signer, push) = (&store, &signer, &push);
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(deliver_event(&ROUTE, store, signer, push, &event.payload).await?)
    }))
    .await
}
