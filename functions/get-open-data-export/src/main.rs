//! Lambda entry point of `get-open-data-export`: builds what its route row needs once, at init,
//! and hands every request to the shared dispatcher. No logic lives here.

use directory_aws::S3Target;
use directory_core::handlers::{AsBuilt, dispatch};
use directory_core::routes::OPEN_DATA_EXPORT as ROUTE;
use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_core::logging::init_lambda();
    let services = directory_aws::services_for::<S3Target>(&ROUTE).await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(AsBuilt(dispatch(&ROUTE, &services, req).await))
    }))
    .await
}
