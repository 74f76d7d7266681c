//! Lambda entry point of the scheduled export: an EventBridge event runs the same
//! export core as the HTTP route. A failure fails the invocation (so it is retried).

use directory_domain::routes::{Route, row};
use directory_http::{Services, dispatch_event};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

/// This function's row of the route table.
const ROUTE: Route = row("scheduled-open-data-export");

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_http::logging::init_lambda();
    let (store, exports) = directory_aws::store_and_exports_for(&ROUTE).await?;
    let services = Services { store, exports };
    let services = &services;
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(dispatch_event(&ROUTE, services, &event.payload).await?)
    }))
    .await
}
