//! Lambda entry point of `pin-federation-keys`: builds the table and the
//! address-checked client that fetches an entity's configuration once, at init, and
//! hands every request to the shared dispatcher. No logic lives here.

use directory_domain::events::endpoint::Reach;
use directory_domain::routes::{Route, row};
use directory_http::{AsBuilt, Pinning, dispatch};
use lambda_http::{Error, run, service_fn};

/// This function's row of the route table.
const ROUTE: Route = row("pin-federation-keys");

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_http::logging::init_lambda();
    let store = directory_aws::store_for(&ROUTE).await?;
    let fetch = directory_authz::push::PushClient::new(Reach::from_env())?;
    let services = Pinning { store, fetch };
    run(service_fn(|req| async {
        Ok::<_, Error>(AsBuilt(dispatch(&ROUTE, &services, req).await))
    }))
    .await
}
