//! The edge: a declared body over API Gateway's 10 MB payload limit is refused before anything
//! else (aws-behaviour §1); a body that turns out larger while streaming is cut by the limit
//! the request's body carries.

use http::HeaderMap;

use crate::error::GatewayError;
use crate::MAX_BODY_BYTES;

pub(crate) fn check(headers: &HeaderMap) -> Result<(), GatewayError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(GatewayError::RequestTooLarge);
    }
    Ok(())
}
