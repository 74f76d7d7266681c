//! Lambda entry point of `put-authority-claim`: builds what its route row needs once, at init,
//! and hands every request to the shared dispatcher. No logic lives here.

use directory_domain::routes::{Route, row};
use directory_http::{AsBuilt, StoreOnly, dispatch};
use lambda_http::{Error, run, service_fn};

/// This function's row of the route table.
const ROUTE: Route = row("put-authority-claim");

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_http::logging::init_lambda();
    let services = StoreOnly(directory_aws::store_for(&ROUTE).await?);
    run(service_fn(|req| async {
        Ok::<_, Error>(AsBuilt(dispatch(&ROUTE, &services, req).await))
    }))
    .await
}
