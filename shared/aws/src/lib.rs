//! AWS adapters of the participant directory: the DynamoDB single-table store and
//! (for the export) S3 and the KMS signing key. Kept out of the other crates so the local default and the
//! models build without the AWS SDK.

pub mod body;
pub mod capacity;
pub mod config;
pub mod dynamodb;
pub mod kms;
pub mod s3;
pub mod staged;

pub use capacity::CapacityMeter;
pub use config::{
    dynamodb_client, env_for, kms_signer_from_env, lambda_sdk_config, s3_client, s3_target_from_env, sdk_config,
    store_and_exports_for, store_and_federation_key_for, store_and_signer_for, store_for, store_from_env,
};
pub use dynamodb::DynamoStore;
pub use kms::KmsSigner;
pub use s3::S3Target;
