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

/// The DynamoDB store of a Lambda function: table from `TABLE_NAME`, client built and
/// connection opened once at init, so a missing table or variable fails the cold
/// start instead of a request.
pub async fn store_from_env() -> Result<crate::DynamoStore, String> {
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set".to_owned())?;
    let config = sdk_config().await;
    let store = crate::DynamoStore::new(dynamodb_client(&config), table);
    store.warm_up().await.map_err(|e| e.to_string())?;
    Ok(store)
}
