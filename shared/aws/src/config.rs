//! SDK configuration, loaded once per process (at Lambda init, not per request).

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use std::time::Duration;

/// One DynamoDB attempt on a request path may take this long before it is retried.
pub const REQUEST_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// A whole DynamoDB operation (retries included) on a request path: well inside
/// API Gateway's 30 s, so a stuck call becomes a clean 500, not a gateway timeout.
pub const REQUEST_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// S3 parts are up to 8 MiB: their attempts get longer.
pub const S3_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// A whole S3 operation, retries included.
pub const S3_OPERATION_TIMEOUT: Duration = Duration::from_secs(90);

use directory_domain::routes::{Needs, Route};

/// The environment a function with these needs reads (template.yaml must set
/// exactly these for it): the table and the audit retention for the store, the
/// bucket for the export target.
pub fn env_for(needs: Needs) -> Vec<&'static str> {
    let mut vars = Vec::new();
    if needs.table {
        vars.extend([
            "TABLE_NAME",
            directory_domain::audit::RETENTION_ENV,
            directory_domain::feed::RETENTION_ENV,
        ]);
    }
    if needs.exports {
        vars.extend(["BUCKET_NAME", "SIGNING_KEY_ID"]);
    }
    if needs.signing {
        vars.push("SIGNING_KEY_ID");
    }
    if needs.events {
        vars.extend(["EVENTS_ISSUER", "EVENTS_JWKS_URI"]);
    }
    if needs.delivery {
        vars.push(directory_domain::events::subscription::RETRY_ENV);
    }
    if needs.federation {
        vars.push(FEDERATION_KEY_ENV);
    }
    vars
}

/// The federation key's variable (key id, ARN or alias of an ECC_NIST_P256 KMS key).
pub const FEDERATION_KEY_ENV: &str = "FEDERATION_KEY_ID";

/// The store and the federation key of the Trust Anchor's function, built at init.
pub async fn store_and_federation_key_for(route: &Route) -> Result<(crate::DynamoStore, crate::KmsSigner), String> {
    if !route.needs.federation {
        return Err(format!("{}: this route has no federation key", route.name));
    }
    let config = lambda_sdk_config().await;
    let store = store_from_env(&config).await?;
    let key = std::env::var(FEDERATION_KEY_ENV)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| format!("{}: {FEDERATION_KEY_ENV} is not set", route.name))?;
    Ok((store, crate::KmsSigner::new(aws_sdk_kms::Client::new(&config), key)))
}

/// The store of a Lambda function of `route`, built once at init (its connection
/// opened here, so the first request does not pay). Every row of the route table
/// needs the table.
pub async fn store_for(route: &Route) -> Result<crate::DynamoStore, String> {
    if !route.needs.table {
        return Err(format!(
            "{}: every function of the directory needs the table",
            route.name
        ));
    }
    store_from_env(&lambda_sdk_config().await).await
}

/// The store and the S3 export target of a Lambda function whose row needs the
/// export bucket; a row that does not is refused at init (its function builds with
/// [`store_for`] and links no S3 code).
pub async fn store_and_exports_for(route: &Route) -> Result<(crate::DynamoStore, crate::S3Target), String> {
    if !route.needs.exports {
        return Err(format!("{}: this route has no export target", route.name));
    }
    let config = lambda_sdk_config().await;
    let store = store_from_env(&config).await?;
    let exports = s3_target_from_env(&config)
        .await
        .map_err(|e| format!("{}: {e}", route.name))?;
    Ok((store, exports))
}

/// The store and the signing key of a Lambda function whose row needs the key but no
/// bucket (the changes feed); others are refused at init.
pub async fn store_and_signer_for(route: &Route) -> Result<(crate::DynamoStore, crate::KmsSigner), String> {
    if !route.needs.signing {
        return Err(format!("{}: this route signs nothing", route.name));
    }
    let config = lambda_sdk_config().await;
    let store = store_from_env(&config).await?;
    let signer = kms_signer_from_env(&config).map_err(|e| format!("{}: {e}", route.name))?;
    Ok((store, signer))
}

/// The shared SDK configuration: region, credentials and endpoints from the
/// environment (`AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_S3` for local services).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

/// The HTTP client of every AWS call (services and credential providers): the SDK's
/// hyper client, TLS by rustls with ring.
fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The configuration of a Lambda function: region, credentials and endpoint
/// overrides from the environment only, with request-path timeouts (S3 clients widen
/// them, see [`s3_client`]).
///
/// Lambda puts the region and the role's credentials in the environment, so the
/// default chain's other sources (profile files, SSO, web identity through STS,
/// container and instance metadata) would never answer there; leaving them out keeps
/// their code out of every bootstrap (README, Benchmarks: artifact size).
pub async fn lambda_sdk_config() -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_sdk_dynamodb::config::SharedCredentialsProvider;
    let region = first_set(&["AWS_REGION", "AWS_DEFAULT_REGION"], env_var).map(aws_config::Region::new);
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(https_client())
        .service_config(EnvOnly)
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(REQUEST_ATTEMPT_TIMEOUT)
                .operation_timeout(REQUEST_OPERATION_TIMEOUT)
                .build(),
        )
        .build()
}

/// Per-service settings from the environment alone, as the SDK names them: the
/// service's own variable first (`AWS_ENDPOINT_URL_DYNAMODB`), then the shared one
/// (`AWS_ENDPOINT_URL`). Local runs of the functions point them at the emulators.
#[derive(Debug)]
struct EnvOnly;

impl aws_types::service_config::LoadServiceConfig for EnvOnly {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        service_setting(key.env(), key.service_id(), env_var)
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The first of `names` that `var` finds set; empty counts as unset.
fn first_set<N: AsRef<str>>(names: &[N], var: impl Fn(&str) -> Option<String>) -> Option<String> {
    names
        .iter()
        .find_map(|name| var(name.as_ref()).filter(|v| !v.is_empty()))
}

/// The setting `env` of `service_id` (`"DynamoDB"`, `"S3"`) as `var` finds it:
/// `<env>_<SERVICE ID>` first, then `<env>`; empty counts as unset.
fn service_setting(env: &str, service_id: &str, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let service = service_id.to_ascii_uppercase().replace(' ', "_");
    first_set(&[format!("{env}_{service}"), env.to_owned()], var)
}

/// A DynamoDB client from the shared configuration.
pub fn dynamodb_client(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// The DynamoDB store of a Lambda function: table from `TABLE_NAME`, client built and
/// connection opened once at init, so a missing table or variable fails the cold
/// start instead of a request.
pub async fn store_from_env(config: &aws_config::SdkConfig) -> Result<crate::DynamoStore, String> {
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set".to_owned())?;
    let store = crate::DynamoStore::new(dynamodb_client(config), table)
        .with_audit_retention(directory_domain::audit::retention_from_env())
        .with_feed_retention(directory_domain::feed::retention_from_env());
    store.warm_up().await.map_err(|e| e.to_string())?;
    Ok(store)
}

/// An S3 client from the shared configuration. Path-style addressing when an
/// endpoint override is set (local emulators have no per-bucket host names).
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let path_style =
        std::env::var_os("AWS_ENDPOINT_URL_S3").is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(S3_ATTEMPT_TIMEOUT)
                    .operation_timeout(S3_OPERATION_TIMEOUT)
                    .build(),
            )
            .build(),
    )
}

/// The KMS signer named by `SIGNING_KEY_ID` (key id, ARN or alias), or why there is none.
pub fn kms_signer_from_env(config: &aws_config::SdkConfig) -> Result<crate::KmsSigner, String> {
    let key = std::env::var("SIGNING_KEY_ID")
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| "SIGNING_KEY_ID is not set: the participants file is never published unsigned".to_owned())?;
    Ok(crate::KmsSigner::new(aws_sdk_kms::Client::new(config), key))
}

/// The S3 export target of a Lambda function: bucket from `BUCKET_NAME`, signed with
/// the KMS key `SIGNING_KEY_ID` (both required: a function that would publish an
/// unsigned file fails at init). Opens the connection at init like [`store_from_env`].
pub async fn s3_target_from_env(config: &aws_config::SdkConfig) -> Result<crate::S3Target, String> {
    use directory_usecases::export::ObjectTarget;
    let bucket = std::env::var("BUCKET_NAME").map_err(|_| "BUCKET_NAME is not set".to_owned())?;
    let signer = std::sync::Arc::new(kms_signer_from_env(config)?);
    let target = crate::S3Target::new(s3_client(config), bucket, signer);
    // Only to open the connection: a fresh bucket has no object yet (and without
    // s3:ListBucket S3 answers that with AccessDenied), which is not an init failure.
    let _ = target.published_sha256().await;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::service_setting;

    #[test]
    fn a_service_setting_prefers_the_service_variable_then_the_shared_one() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let both = env(&[
            ("AWS_ENDPOINT_URL", "http://shared"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb"),
        ]);
        assert_eq!(
            service_setting("AWS_ENDPOINT_URL", "DynamoDB", both).as_deref(),
            Some("http://ddb")
        );
        assert_eq!(
            service_setting("AWS_ENDPOINT_URL", "S3", both).as_deref(),
            Some("http://shared")
        );
        let empty_service = env(&[("AWS_ENDPOINT_URL", "http://shared"), ("AWS_ENDPOINT_URL_S3", "")]);
        assert_eq!(
            service_setting("AWS_ENDPOINT_URL", "S3", empty_service).as_deref(),
            Some("http://shared")
        );
        assert_eq!(service_setting("AWS_ENDPOINT_URL", "S3", env(&[])), None);
        let spaced = env(&[("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://sm")]);
        assert_eq!(
            service_setting("AWS_ENDPOINT_URL", "Secrets Manager", spaced).as_deref(),
            Some("http://sm")
        );
    }
}
