//! The embedded usage store: counters in a `redb` database under the state directory, so quota
//! usage survives restarts with no service to run.
//!
//! Each decision is one write transaction. By default commits skip the disk sync (a request
//! should not wait on fsync); a background flush makes them durable every second and on
//! shutdown, so a crash (`kill -9`, power loss) loses at most the last second of counts. With
//! [`StateSync::Always`] every decision is synced before the request goes on: nothing counted is
//! lost, at the cost of an fsync per decision (docs/reliability.md).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::{StoreFuture, UsageStore};
use crate::usage::{take_token, Bucket};

const BUCKETS: TableDefinition<&str, (f64, f64)> = TableDefinition::new("buckets");
const COUNTS: TableDefinition<&str, (u64, i64)> = TableDefinition::new("counts");

pub struct EmbeddedStore {
    db: Arc<Database>,
    sync: StateSync,
}

/// When the embedded store's commits reach the disk (`--state-sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateSync {
    /// Once a second, in the background.
    #[default]
    Interval,
    /// Before each decision returns.
    Always,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EmbeddedError(String);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl EmbeddedStore {
    /// Open (or create) `dir/usage.redb`.
    pub fn open(dir: &Path, sync: StateSync) -> Result<EmbeddedStore, EmbeddedError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| EmbeddedError(format!("{}: {e}", dir.display())))?;
        let path = dir.join("usage.redb");
        let db = Database::create(&path).map_err(|e| {
            EmbeddedError(format!(
                "{}: {e} (is another tollgate using this state directory? give each one its own --state-dir)",
                path.display()
            ))
        })?;
        let db = Arc::new(db);
        let weak = Arc::downgrade(&db);
        // Make recent commits durable once a second.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    let Some(db) = weak.upgrade() else { break };
                    let _ = tokio::task::spawn_blocking(move || flush(&db)).await;
                }
            });
        }
        Ok(EmbeddedStore { db, sync })
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut txn = self.db.begin_write().map_err(err)?;
        let durability = match self.sync {
            StateSync::Interval => Durability::None,
            StateSync::Always => Durability::Immediate,
        };
        txn.set_durability(durability).map_err(err)?;
        let out = f(&txn)?;
        // A synced commit waits on the disk: off the async worker when the runtime allows it.
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if self.sync == StateSync::Always && multi_thread {
            tokio::task::block_in_place(|| txn.commit()).map_err(err)?;
        } else {
            txn.commit().map_err(err)?;
        }
        Ok(out)
    }
}

fn flush(db: &Database) -> Result<(), String> {
    let txn = db.begin_write().map_err(err)?;
    txn.commit().map_err(err)
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        let _ = flush(&self.db);
    }
}

impl UsageStore for EmbeddedStore {
    fn take_token(&self, key: &str, rate: f64, burst: u64, now: f64) -> StoreFuture<'_, bool> {
        let result = self.write(|txn| {
            let mut t = txn.open_table(BUCKETS).map_err(err)?;
            let state = t.get(key).map_err(err)?.map(|v| {
                let (tokens, at) = v.value();
                Bucket { tokens, at }
            });
            let (ok, b) = take_token(state, now, rate, burst);
            t.insert(key, (b.tokens, b.at)).map_err(err)?;
            Ok(ok)
        });
        Box::pin(async move { result })
    }

    fn count(&self, key: &str, limit: u64, expires_at: i64) -> StoreFuture<'_, bool> {
        let result = self.write(|txn| {
            let mut t = txn.open_table(COUNTS).map_err(err)?;
            let used = t.get(key).map_err(err)?.map(|v| v.value().0).unwrap_or(0);
            if used >= limit {
                return Ok(false);
            }
            t.insert(key, (used + 1, expires_at)).map_err(err)?;
            Ok(true)
        });
        Box::pin(async move { result })
    }

    fn used(&self, key: &str) -> StoreFuture<'_, u64> {
        let result = (|| {
            let txn = self.db.begin_read().map_err(err)?;
            let t = match txn.open_table(COUNTS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
                Err(e) => return Err(err(e)),
            };
            Ok(t.get(key).map_err(err)?.map(|v| v.value().0).unwrap_or(0))
        })();
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("tollgate-redb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let s = EmbeddedStore::open(&dir, StateSync::Interval).expect("open");
            assert!(s.count("q", 3, 0).await.expect("count"));
            assert!(s.count("q", 3, 0).await.expect("count"));
            assert!(s.take_token("b", 1.0, 1, 10.0).await.expect("bucket"));
            assert!(!s.take_token("b", 1.0, 1, 10.0).await.expect("bucket"));
        }
        let s = EmbeddedStore::open(&dir, StateSync::Interval).expect("reopen");
        assert_eq!(s.used("q").await.expect("used"), 2);
        assert!(s.count("q", 3, 0).await.expect("count"));
        assert!(
            !s.count("q", 3, 0).await.expect("count"),
            "the limit holds across restarts"
        );
        assert!(
            !s.take_token("b", 1.0, 1, 10.5).await.expect("bucket"),
            "bucket state persisted"
        );
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
