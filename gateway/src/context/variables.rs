//! `$context.*`: the variables templates, gateway responses and access logs read. A name is
//! resolved to a [`Variable`] once where it is known ahead (an access-log format, when it is
//! parsed), so a line is written without looking its names up again.

use std::borrow::Cow;
use std::time::Duration;

use super::RequestContext;
use crate::digits::push_decimal;

/// A `$context` variable, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Variable {
    RequestId,
    ExtendedRequestId,
    AccountId,
    ApiId,
    DomainName,
    DomainPrefix,
    HttpMethod,
    Path,
    Protocol,
    RequestTime,
    RequestTimeEpoch,
    ResourcePath,
    ResourceId,
    RouteKey,
    OperationName,
    Stage,
    SourceIp,
    UserAgent,
    ApiKey,
    ApiKeyId,
    AccessKey,
    AccountIdOfCaller,
    UserArn,
    User,
    ClientCertPem,
    ClientCertSubjectDn,
    ClientCertIssuerDn,
    ClientCertSerialNumber,
    ClientCertNotBefore,
    ClientCertNotAfter,
    Status,
    ResponseLength,
    ResponseLatency,
    IntegrationLatency,
    IntegrationStatus,
    ErrorMessage,
    ErrorMessageString,
    ValidationErrorString,
    ErrorResponseType,
    XrayTraceId,
    AuthorizerPrincipalId,
    AuthorizerLatency,
    /// `authorizer.claims.<key>`
    AuthorizerClaim(String),
    /// `authorizer.<key>`: the Lambda authorizer's context.
    AuthorizerContext(String),
    /// A name tollgate does not know: it has no value.
    Unknown,
}

impl Variable {
    pub(crate) fn named(name: &str) -> Variable {
        use Variable::*;
        match name {
            "requestId" | "awsEndpointRequestId" => RequestId,
            "extendedRequestId" => ExtendedRequestId,
            "accountId" => AccountId,
            "apiId" => ApiId,
            "domainName" => DomainName,
            "domainPrefix" => DomainPrefix,
            "httpMethod" => HttpMethod,
            "path" => Path,
            "protocol" => Protocol,
            "requestTime" => RequestTime,
            "requestTimeEpoch" => RequestTimeEpoch,
            "resourcePath" => ResourcePath,
            "resourceId" => ResourceId,
            "routeKey" => RouteKey,
            "operationName" => OperationName,
            "stage" => Stage,
            "identity.sourceIp" => SourceIp,
            "identity.userAgent" => UserAgent,
            "identity.apiKey" => ApiKey,
            "identity.apiKeyId" => ApiKeyId,
            "identity.accessKey" => AccessKey,
            "identity.accountId" => AccountIdOfCaller,
            "identity.userArn" => UserArn,
            "identity.user" | "identity.caller" => User,
            "identity.clientCert.clientCertPem" => ClientCertPem,
            "identity.clientCert.subjectDN" => ClientCertSubjectDn,
            "identity.clientCert.issuerDN" => ClientCertIssuerDn,
            "identity.clientCert.serialNumber" => ClientCertSerialNumber,
            "identity.clientCert.validity.notBefore" => ClientCertNotBefore,
            "identity.clientCert.validity.notAfter" => ClientCertNotAfter,
            "status" => Status,
            "responseLength" => ResponseLength,
            "responseLatency" => ResponseLatency,
            "integrationLatency" | "integration.latency" => IntegrationLatency,
            "integrationStatus" | "integration.integrationStatus" | "integration.status" => {
                IntegrationStatus
            }
            "error.message" => ErrorMessage,
            "error.messageString" => ErrorMessageString,
            "error.validationErrorString" => ValidationErrorString,
            "error.responseType" => ErrorResponseType,
            "xrayTraceId" => XrayTraceId,
            "authorizer.principalId" => AuthorizerPrincipalId,
            "authorizer.latency" | "authorizer.integrationLatency" => AuthorizerLatency,
            other => match other.strip_prefix("authorizer.") {
                Some(rest) => match rest.strip_prefix("claims.") {
                    Some(claim) => AuthorizerClaim(claim.to_string()),
                    None => AuthorizerContext(rest.to_string()),
                },
                None => Unknown,
            },
        }
    }
}

impl RequestContext {
    /// The value of `$context.<name>`, or `None` when it has none.
    pub fn variable(&self, name: &str) -> Option<String> {
        self.variable_text(name).map(Cow::into_owned)
    }

    /// Append the value of `v` to `out`; false when it has none. An access-log line is written
    /// this way, without a string per variable.
    pub(crate) fn write_variable(&self, v: &Variable, out: &mut String) -> bool {
        // Numbers go straight into the line, digit by digit (`write!` costs more than the
        // rest of the variable).
        let number = match v {
            Variable::Status if self.status != 0 => Some(u64::from(self.status)),
            Variable::ResponseLength => Some(self.response_length),
            Variable::RequestTimeEpoch => u64::try_from(self.request_time_epoch).ok(),
            Variable::ResponseLatency => u64::try_from(self.start.elapsed().as_millis()).ok(),
            _ => None,
        };
        if let Some(n) = number {
            push_decimal(out, n);
            return true;
        }
        match self.value(v) {
            Some(text) => {
                out.push_str(&text);
                true
            }
            None => false,
        }
    }

    /// The value, borrowed where the context holds it as text.
    pub(crate) fn variable_text(&self, name: &str) -> Option<Cow<'_, str>> {
        self.value(&Variable::named(name))
    }

    /// The value of `v`, borrowed where the context holds it as text.
    pub(crate) fn value(&self, v: &Variable) -> Option<Cow<'_, str>> {
        use Variable::*;
        let ms = |d: Duration| Cow::Owned(d.as_millis().to_string());
        Some(match v {
            RequestId => b(&self.request_id),
            ExtendedRequestId => b(&self.extended_request_id),
            AccountId => b(crate::ACCOUNT_ID),
            ApiId => b(self.api_id.as_deref()?),
            DomainName => b(&self.domain_name),
            DomainPrefix => b(self
                .domain_name
                .split(['.', ':'])
                .next()
                .unwrap_or_default()),
            HttpMethod => b(&self.http_method),
            Path => b(&self.path),
            Protocol => b(self.protocol),
            RequestTime => b(&self.request_time),
            RequestTimeEpoch => Cow::Owned(self.request_time_epoch.to_string()),
            ResourcePath => b(self.resource_path.as_deref()?),
            ResourceId => {
                Cow::Owned(crate::ids::api_id_for(self.resource_path.as_deref()?)[..6].to_string())
            }
            RouteKey => b(self.route_key.as_deref()?),
            OperationName => b(self.operation_name.as_deref()?),
            Stage => b(self.stage.as_deref()?),
            SourceIp => b(&self.source_ip),
            UserAgent => b(self.user_agent.as_deref()?),
            ApiKey => b(self.api_key.as_deref()?),
            ApiKeyId => b(self.api_key_id.as_deref()?),
            AccessKey => b(&self.iam.as_ref()?.access_key),
            AccountIdOfCaller => b(&self.iam.as_ref()?.account_id),
            UserArn => b(self.iam.as_ref()?.user_arn.as_deref()?),
            User => b(self.iam.as_ref()?.user.as_deref()?),
            ClientCertPem => b(&self.client_cert.as_ref()?.pem),
            ClientCertSubjectDn => b(&self.client_cert.as_ref()?.subject_dn),
            ClientCertIssuerDn => b(&self.client_cert.as_ref()?.issuer_dn),
            ClientCertSerialNumber => b(&self.client_cert.as_ref()?.serial_number),
            ClientCertNotBefore => b(&self.client_cert.as_ref()?.not_before),
            ClientCertNotAfter => b(&self.client_cert.as_ref()?.not_after),
            Status if self.status != 0 => Cow::Owned(self.status.to_string()),
            Status => return None,
            ResponseLength => Cow::Owned(self.response_length.to_string()),
            ResponseLatency => ms(self.start.elapsed()),
            IntegrationLatency => ms(self.integration_latency?),
            IntegrationStatus => Cow::Owned(self.integration_status?.to_string()),
            ErrorMessage => b(self.error.as_ref()?.message.as_deref()?),
            ErrorMessageString => Cow::Owned(match self.error.as_ref()?.message.as_deref() {
                Some(m) => serde_json::Value::from(m).to_string(),
                None => "null".to_string(),
            }),
            ValidationErrorString => b(self.validation_error.as_deref()?),
            ErrorResponseType => b(self.error.as_ref()?.response_type?.as_str()),
            XrayTraceId => b(&self.trace_id),
            AuthorizerPrincipalId => b(self.authorizer.as_ref()?.principal_id.as_deref()?),
            AuthorizerLatency => ms(self.authorizer.as_ref()?.latency),
            AuthorizerClaim(key) => match self.authorizer.as_ref()?.claims.as_ref()?.get(key)? {
                serde_json::Value::String(s) => b(s),
                v => Cow::Owned(v.to_string()),
            },
            // Context values are stringified for templates and logs (aws-behaviour §4a).
            AuthorizerContext(key) => match self.authorizer.as_ref()?.context.get(key)? {
                serde_json::Value::String(s) => b(s),
                v => Cow::Owned(v.to_string()),
            },
            Unknown => return None,
        })
    }
}

/// Borrowed text, as a `$context` value.
fn b(s: &str) -> Cow<'_, str> {
    Cow::Borrowed(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name resolves, aliases to the same variable and other names to different ones; a
    /// number written into a line reads as its text value.
    #[test]
    fn names_resolve_once_and_numbers_write_as_text() {
        let groups: &[&[&str]] = &[
            &["requestId", "awsEndpointRequestId"],
            &["extendedRequestId"],
            &["accountId"],
            &["apiId"],
            &["domainName"],
            &["domainPrefix"],
            &["httpMethod"],
            &["path"],
            &["protocol"],
            &["requestTime"],
            &["requestTimeEpoch"],
            &["resourcePath"],
            &["resourceId"],
            &["routeKey"],
            &["operationName"],
            &["stage"],
            &["identity.sourceIp"],
            &["identity.userAgent"],
            &["identity.apiKey"],
            &["identity.apiKeyId"],
            &["identity.accessKey"],
            &["identity.accountId"],
            &["identity.userArn"],
            &["identity.user", "identity.caller"],
            &["identity.clientCert.clientCertPem"],
            &["identity.clientCert.subjectDN"],
            &["identity.clientCert.issuerDN"],
            &["identity.clientCert.serialNumber"],
            &["identity.clientCert.validity.notBefore"],
            &["identity.clientCert.validity.notAfter"],
            &["status"],
            &["responseLength"],
            &["responseLatency"],
            &["integrationLatency", "integration.latency"],
            &[
                "integrationStatus",
                "integration.integrationStatus",
                "integration.status",
            ],
            &["error.message"],
            &["error.messageString"],
            &["error.validationErrorString"],
            &["error.responseType"],
            &["xrayTraceId"],
            &["authorizer.principalId"],
            &["authorizer.latency", "authorizer.integrationLatency"],
            &["authorizer.claims.sub"],
            &["authorizer.tenant"],
        ];
        let mut seen: Vec<Variable> = Vec::new();
        for group in groups {
            let v = Variable::named(group[0]);
            assert_ne!(v, Variable::Unknown, "{}", group[0]);
            assert!(!seen.contains(&v), "{} shares a variable", group[0]);
            for alias in &group[1..] {
                assert_eq!(Variable::named(alias), v, "{alias}");
            }
            seen.push(v);
        }
        assert_eq!(Variable::named("nope"), Variable::Unknown);
        assert_eq!(
            Variable::named("authorizer.claims.sub"),
            Variable::AuthorizerClaim("sub".into())
        );

        let mut ctx = crate::context::test_request(http::Method::GET, "/p");
        ctx.status = 404;
        ctx.response_length = 1234;
        for name in ["status", "responseLength", "requestTimeEpoch", "requestId"] {
            let mut line = String::new();
            assert!(ctx.write_variable(&Variable::named(name), &mut line));
            assert_eq!(Some(line), ctx.variable(name), "{name}");
        }
        for n in [0, 7, 10, 99, 1_796_139_890_857, u64::MAX] {
            let mut text = String::new();
            push_decimal(&mut text, n);
            assert_eq!(text, n.to_string());
        }
        ctx.status = 0;
        assert!(!ctx.write_variable(&Variable::Status, &mut String::new()));
        assert_eq!(ctx.variable("status"), None);
    }
}
