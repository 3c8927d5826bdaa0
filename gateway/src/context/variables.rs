//! `$context.*`: the variables templates, gateway responses and access logs read.

use std::borrow::Cow;
use std::time::Duration;

use super::RequestContext;

impl RequestContext {
    /// The value of `$context.<name>`, or `None` when it has none.
    pub fn variable(&self, name: &str) -> Option<String> {
        self.variable_text(name).map(Cow::into_owned)
    }

    /// Append the value of `$context.<name>` to `out`; false when it has none. An access-log
    /// line is written this way, without a string per variable.
    pub fn write_variable(&self, name: &str, out: &mut String) -> bool {
        match self.variable_text(name) {
            Some(text) => {
                out.push_str(&text);
                true
            }
            None => false,
        }
    }

    /// The value, borrowed where the context holds it as text.
    pub(crate) fn variable_text(&self, name: &str) -> Option<Cow<'_, str>> {
        let ms = |d: Duration| Cow::Owned(d.as_millis().to_string());
        Some(match name {
            "requestId" | "awsEndpointRequestId" => b(&self.request_id),
            "extendedRequestId" => b(&self.extended_request_id),
            "accountId" => b(crate::ACCOUNT_ID),
            "apiId" => b(self.api_id.as_deref()?),
            "domainName" => b(&self.domain_name),
            "domainPrefix" => b(self
                .domain_name
                .split(['.', ':'])
                .next()
                .unwrap_or_default()),
            "httpMethod" => b(&self.http_method),
            "path" => b(&self.path),
            "protocol" => b(self.protocol),
            "requestTime" => b(&self.request_time),
            "requestTimeEpoch" => Cow::Owned(self.request_time_epoch.to_string()),
            "resourcePath" => b(self.resource_path.as_deref()?),
            "resourceId" => {
                Cow::Owned(crate::ids::api_id_for(self.resource_path.as_deref()?)[..6].to_string())
            }
            "routeKey" => b(self.route_key.as_deref()?),
            "operationName" => b(self.operation_name.as_deref()?),
            "stage" => b(self.stage.as_deref()?),
            "identity.sourceIp" => b(&self.source_ip),
            "identity.userAgent" => b(self.user_agent.as_deref()?),
            "identity.apiKey" => b(self.api_key.as_deref()?),
            "identity.apiKeyId" => b(self.api_key_id.as_deref()?),
            "identity.accessKey" => b(&self.iam.as_ref()?.access_key),
            "identity.accountId" => b(&self.iam.as_ref()?.account_id),
            "identity.userArn" => b(self.iam.as_ref()?.user_arn.as_deref()?),
            "identity.user" | "identity.caller" => b(self.iam.as_ref()?.user.as_deref()?),
            "identity.clientCert.clientCertPem" => b(&self.client_cert.as_ref()?.pem),
            "identity.clientCert.subjectDN" => b(&self.client_cert.as_ref()?.subject_dn),
            "identity.clientCert.issuerDN" => b(&self.client_cert.as_ref()?.issuer_dn),
            "identity.clientCert.serialNumber" => b(&self.client_cert.as_ref()?.serial_number),
            "identity.clientCert.validity.notBefore" => b(&self.client_cert.as_ref()?.not_before),
            "identity.clientCert.validity.notAfter" => b(&self.client_cert.as_ref()?.not_after),
            "status" if self.status != 0 => Cow::Owned(self.status.to_string()),
            "responseLength" => Cow::Owned(self.response_length.to_string()),
            "responseLatency" => ms(self.start.elapsed()),
            "integrationLatency" | "integration.latency" => ms(self.integration_latency?),
            "integrationStatus" | "integration.integrationStatus" | "integration.status" => {
                Cow::Owned(self.integration_status?.to_string())
            }
            "error.message" => b(self.error.as_ref()?.message.as_deref()?),
            "error.messageString" => Cow::Owned(match self.error.as_ref()?.message.as_deref() {
                Some(m) => serde_json::Value::from(m).to_string(),
                None => "null".to_string(),
            }),
            "error.validationErrorString" => b(self.validation_error.as_deref()?),
            "error.responseType" => b(self.error.as_ref()?.response_type?.as_str()),
            "xrayTraceId" => b(&self.trace_id),
            "authorizer.principalId" => b(self.authorizer.as_ref()?.principal_id.as_deref()?),
            "authorizer.latency" | "authorizer.integrationLatency" => {
                ms(self.authorizer.as_ref()?.latency)
            }
            other if other.starts_with("authorizer.claims.") => {
                let key = &other["authorizer.claims.".len()..];
                match self.authorizer.as_ref()?.claims.as_ref()?.get(key)? {
                    serde_json::Value::String(s) => b(s),
                    v => Cow::Owned(v.to_string()),
                }
            }
            other if other.starts_with("authorizer.") => {
                // Context values are stringified for templates and logs (aws-behaviour §4a).
                let key = &other["authorizer.".len()..];
                match self.authorizer.as_ref()?.context.get(key)? {
                    serde_json::Value::String(s) => b(s),
                    v => Cow::Owned(v.to_string()),
                }
            }
            _ => return None,
        })
    }
}

/// Borrowed text, as a `$context` value.
fn b(s: &str) -> Cow<'_, str> {
    Cow::Borrowed(s)
}
