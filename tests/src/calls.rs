//! Counts DynamoDB requests sent (retries included) with an SDK interceptor, to hold the
//! handlers to their store-call budget.

use aws_sdk_dynamodb::config::RuntimeComponents;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use std::sync::{Arc, Mutex};

/// The DynamoDB operation of a request: each names it, "DynamoDB_20120810.Query".
fn operation<'a>(context: &'a BeforeTransmitInterceptorContextRef<'_>) -> &'a str {
    let target = context.request().headers().get("x-amz-target").unwrap_or_default();
    target.rsplit('.').next().unwrap_or_default()
}

/// The operation names seen since the last `take`.
#[derive(Clone, Debug, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// Returns and clears the recorded operations.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.lock().unwrap().push(operation(context).to_owned());
        Ok(())
    }
}

/// Records the IAM action each request needs (`dynamodb:Query`, `s3:PutObject`, ...;
/// a Query on an index as `dynamodb:Query@index`), for DynamoDB and S3 clients alike.
/// It also records the partition key of every item written, to hold IAM's
/// `dynamodb:LeadingKeys` conditions to what the function really writes.
#[derive(Clone, Debug, Default)]
pub struct IamLog(
    Arc<Mutex<std::collections::BTreeSet<String>>>,
    Arc<Mutex<std::collections::BTreeSet<String>>>,
);

impl IamLog {
    /// Returns and clears the actions seen.
    pub fn take(&self) -> std::collections::BTreeSet<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// Returns and clears the partition keys of the items written.
    pub fn take_written_keys(&self) -> std::collections::BTreeSet<String> {
        std::mem::take(&mut *self.1.lock().unwrap())
    }

    fn written_keys(operation: &str, body: &serde_json::Value) -> Vec<String> {
        let pk = |v: &serde_json::Value| v["PK"]["S"].as_str().map(str::to_owned);
        let of_item = |item: &serde_json::Value| -> Option<String> {
            for kind in ["Put", "PutRequest"] {
                if let Some(x) = item.get(kind) {
                    return pk(&x["Item"]);
                }
            }
            for kind in ["Update", "Delete", "DeleteRequest", "ConditionCheck"] {
                if let Some(x) = item.get(kind) {
                    return pk(&x["Key"]);
                }
            }
            None
        };
        match operation {
            "TransactWriteItems" => body["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(of_item)
                .collect(),
            "BatchWriteItem" => body["RequestItems"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
                .flat_map(|v| v.as_array().into_iter().flatten())
                .filter_map(of_item)
                .collect(),
            "PutItem" => pk(&body["Item"]).into_iter().collect(),
            "UpdateItem" | "DeleteItem" => pk(&body["Key"]).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Records an action needed without a request (e.g. a presigned URL).
    pub fn record(&self, action: &str) {
        self.0.lock().unwrap().insert(action.to_owned());
    }

    fn dynamodb_actions(operation: &str, body: &serde_json::Value) -> Vec<String> {
        let item_actions = |items: &[serde_json::Value]| -> Vec<String> {
            let mut out = Vec::new();
            for item in items {
                for (kind, action) in [
                    ("Put", "PutItem"),
                    ("Update", "UpdateItem"),
                    ("Delete", "DeleteItem"),
                    ("ConditionCheck", "ConditionCheckItem"),
                ] {
                    if item.get(kind).is_some() {
                        out.push(format!("dynamodb:{action}"));
                    }
                }
            }
            out
        };
        match operation {
            "TransactWriteItems" => item_actions(body["TransactItems"].as_array().map(Vec::as_slice).unwrap_or(&[])),
            // One action for the whole batch (IAM does not check the items' own).
            "BatchWriteItem" => vec!["dynamodb:BatchWriteItem".to_owned()],
            "Query" if body.get("IndexName").is_some() => vec!["dynamodb:Query@index".to_owned()],
            op => vec![format!("dynamodb:{op}")],
        }
    }

    fn s3_action(method: &str, uri: &str) -> String {
        let query = uri.split_once('?').map(|(_, q)| q).unwrap_or("");
        let has = |k: &str| query.split('&').any(|p| p == k || p.starts_with(&format!("{k}=")));
        let action = match method {
            "DELETE" if has("uploadId") => "AbortMultipartUpload",
            "PUT" | "POST" if has("tagging") && has("versionId") => "PutObjectVersionTagging",
            "PUT" | "POST" if has("tagging") => "PutObjectTagging",
            "GET" if has("tagging") => "GetObjectTagging",
            "GET" if has("uploads") => "ListBucketMultipartUploads",
            "PUT" | "POST" => "PutObject",
            "GET" | "HEAD" => "GetObject",
            _ => "Unknown",
        };
        format!("s3:{action}")
    }
}

impl Intercept for IamLog {
    fn name(&self) -> &'static str {
        "IamLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let request = context.request();
        let actions = match request.headers().get("x-amz-target") {
            Some(target) if target.starts_with("TrentService.") => {
                vec![format!("kms:{}", target.rsplit('.').next().unwrap_or_default())]
            }
            Some(target) => {
                let operation = target.rsplit('.').next().unwrap_or_default();
                let body = request
                    .body()
                    .bytes()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or_default();
                self.1.lock().unwrap().extend(Self::written_keys(operation, &body));
                Self::dynamodb_actions(operation, &body)
            }
            None => vec![Self::s3_action(request.method(), request.uri())],
        };
        self.0.lock().unwrap().extend(actions);
        Ok(())
    }
}

/// Fails every request of one DynamoDB operation before it is sent (fault injection:
/// a write that never reaches the table must leave no trace of itself).
#[derive(Clone, Debug)]
pub struct FailOperation(pub &'static str);

impl Intercept for FailOperation {
    fn name(&self) -> &'static str {
        "FailOperation"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if operation(context) == self.0 {
            return Err(format!("injected failure of {}", self.0).into());
        }
        Ok(())
    }
}

/// Fault injection: lets the first `allow` DynamoDB requests of `operation` through
/// and fails every later one, as if the process had stopped between two writes.
#[derive(Clone, Debug)]
pub struct StopAfter {
    operation: &'static str,
    allow: usize,
    seen: Arc<Mutex<usize>>,
}

impl StopAfter {
    /// Stops `operation` (`"TransactWriteItems"`) after `allow` requests.
    pub fn new(operation: &'static str, allow: usize) -> Self {
        Self {
            operation,
            allow,
            seen: Arc::default(),
        }
    }
}

impl Intercept for StopAfter {
    fn name(&self) -> &'static str {
        "StopAfter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if operation(context) != self.operation {
            return Ok(());
        }
        let mut seen = self.seen.lock().unwrap();
        *seen += 1;
        if *seen > self.allow {
            return Err(format!("injected: stopped before {} #{}", self.operation, *seen).into());
        }
        Ok(())
    }
}
