//! Lambda entry point of the HTTP API's Lambda authorizer: builds the decision (and
//! its HTTPS client and key cache) once at init, then answers each authorizer event
//! with a simple response. No logic lives here.

use directory_authz::lambda::{decide, from_env, response};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request as Event;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    directory_http::logging::init_lambda();
    let authorizer = &from_env()?;
    run(service_fn(move |event: LambdaEvent<Event>| async move {
        let decision = decide(authorizer, &event.payload).await;
        Ok::<_, Error>(response(event.payload.route_key.as_deref(), &decision))
    }))
    .await
}
