//! Lambda entry point of the scheduled export: an EventBridge event runs the same
//! export core as the HTTP route. A failure fails the invocation (so it is retried).

use directory_aws::S3Target;
use directory_core::handlers::dispatch_event;
use directory_core::routes::SCHEDULED_EXPORT as ROUTE;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_core::logging::init_lambda();
    let services = directory_aws::services_for::<S3Target>(&ROUTE).await?;
    let services = &services;
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(dispatch_event(&ROUTE, services, &event.payload).await?)
    }))
    .await
}
