//! `AWS_IAM`: the request's SigV4 signature, checked against the configured callers.

use bytes::Bytes;

use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::request::MethodRequest;
use crate::services::Services;

pub(super) async fn run(
    services: &Services,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<(), GatewayError> {
    // The signature covers the body: read it, then hand the bytes on.
    let body = match req.body.take() {
        Some(b) => crate::request::collect(b).await?,
        None => Bytes::new(),
    };
    req.body = Some(crate::body::full(body.clone()));
    let identity = crate::auth::verify_sigv4(
        &services.iam,
        req.method.as_str(),
        &req.path_and_query,
        &req.headers,
        &body,
        std::time::SystemTime::now(),
    )
    .map_err(GatewayError::Iam)?;
    ctx.iam = Some(identity);
    Ok(())
}
