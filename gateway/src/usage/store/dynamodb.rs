//! The DynamoDB usage store: replicas (or the deployed gateway) share one count through one
//! table. A decision is a conditional `UpdateItem` for a block of `k` units (`k` is 1 unless the
//! store leases, below):
//!
//! - quota: `SET used = if_not_exists(used, 0) + k` on condition `used < limit` for one request,
//!   `used <= limit - 4k` for a block (so a block is never more than a quarter of what is left),
//!   the item expiring (TTL) at the end of its period; a refused block is retried smaller;
//! - throttle: the token bucket as its equivalent GCRA form, whose state is one timestamp (`tat`,
//!   the theoretical arrival time): an idle bucket is reset to `now + k/rate` (condition
//!   `tat < now`), otherwise `tat += k/rate` on condition `tat <= now + (burst - k)/rate`.
//!
//! Calls queue when DynamoDB is busy and come out of order, so a decision judged at the time it
//! was asked for meets a bucket already moved on by later requests, and a client well under its
//! rate is throttled (docs/reliability.md). So each condition is judged at the time its call is
//! sent (the caller's `now` plus the time spent since), and a take no earlier than `seen`, the
//! newest time the bucket was reset at (read back from the refused reset). Both times are no
//! later than the moment DynamoDB applies the update, so the bucket never admits more than
//! GCRA allows at that moment; `seen` only moves forward. A take refused although the bucket
//! would have room at the time the refusal came back is judged once more at that time.
//!
//! With [`DynamoDbStore::leasing`] (the emulator's replicas) blocks are leased and spent locally
//! ([`super::lease`]); the design and its bounds are in docs/usage-plans.md.
//!
//! Table schema (see `template.yaml`): partition key `pk` (S); attributes `used` (N), `tat` (N),
//! `seen` (N) and `ttl` (N, epoch seconds, the table's TTL attribute).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::lease::{Grant, Leases};
use super::{StoreFuture, UsageStore};

/// The largest quota block a replica leases.
const MAX_QUOTA_BLOCK: u64 = 256;
/// A leased quota block is never more than this share of what was left (1/4), so near the
/// limit blocks shrink to single requests and little can be left unspent.
const QUOTA_SHARE: u64 = 4;
/// A replica that found a quota used up refuses without asking for this long.
const QUOTA_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);
/// Leased bucket slots lapse after their own span of time, but never sooner than this.
const MIN_SLOT_LEASE: std::time::Duration = std::time::Duration::from_millis(50);

pub struct DynamoDbStore {
    client: Client,
    table: String,
    leases: Option<Leases>,
    /// `UpdateItem` calls made for decisions.
    calls: AtomicU64,
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
            leases: None,
            calls: AtomicU64::new(0),
        })
    }

    /// Lease blocks of quota and bucket slots and spend them locally, so most decisions cost no
    /// call. For long-lived replicas (the emulator); the deployed gateway's instances freeze
    /// between invocations with their blocks unspent, so it decides request by request.
    pub fn leasing(mut self) -> DynamoDbStore {
        self.leases = Some(Leases::default());
        self
    }

    /// A decision's `UpdateItem` on item `pk`, counted in [`Self::decision_calls`].
    fn update(&self, pk: &str) -> UpdateItemFluentBuilder {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_string()))
            // Every decision renews the item's expiry (`ttl` is a reserved word).
            .expression_attribute_names("#t", "ttl")
    }

    /// How many `UpdateItem` calls decisions have made.
    pub fn decision_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Take `k` slots of a token bucket at `now` (epoch seconds, the time the call is sent):
    /// how many were granted, `k` or none.
    async fn take_slots(
        &self,
        pk: &str,
        rate: f64,
        burst: u64,
        sent_at: impl Fn() -> f64,
        k: u64,
    ) -> Result<u64, String> {
        let interval = if rate > 0.0 { 1.0 / rate } else { 1e12 };
        let now = sent_at();
        let expires = (now + interval * burst as f64 + 60.0).ceil() as i64;
        let reset = self
            .update(pk)
            .update_expression("SET tat = :next, seen = :now, #t = :ttl")
            .condition_expression(
                "attribute_not_exists(tat) OR (tat < :now AND (attribute_not_exists(seen) OR seen <= :now))",
            )
            .expression_attribute_values(":next", n(format!("{:.6}", now + interval * k as f64)))
            .expression_attribute_values(":now", n(format!("{now:.6}")))
            .expression_attribute_values(":ttl", n(expires))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let Some(was) = refusal(reset)? else {
            return Ok(k);
        };
        // Judged no earlier than the newest time a request has reset the bucket at.
        let judged = sent_at().max(number(&was, "seen").unwrap_or(0.0));
        let span = interval * (burst.saturating_sub(k)) as f64;
        let take = |judged: f64| {
            self.update(pk)
                .update_expression("SET tat = tat + :step, #t = :ttl")
                .condition_expression("tat <= :threshold")
                .expression_attribute_values(":step", n(format!("{:.6}", interval * k as f64)))
                .expression_attribute_values(":threshold", n(format!("{:.6}", judged + span)))
                .expression_attribute_values(":ttl", n(expires))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
        };
        let Some(was) = refusal(take(judged).await)? else {
            return Ok(k);
        };
        // Refused, but the bucket would have room at the time it is now: requests from other
        // replicas, sent later, got there first while this one was under way. Judged once more
        // at the time it is now (still no later than when DynamoDB applies it). A bucket that is
        // really full (its slot further ahead than that) is not asked again.
        let later = sent_at();
        match number(&was, "tat") {
            Some(tat) if later > judged && tat <= later + span => {
                Ok(if refusal(take(later).await)?.is_none() {
                    k
                } else {
                    0
                })
            }
            _ => Ok(0),
        }
    }

    /// Count a block of up to `want` requests against `limit`: how many were counted. A block
    /// of more than one is counted only while at least [`QUOTA_SHARE`] times as many are left,
    /// so near the limit blocks shrink to single requests; none at the limit.
    async fn count_block(
        &self,
        pk: &str,
        limit: u64,
        expires_at: i64,
        want: u64,
    ) -> Result<u64, String> {
        let mut k = want.clamp(1, (limit / QUOTA_SHARE).max(1));
        // Each refusal reads what is left; a few tries cover the races between replicas.
        for _ in 0..8 {
            let needed = if k == 1 { 1 } else { k * QUOTA_SHARE };
            if needed > limit {
                return Ok(0);
            }
            let r = self
                .update(pk)
                .update_expression("SET used = if_not_exists(used, :zero) + :k, #t = :ttl")
                .condition_expression("attribute_not_exists(used) OR used <= :most")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":k", n(k))
                .expression_attribute_values(":most", n(limit - needed))
                .expression_attribute_values(":ttl", n(expires_at))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let Some(was) = refusal(r)? else {
                return Ok(k);
            };
            let used = number(&was, "used").unwrap_or(0.0) as u64;
            let left = limit.saturating_sub(used);
            if left == 0 {
                return Ok(0);
            }
            k = (left / QUOTA_SHARE).clamp(1, k);
        }
        Ok(0)
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
            let Some(leases) = &self.leases else {
                return Ok(self.take_slots(&pk, rate, burst, sent_at, 1).await? == 1);
            };
            // Up to half the burst at a time; a refused block is tried again as one slot.
            let max_block = (burst / 2).max(1);
            let pk = pk.as_str();
            leases
                .spend(pk, max_block, |want| async move {
                    let mut units = self.take_slots(pk, rate, burst, sent_at, want).await?;
                    if units == 0 && want > 1 {
                        units = self.take_slots(pk, rate, burst, sent_at, 1).await?;
                    }
                    // A refusal is not remembered: the bucket refills continuously.
                    let span = std::time::Duration::from_secs_f64(units as f64 / rate.max(1e-9));
                    let valid_for = if units == 0 {
                        std::time::Duration::ZERO
                    } else {
                        span.max(MIN_SLOT_LEASE)
                    };
                    Ok(Grant { units, valid_for })
                })
                .await
        })
    }

    fn count(&self, key: &str, limit: u64, expires_at: i64) -> StoreFuture<'_, bool> {
        let pk = format!("quota|{key}");
        Box::pin(async move {
            let Some(leases) = &self.leases else {
                return Ok(self.count_block(&pk, limit, expires_at, 1).await? == 1);
            };
            let pk = pk.as_str();
            leases
                .spend(pk, MAX_QUOTA_BLOCK, |want| async move {
                    let units = self.count_block(pk, limit, expires_at, want).await?;
                    // A block counted in this period may be spent until it ends; a used-up
                    // quota is asked again once a second, not by every request.
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    let left = u64::try_from(expires_at).unwrap_or(0).saturating_sub(now);
                    let valid_for = if units == 0 {
                        QUOTA_RECHECK
                    } else {
                        std::time::Duration::from_secs(left)
                    };
                    Ok(Grant { units, valid_for })
                })
                .await
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
