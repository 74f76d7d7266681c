//! Lambda entry point of the scheduled export: an EventBridge event runs the same
//! export core as the HTTP route. A failure fails the invocation (so it is retried).

use directory_core::export::scheduled;
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = directory_aws::lambda_sdk_config().await;
    let store = directory_aws::store_from_env(&config).await?;
    let target = directory_aws::s3_target_from_env(&config).await?;
    run(service_fn(|event: LambdaEvent<Value>| {
        let (store, target) = (&store, &target);
        async move { Ok::<Value, Error>(scheduled(store, target, &event.payload).await?) }
    }))
    .await
}
