//! Lambda entry point of `put-authority-claim`: builds what its route row needs once, at init,
//! and hands every request to the shared dispatcher. No logic lives here.

use directory_core::export::NoTarget;
use directory_core::handlers::dispatch;
use directory_core::routes::PUT_AUTHORITY_CLAIM as ROUTE;
use lambda_http::{Error, run, service_fn, tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let services = directory_aws::services_for::<NoTarget>(&ROUTE).await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(dispatch(&ROUTE, &services, req).await)
    }))
    .await
}
