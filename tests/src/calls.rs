//! Counts DynamoDB requests sent (retries included) with an SDK interceptor, to hold the
//! handlers to their store-call budget.

use aws_sdk_dynamodb::config::RuntimeComponents;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use std::sync::{Arc, Mutex};

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
        // Each HTTP request to DynamoDB names its operation: "DynamoDB_20120810.Query".
        let target = context.request().headers().get("x-amz-target").unwrap_or_default();
        let name = target.rsplit('.').next().unwrap_or_default().to_owned();
        self.0.lock().unwrap().push(name);
        Ok(())
    }
}
