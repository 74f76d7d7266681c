//! SDK configuration, loaded once per process (at Lambda init, not per request).

use aws_config::BehaviorVersion;

/// The shared SDK configuration: region, credentials and endpoints from the
/// environment (`AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_S3` for local services).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// A DynamoDB client from the shared configuration.
pub fn dynamodb_client(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}
