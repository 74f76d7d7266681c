//! Lambda entry point of the sequencer: a batch of the table's stream records (outbox
//! inserts) wakes it, and it drains the outbox. A failure fails the invocation, so
//! the batch is retried; the outbox, not the batch, says what is left to do.

use directory_domain::routes::{Route, row};
use directory_http::sequence_event;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

/// This function's row of the route table.
const ROUTE: Route = row("sequence-changes");

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_http::logging::init_lambda();
    let store = directory_aws::store_for(&ROUTE).await?;
    let store = &store;
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(sequence_event(&ROUTE, store, &event.payload).await?)
    }))
    .await
}
