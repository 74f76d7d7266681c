//! Lambda entry point of `get-authority-claims`: wires the DynamoDB store (created once, at
//! init) to the shared handler. No logic lives here.

use directory_core::handlers::{authority_claims, guard};
use lambda_http::{Error, run, service_fn, tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = directory_aws::lambda_sdk_config().await;
    let store = directory_aws::store_from_env(&config).await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(guard(req, |req| authority_claims::handle(&store, req)).await)
    }))
    .await
}
