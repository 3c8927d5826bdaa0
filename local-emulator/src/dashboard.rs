//! The dashboard's data: the recent requests (each with its stage timeline), pushed live to
//! subscribers as server-sent events. The page itself (`dashboard.html`, plain HTML and JS) is
//! compiled into the binary and served by the admin listener.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use gateway::RequestContext;
use serde::Serialize;
use tokio::sync::broadcast;

/// How many finished requests the dashboard keeps.
const KEEP: usize = 500;

pub const PAGE: &str = include_str!("dashboard.html");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub name: &'static str,
    pub ms: f64,
}

/// One function invocation or upstream request the integration made.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    pub kind: &'static str,
    pub target: String,
    /// When it started, since the request began.
    pub at_ms: f64,
    pub ms: f64,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The Lambda event, or the upstream request's head.
    pub request: Option<String>,
    /// The function's response, or the upstream's response (head, then body).
    pub response: Option<String>,
}

/// One finished request, as the dashboard shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub id: String,
    pub time: String,
    pub api: Option<String>,
    pub method: String,
    pub path: String,
    pub route: Option<String>,
    pub status: u16,
    pub ms: f64,
    /// The phase that answered instead of the integration.
    pub answered_by: Option<&'static str>,
    pub stages: Vec<Stage>,
    pub api_key_id: Option<String>,
    pub error: Option<String>,
    pub calls: Vec<CallView>,
}

impl Record {
    fn from_ctx(ctx: &RequestContext) -> Record {
        Record {
            id: ctx.request_id.clone(),
            time: ctx.request_time.clone(),
            api: ctx.api_name.clone(),
            method: ctx.http_method.clone(),
            path: ctx.request_path.clone(),
            route: ctx.route_key.clone(),
            status: ctx.status,
            ms: ctx.start.elapsed().as_secs_f64() * 1000.0,
            answered_by: ctx.answered_by.map(|p| p.as_str()),
            stages: ctx
                .timings
                .iter()
                .map(|t| Stage {
                    name: t.phase.as_str(),
                    ms: t.elapsed().as_secs_f64() * 1000.0,
                })
                .collect(),
            api_key_id: ctx.api_key_id.clone(),
            error: ctx
                .error
                .as_ref()
                .and_then(|e| e.response_type.map(|t| t.as_str().to_string())),
            calls: ctx
                .calls
                .iter()
                .map(|c| CallView {
                    kind: c.kind.as_str(),
                    target: c.target.clone(),
                    at_ms: c.started.as_secs_f64() * 1000.0,
                    ms: c.elapsed.as_secs_f64() * 1000.0,
                    status: c.status,
                    error: c.error.clone(),
                    request: c.request.clone(),
                    response: c.response_text(),
                })
                .collect(),
        }
    }
}

pub struct RequestLog {
    recent: Mutex<VecDeque<Arc<Record>>>,
    live: broadcast::Sender<Arc<Record>>,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestLog {
    pub fn new() -> Self {
        let (live, _) = broadcast::channel(1024);
        RequestLog {
            recent: Mutex::new(VecDeque::with_capacity(KEEP)),
            live,
        }
    }

    pub fn record(&self, ctx: &RequestContext) {
        let r = Arc::new(Record::from_ctx(ctx));
        if let Ok(mut q) = self.recent.lock() {
            if q.len() == KEEP {
                q.pop_front();
            }
            q.push_back(Arc::clone(&r));
        }
        let _ = self.live.send(r);
    }

    pub fn recent(&self) -> Vec<Arc<Record>> {
        self.recent
            .lock()
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn get(&self, id: &str) -> Option<Arc<Record>> {
        self.recent
            .lock()
            .ok()?
            .iter()
            .rev()
            .find(|r| r.id == id)
            .cloned()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Record>> {
        self.live.subscribe()
    }
}

/// The route table, as `tollgate routes` prints it.
pub fn routes(gateway: &gateway::Gateway) -> Vec<crate::route_rows::RouteRow> {
    crate::route_rows::rows(gateway.apis().iter().map(|a| &**a))
}
