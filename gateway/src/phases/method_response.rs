//! Method response: the last phase. Adds the headers API Gateway puts on every response
//! (`x-amzn-RequestId` and `x-amz-apigw-id` on REST APIs, `apigw-requestid` on HTTP APIs) and the
//! default `Content-Type` of integration responses.

use http::{HeaderName, HeaderValue, Response};

use crate::body::Body;
use crate::context::RequestContext;
use crate::spec::ApiKind;

// Names made once: a name given as text is parsed again on every insert.
const X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
const X_AMZ_APIGW_ID: HeaderName = HeaderName::from_static("x-amz-apigw-id");
const APIGW_REQUEST_ID: HeaderName = HeaderName::from_static("apigw-requestid");

/// Headers every response carries, errors included.
pub(crate) fn decorate(kind: ApiKind, ctx: &RequestContext, resp: &mut Response<Body>) {
    let headers = resp.headers_mut();
    match kind {
        ApiKind::Rest => {
            if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
                headers.insert(X_AMZN_REQUEST_ID, v);
            }
            if let Ok(v) = HeaderValue::from_str(&ctx.extended_request_id) {
                headers.insert(X_AMZ_APIGW_ID, v);
            }
        }
        ApiKind::Http => {
            if let Ok(v) = HeaderValue::from_str(&ctx.extended_request_id) {
                headers.insert(APIGW_REQUEST_ID, v);
            }
        }
    }
}

/// A response that came from the integration: make sure it has a Content-Type (API Gateway
/// always sends one, `application/json` by default).
pub(crate) fn run(resp: &mut Response<Body>) {
    resp.headers_mut()
        .entry(http::header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/json"));
}
