//! Lambda entry point of `get-api-resource`: builds what its route row needs once, at init,
//! and hands every request to the shared dispatcher. No logic lives here.

use directory_core::export::NoTarget;
use directory_core::handlers::{AsBuilt, dispatch};
use directory_core::routes::API_RESOURCE as ROUTE;
use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_core::logging::init_lambda();
    let services = directory_aws::services_for::<NoTarget>(&ROUTE).await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(AsBuilt(dispatch(&ROUTE, &services, req).await))
    }))
    .await
}
