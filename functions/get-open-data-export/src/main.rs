//! Lambda entry point of `get-open-data-export`: wires the DynamoDB store and the S3
//! target (both created once, at init) to the shared handler. No logic lives here.

use directory_core::handlers::{guard, open_data_export};
use lambda_http::{Error, run, service_fn, tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = directory_aws::lambda_sdk_config().await;
    let store = directory_aws::store_from_env(&config).await?;
    let target = directory_aws::s3_target_from_env(&config).await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(guard(req, |req| open_data_export::handle(&store, &target, req)).await)
    }))
    .await
}
