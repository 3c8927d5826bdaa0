//! The route table, one row per servable route: what `tollgate routes` (and start-up) print as
//! text and what the dashboard's `/api/routes` serves as JSON.

use gateway::{ResolvedApi, RouteAuth};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteRow {
    pub api: String,
    pub kind: &'static str,
    pub stage: String,
    pub method: String,
    pub path: String,
    pub integration: String,
    pub authorizer: String,
    pub api_key: bool,
    pub rate_limit: bool,
}

fn authorizer(auth: &RouteAuth) -> String {
    match auth {
        RouteAuth::None => "NONE".to_string(),
        RouteAuth::Lambda(a) => format!("Lambda {}", a.name),
        RouteAuth::Jwt(..) => "JWT".to_string(),
        RouteAuth::Iam => "AWS_IAM".to_string(),
        RouteAuth::Unsupported(s) => s.clone(),
    }
}

pub fn rows<'a>(apis: impl IntoIterator<Item = &'a ResolvedApi>) -> Vec<RouteRow> {
    let mut out = Vec::new();
    for api in apis {
        for r in &api.routes {
            out.push(RouteRow {
                api: api.name.clone(),
                kind: api.kind.label(),
                stage: api.stage.name.clone(),
                method: r.method.to_string(),
                path: r.resource_path.clone(),
                integration: r.integration.label(),
                authorizer: authorizer(&r.auth),
                api_key: r.api_key_required,
                rate_limit: r.rate_limit.is_some(),
            });
        }
    }
    out
}

/// The rows as aligned text columns.
pub fn table(rows: &[RouteRow]) -> String {
    let mut cells = vec![[
        "API".to_string(),
        "TYPE".to_string(),
        "STAGE".to_string(),
        "METHOD".to_string(),
        "PATH".to_string(),
        "INTEGRATION".to_string(),
    ]];
    for r in rows {
        cells.push([
            r.api.clone(),
            r.kind.to_string(),
            r.stage.clone(),
            r.method.clone(),
            r.path.clone(),
            r.integration.clone(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.len());
        }
    }
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
