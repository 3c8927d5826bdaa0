//! The edge: an HTTP/1.1 request without exactly one Host is refused (400), and a declared body
//! over API Gateway's 10 MB payload limit is refused before anything else (aws-behaviour §1); a
//! body that turns out larger while streaming, or arrives too slowly, is cut by the limit and
//! deadline the request's body carries.

use http::HeaderMap;

use crate::error::GatewayError;
use crate::MAX_BODY_BYTES;

pub(crate) fn check(version: http::Version, headers: &HeaderMap) -> Result<(), GatewayError> {
    // HTTP/1.1 requires exactly one Host (RFC 9112 §3.2); HTTP/2 carries :authority instead.
    if version == http::Version::HTTP_11 {
        let hosts = headers.get_all(http::header::HOST).iter().count();
        if hosts != 1 {
            return Err(GatewayError::BadRequest(format!(
                "an HTTP/1.1 request needs exactly one Host header, not {hosts}"
            )));
        }
    }
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(GatewayError::RequestTooLarge);
    }
    Ok(())
}
