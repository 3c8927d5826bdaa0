//! The DynamoDB usage store: replicas (or the deployed gateway) share one count through one
//! table. Each decision is one conditional `UpdateItem`:
//!
//! - quota: `SET used = if_not_exists(used, 0) + 1` on condition `used < limit`, the item
//!   expiring (TTL) at the end of its period;
//! - throttle: the token bucket as its equivalent GCRA form, whose state is one timestamp (`tat`,
//!   the theoretical arrival time), so a decision is a conditional update: an idle bucket is
//!   reset to `now + 1/rate` (condition `tat < now`), otherwise `tat += 1/rate` on condition
//!   `tat <= now + (burst - 1)/rate` — at most two calls, usually one.
//!
//! Calls queue when DynamoDB is busy and come out of order, so a decision judged at the time it
//! was asked for meets a bucket already moved on by later requests, and a client well under its
//! rate is throttled (docs/reliability.md). So each condition is judged at the time its call is
//! sent (the caller's `now` plus the time spent since), and a take no earlier than `seen`, the
//! newest time the bucket was reset at (read back from the refused reset). Both times are no
//! later than the moment DynamoDB applies the update, so the bucket never admits more than
//! GCRA allows at that moment; `seen` only moves forward.
//!
//! Table schema (see `template.yaml`): partition key `pk` (S); attributes `used` (N), `tat` (N),
//! `seen` (N) and `ttl` (N, epoch seconds, the table's TTL attribute).

use std::collections::HashMap;

use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::{StoreFuture, UsageStore};

pub struct DynamoDbStore {
    client: Client,
    table: String,
}

fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl DynamoDbStore {
    /// Connect to DynamoDB (or DynamoDB Local at `endpoint`). With `create`, a missing table is
    /// created with the documented schema.
    pub async fn connect(
        endpoint: Option<&str>,
        table: &str,
        region: &str,
        create: bool,
    ) -> Result<DynamoDbStore, String> {
        let mut config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(crate::aws_sdk::environment_credentials())
            .http_client(crate::aws_sdk::http_client());
        if let Some(e) = endpoint {
            config = config.endpoint_url(e);
        }
        let client = Client::from_conf(config.build());
        match client.describe_table().table_name(table).send().await {
            Ok(_) => {}
            Err(SdkError::ServiceError(e))
                if e.err().is_resource_not_found_exception() && create =>
            {
                create_table(&client, table).await?;
                tracing::info!(table, "created the usage table");
            }
            Err(e) => {
                return Err(format!(
                    "DynamoDB table {table} at {}: {}",
                    endpoint.unwrap_or("the default endpoint"),
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                ))
            }
        }
        Ok(DynamoDbStore {
            client,
            table: table.to_string(),
        })
    }
}

async fn create_table(client: &Client, table: &str) -> Result<(), String> {
    let attr = AttributeDefinition::builder()
        .attribute_name("pk")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| e.to_string())?;
    let key = KeySchemaElement::builder()
        .attribute_name("pk")
        .key_type(KeyType::Hash)
        .build()
        .map_err(|e| e.to_string())?;
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(attr)
        .key_schema(key)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|e| {
            format!(
                "creating {table}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })?;
    // Expired counters are removed by TTL; best effort (some local servers ignore it).
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name("ttl")
        .build()
        .map_err(|e| e.to_string())?;
    let _ = client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await;
    Ok(())
}

/// `Ok(true)` when the update applied, `Ok(false)` when its condition failed.
fn applied<T>(r: Result<T, SdkError<UpdateItemError, HttpResponse>>) -> Result<bool, String> {
    Ok(refusal(r)?.is_none())
}

/// `Ok(None)` when the update applied; `Ok(Some(item))` when its condition failed, with the item
/// as it was when refused (empty when there was none).
fn refusal<T>(
    r: Result<T, SdkError<UpdateItemError, HttpResponse>>,
) -> Result<Option<HashMap<String, AttributeValue>>, String> {
    match r {
        Ok(_) => Ok(None),
        Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
            let item = match e.into_err() {
                UpdateItemError::ConditionalCheckFailedException(c) => c.item,
                _ => None,
            };
            Ok(Some(item.unwrap_or_default()))
        }
        Err(e) => Err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()),
    }
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<f64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

impl UsageStore for DynamoDbStore {
    fn take_token(&self, key: &str, rate: f64, burst: u64, now: f64) -> StoreFuture<'_, bool> {
        let pk = format!("bucket|{key}");
        let asked = std::time::Instant::now();
        let sent_at = move || now + asked.elapsed().as_secs_f64();
        Box::pin(async move {
            let interval = if rate > 0.0 { 1.0 / rate } else { 1e12 };
            let now = sent_at();
            let expires = (now + interval * burst as f64 + 60.0).ceil() as i64;
            let reset = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk.clone()))
                .update_expression("SET tat = :next, seen = :now, #t = :ttl")
                .condition_expression(
                    "attribute_not_exists(tat) OR (tat < :now AND (attribute_not_exists(seen) OR seen <= :now))",
                )
                .expression_attribute_names("#t", "ttl")
                .expression_attribute_values(":next", n(format!("{:.6}", now + interval)))
                .expression_attribute_values(":now", n(format!("{now:.6}")))
                .expression_attribute_values(":ttl", n(expires))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let Some(was) = refusal(reset)? else {
                return Ok(true);
            };
            // Judged no earlier than the newest time a request has reset the bucket at.
            let judged = sent_at().max(number(&was, "seen").unwrap_or(0.0));
            let span = interval * (burst.saturating_sub(1)) as f64;
            let take = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk))
                .update_expression("SET tat = tat + :interval, #t = :ttl")
                .condition_expression("tat <= :threshold")
                .expression_attribute_names("#t", "ttl")
                .expression_attribute_values(":interval", n(format!("{interval:.6}")))
                .expression_attribute_values(":threshold", n(format!("{:.6}", judged + span)))
                .expression_attribute_values(":ttl", n(expires))
                .send()
                .await;
            applied(take)
        })
    }

    fn count(&self, key: &str, limit: u64, expires_at: i64) -> StoreFuture<'_, bool> {
        let pk = format!("quota|{key}");
        Box::pin(async move {
            let r = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk))
                .update_expression("SET used = if_not_exists(used, :zero) + :one, #t = :ttl")
                .condition_expression("attribute_not_exists(used) OR used < :limit")
                .expression_attribute_names("#t", "ttl")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":limit", n(limit))
                .expression_attribute_values(":ttl", n(expires_at))
                .send()
                .await;
            applied(r)
        })
    }

    fn used(&self, key: &str) -> StoreFuture<'_, u64> {
        let pk = format!("quota|{key}");
        Box::pin(async move {
            let item = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
            Ok(item
                .item()
                .and_then(|i| i.get("used"))
                .and_then(|v| v.as_n().ok())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0))
        })
    }
}
