//! Lambda entry point of `get-open-data-export`: builds what its route row needs once, at init,
//! and hands every request to the shared dispatcher. No logic lives here.

use directory_domain::routes::{Route, row};
use directory_http::{AsBuilt, Services, dispatch};
use lambda_http::{Error, run, service_fn};

/// This function's row of the route table.
const ROUTE: Route = row("get-open-data-export");

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_http::logging::init_lambda();
    let (store, exports) = directory_aws::store_and_exports_for(&ROUTE).await?;
    let services = Services { store, exports };
    run(service_fn(|req| async {
        Ok::<_, Error>(AsBuilt(dispatch(&ROUTE, &services, req).await))
    }))
    .await
}
