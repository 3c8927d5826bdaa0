//! Choosing what serves a request: the API (by `Host: <name>.localhost`, else every API in
//! template order), the stage (with `--stage-in-path`, the first path segment must name it), and
//! the route (exact > `{param}` > `{proxy+}`, method > `ANY`, aws-behaviour §2).

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::GatewayError;
use crate::model::{ResolvedApi, RouteMatch};
use crate::spec::{ApiKind, RouteMethod};

/// The APIs a request may reach: one, when its Host is `<api-name>.localhost[:port]`; all of
/// them in template order otherwise.
pub(crate) fn candidates<'a>(
    apis: &'a [Arc<ResolvedApi>],
    by_host: &HashMap<String, usize>,
    host: Option<&str>,
) -> Vec<&'a Arc<ResolvedApi>> {
    if let Some(h) = host {
        let h = h.rsplit_once(':').map(|(a, _)| a).unwrap_or(h);
        if let Some(label) = h.strip_suffix(".localhost") {
            if let Some(i) = by_host.get(&label.to_ascii_lowercase()) {
                return vec![&apis[*i]];
            }
        }
    }
    apis.iter().collect()
}

/// The candidates whose stage the path names, each with the path the API sees (the stage
/// prefix removed). Without `--stage-in-path` every candidate serves the path as it is.
pub(crate) fn stages(
    candidates: &[&Arc<ResolvedApi>],
    stage_in_path: bool,
    raw_path: &str,
) -> Result<Vec<(Arc<ResolvedApi>, String)>, GatewayError> {
    let mut staged = Vec::new();
    for api in candidates {
        let prefixless = api.kind == ApiKind::Http && api.stage.name == "$default";
        if stage_in_path && !prefixless {
            let rest = raw_path.strip_prefix('/').unwrap_or(raw_path);
            let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
            if first == api.stage.name {
                // `/stage//x` is routed as `/x` (aws-behaviour §2).
                staged.push((
                    Arc::clone(api),
                    format!("/{}", tail.trim_start_matches('/')),
                ));
            }
        } else {
            staged.push((Arc::clone(api), raw_path.to_string()));
        }
    }
    if staged.is_empty() {
        let first_kind = candidates.first().map(|a| a.kind).unwrap_or(ApiKind::Rest);
        return Err(match first_kind {
            ApiKind::Http => GatewayError::NotFound,
            ApiKind::Rest => GatewayError::UnknownStage,
        });
    }
    Ok(staged)
}

/// The first staged API with a declared route for the method and path; else the first with a
/// `$default` route. One API's catch-all does not hide another API's declared route when several
/// share a port (on AWS each has its own host).
pub(crate) fn route(
    staged: &[(Arc<ResolvedApi>, String)],
    method: &http::Method,
) -> Option<(Arc<ResolvedApi>, String, RouteMatch)> {
    let m = RouteMethod::from_http(method)?;
    let declared = staged.iter().find_map(|(api, path)| {
        api.router
            .lookup_declared(m, path)
            .map(|hit| (Arc::clone(api), path.clone(), hit))
    });
    declared.or_else(|| {
        staged.iter().find_map(|(api, path)| {
            api.router
                .default_match()
                .map(|hit| (Arc::clone(api), path.clone(), hit))
        })
    })
}

/// No route: REST answers 403 Missing Authentication Token, HTTP APIs 404 (aws-behaviour §6).
pub(crate) fn no_route(kind: ApiKind) -> GatewayError {
    match kind {
        ApiKind::Rest => GatewayError::MissingAuthenticationToken,
        ApiKind::Http => GatewayError::NotFound,
    }
}
