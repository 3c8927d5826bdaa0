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
//! Table schema (see `template.yaml`): partition key `pk` (S); attributes `used` (N), `tat` (N),
//! and `ttl` (N, epoch seconds, the table's TTL attribute).

use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

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
fn applied<T, E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static>(
    r: Result<T, SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>>,
) -> Result<bool, String> {
    match r {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e))
            if e.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()),
    }
}

impl UsageStore for DynamoDbStore {
    fn take_token(&self, key: &str, rate: f64, burst: u64, now: f64) -> StoreFuture<'_, bool> {
        let pk = format!("bucket|{key}");
        Box::pin(async move {
            let interval = if rate > 0.0 { 1.0 / rate } else { 1e12 };
            let expires = (now + interval * burst as f64 + 60.0).ceil() as i64;
            let reset = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk.clone()))
                .update_expression("SET tat = :next, #t = :ttl")
                .condition_expression("attribute_not_exists(tat) OR tat < :now")
                .expression_attribute_names("#t", "ttl")
                .expression_attribute_values(":next", n(format!("{:.6}", now + interval)))
                .expression_attribute_values(":now", n(format!("{now:.6}")))
                .expression_attribute_values(":ttl", n(expires))
                .send()
                .await;
            if applied(reset)? {
                return Ok(true);
            }
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
                .expression_attribute_values(":threshold", n(format!("{:.6}", now + span)))
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
