//! Lambda entry point of `get-ssf-configuration`: the transmitter's metadata, from
//! the environment (`EVENTS_ISSUER`, `EVENTS_JWKS_URI`). No logic lives here.

use directory_domain::routes::{Route, row};
use directory_http::{AsBuilt, StoreOnly, dispatch};
use lambda_http::{Error, run, service_fn};

/// This function's row of the route table.
const ROUTE: Route = row("get-ssf-configuration");

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_http::logging::init_lambda();
    let services = StoreOnly(directory_aws::store_for(&ROUTE).await?);
    run(service_fn(|req| async {
        Ok::<_, Error>(AsBuilt(dispatch(&ROUTE, &services, req).await))
    }))
    .await
}
