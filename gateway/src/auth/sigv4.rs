//! `AWS_IAM` authorization: Signature Version 4 verification against local credentials.
//!
//! The canonical request is rebuilt by the `aws-sigv4` crate from exactly the headers the client
//! signed, with the client's own `X-Amz-Date`, region and service, and the signatures compared in
//! constant time. Only the `Authorization` header form is accepted (presigned URLs are not).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use serde::Deserialize;

use crate::context::IamIdentity;
use crate::error::SigV4Error;

/// Clock skew AWS tolerates on `X-Amz-Date`.
const MAX_SKEW: Duration = Duration::from_secs(300);

/// One caller tollgate accepts, from `--iam-credentials FILE` (a JSON list of these).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IamCredential {
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default)]
    pub session_token: Option<String>,
    #[serde(default = "default_account")]
    pub account_id: String,
    #[serde(default)]
    pub user_arn: Option<String>,
    /// `$context.identity.user` / `caller`: the principal id (e.g. `AIDA...`).
    #[serde(default)]
    pub user: Option<String>,
}

fn default_account() -> String {
    crate::ACCOUNT_ID.to_string()
}

#[derive(Debug)]
struct Parsed<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Parsed<'_>, SigV4Error> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
        SigV4Error::Incomplete(format!(
            "Authorization header is not AWS4-HMAC-SHA256: {value}"
        ))
    })?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').unwrap_or((part.trim(), ""));
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let missing: Vec<&str> = [
        ("Credential", credential),
        ("SignedHeaders", signed),
        ("Signature", signature),
    ]
    .iter()
    .filter(|(_, v)| v.is_none_or(str::is_empty))
    .map(|(k, _)| *k)
    .collect();
    if !missing.is_empty() {
        return Err(SigV4Error::Incomplete(format!(
            "Authorization header requires {} parameter(s).",
            missing.join(", ")
        )));
    }
    let scope: Vec<&str> = credential.unwrap_or_default().split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(SigV4Error::Incomplete(
            "Credential must be AKID/yyyymmdd/region/service/aws4_request".into(),
        ));
    };
    Ok(Parsed {
        access_key,
        date,
        region,
        service,
        signed_headers: signed.unwrap_or_default().split(';').collect(),
        signature: signature.unwrap_or_default(),
    })
}

/// Parse `X-Amz-Date` (`yyyymmddThhmmssZ`).
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let dt = time::PrimitiveDateTime::parse(s, &format).ok()?;
    Some(dt.assume_utc().into())
}

/// Verify a request. `headers` are the request's headers, `path_and_query` the URI as the
/// client sent it.
pub(crate) fn verify(
    credentials: &[IamCredential],
    method: &str,
    path_and_query: &str,
    headers: &http::HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<IamIdentity, SigV4Error> {
    let auth = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(SigV4Error::Missing)?;
    let p = parse_authorization(auth)?;
    let cred = credentials
        .iter()
        .find(|c| c.access_key_id == p.access_key)
        .ok_or(SigV4Error::UnknownKey)?;
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| SigV4Error::Incomplete("the request has no X-Amz-Date header".into()))?;
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
        SigV4Error::Incomplete(format!("X-Amz-Date `{amz_date}` is not yyyymmddThhmmssZ"))
    })?;
    if !amz_date.starts_with(p.date) {
        return Err(SigV4Error::Mismatch);
    }
    let skew = now
        .duration_since(signed_at)
        .or_else(|_| signed_at.duration_since(now))
        .unwrap_or_default();
    if skew > MAX_SKEW {
        return Err(SigV4Error::Expired(amz_date.to_string()));
    }

    // Rebuild the signature over exactly the headers the client listed.
    let signed: Vec<(&str, &str)> = p
        .signed_headers
        .iter()
        .filter(|name| **name != "x-amz-date")
        .filter_map(|name| {
            headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .map(|v| (*name, v))
        })
        .collect();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    settings.session_token_mode = if p.signed_headers.contains(&"x-amz-security-token") {
        aws_sigv4::http_request::SessionTokenMode::Include
    } else {
        aws_sigv4::http_request::SessionTokenMode::Exclude
    };
    let identity = Credentials::new(
        &cred.access_key_id,
        &cred.secret_access_key,
        cred.session_token.clone(),
        None,
        "tollgate",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(p.region)
        .name(p.service)
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(|e| SigV4Error::Incomplete(format!("cannot build signing parameters: {e}")))?
        .into();
    let signable = SignableRequest::new(
        method,
        path_and_query,
        signed.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| SigV4Error::Incomplete(format!("cannot read the request for signing: {e}")))?;
    let (_, expected) = sign(signable, &params)
        .map_err(|e| SigV4Error::Incomplete(format!("cannot compute the signature: {e}")))?
        .into_parts();
    if !constant_time_eq(expected.as_bytes(), p.signature.as_bytes()) {
        return Err(SigV4Error::Mismatch);
    }
    Ok(IamIdentity {
        access_key: cred.access_key_id.clone(),
        account_id: cred.account_id.clone(),
        user_arn: cred.user_arn.clone(),
        user: cred.user.clone(),
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_parsing() {
        let p = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .expect("parses");
        assert_eq!(
            (p.access_key, p.region, p.service, p.signature),
            ("AKID", "us-east-1", "execute-api", "abc")
        );
        assert_eq!(p.signed_headers, vec!["host", "x-amz-date"]);
        assert!(matches!(
            parse_authorization("Bearer x"),
            Err(SigV4Error::Incomplete(_))
        ));
        assert!(matches!(
            parse_authorization("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/execute-api/aws4_request"),
            Err(SigV4Error::Incomplete(m)) if m.contains("SignedHeaders, Signature")
        ));
        assert!(parse_amz_date("20260101T000000Z").is_some());
        assert!(parse_amz_date("2026-01-01").is_none());
    }
}
