//! Capacity metering as an SDK interceptor (benchmarks and metrics): it asks
//! DynamoDB to report the capacity of every metered call and adds it up, so the
//! store itself carries no metering code.

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::{
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Capacity units consumed, as DynamoDB reports them. Add it to a client with
/// `aws_sdk_dynamodb::config::Builder::interceptor`.
#[derive(Clone, Debug, Default)]
pub struct CapacityMeter {
    read_milli: Arc<AtomicU64>,
    write_milli: Arc<AtomicU64>,
}

impl CapacityMeter {
    /// Read capacity units so far.
    pub fn read_units(&self) -> f64 {
        self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Write capacity units so far.
    pub fn write_units(&self) -> f64 {
        self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }

    fn add<'a>(counter: &AtomicU64, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        let units: f64 = consumed.into_iter().filter_map(|c| c.capacity_units).sum();
        counter.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }
}

/// A DynamoDB client whose calls are metered by `meter`.
pub fn metered_client(config: &aws_config::SdkConfig, meter: &CapacityMeter) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(config)
            .interceptor(meter.clone())
            .build(),
    )
}

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let total = Some(ReturnConsumedCapacity::Total);
        let input = context.input_mut();
        if let Some(i) = input.downcast_mut::<QueryInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<GetItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<PutItemInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
            i.return_consumed_capacity = total;
        } else if let Some(i) = input.downcast_mut::<BatchWriteItemInput>() {
            i.return_consumed_capacity = total;
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        if let Some(o) = output.downcast_ref::<QueryOutput>() {
            Self::add(&self.read_milli, o.consumed_capacity.as_ref());
        } else if let Some(o) = output.downcast_ref::<GetItemOutput>() {
            Self::add(&self.read_milli, o.consumed_capacity.as_ref());
        } else if let Some(o) = output.downcast_ref::<PutItemOutput>() {
            Self::add(&self.write_milli, o.consumed_capacity.as_ref());
        } else if let Some(o) = output.downcast_ref::<TransactWriteItemsOutput>() {
            Self::add(&self.write_milli, o.consumed_capacity());
        } else if let Some(o) = output.downcast_ref::<BatchWriteItemOutput>() {
            Self::add(&self.write_milli, o.consumed_capacity());
        }
        Ok(())
    }
}
