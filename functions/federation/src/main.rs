//! Lambda entry point of `federation`: builds what its route row needs once, at init
//! (the table, the federation KMS key, the address-checked client that fetches
//! self-managed entities' configurations), and hands every request to the shared
//! dispatcher. No logic lives here.

use directory_domain::events::endpoint::Reach;
use directory_domain::routes::{Route, row};
use directory_http::{AsBuilt, Federated, dispatch};
use lambda_http::{Error, run, service_fn};

/// This function's row of the route table.
const ROUTE: Route = row("federation");

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_http::logging::init_lambda();
    let (store, signer) = directory_aws::store_and_federation_key_for(&ROUTE).await?;
    let fetch = directory_authz::push::PushClient::new(Reach::from_env())?;
    let services = Federated { store, signer, fetch };
    run(service_fn(|req| async {
        Ok::<_, Error>(AsBuilt(dispatch(&ROUTE, &services, req).await))
    }))
    .await
}
