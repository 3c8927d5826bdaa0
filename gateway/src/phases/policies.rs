//! The policies phase: tollgate's filter chain (`x-tollgate-policies`, `--policies`), the
//! gateway-wide policies first, then the API's and the route's. Its request side may answer;
//! its response side runs, last filter first, on whatever answer the request gets from the
//! integration or from a policy.

use http::Response;

use crate::body::Body;
use crate::context::RequestContext;
use crate::filters;
use crate::phase::Flow;
use crate::phases::env::{Env, PhaseResult};
use crate::request::MethodRequest;

/// How many filters of each chain ran their request side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ran {
    global: usize,
    route: usize,
}

/// Run the request sides in order; the first answer stops the chain and gets the response
/// sides of the filters that ran.
pub(crate) fn request(
    env: &Env<'_>,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> PhaseResult<Ran> {
    let (answer, global) = filters::request(&env.services.filters, ctx, req);
    let (answer, ran) = match answer {
        Some(a) => (Some(a), Ran { global, route: 0 }),
        None => {
            let (answer, route) = filters::request(&env.route.filters, ctx, req);
            (answer, Ran { global, route })
        }
    };
    Ok(match answer {
        Some(mut resp) => {
            response(env, ran, ctx, &mut resp);
            Flow::Respond(resp)
        }
        None => Flow::Continue(ran),
    })
}

/// Run the response sides of the filters that ran: the route's, then the global ones.
pub(crate) fn response(env: &Env<'_>, ran: Ran, ctx: &RequestContext, resp: &mut Response<Body>) {
    filters::response(&env.route.filters, ran.route, ctx, resp);
    filters::response(&env.services.filters, ran.global, ctx, resp);
}
