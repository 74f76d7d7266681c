//! Lambda entry point of `subscriptions`: builds what its route row needs once, at init
//! (the table and the signing key: a poll signs its SETs), and hands every request of
//! the resource to the shared dispatcher. No logic lives here.

use directory_domain::routes::{Route, row};
use directory_http::{AsBuilt, Signed, dispatch};
use lambda_http::{Error, run, service_fn};

/// This function's row of the route table.
const ROUTE: Route = row("subscriptions");

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_http::logging::init_lambda();
    let (store, signer) = directory_aws::store_and_signer_for(&ROUTE).await?;
    let services = Signed { store, signer };
    run(service_fn(|req| async {
        Ok::<_, Error>(AsBuilt(dispatch(&ROUTE, &services, req).await))
    }))
    .await
}
