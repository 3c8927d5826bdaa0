//! `$context.*`: the variables templates, gateway responses and access logs read.

use std::time::Duration;

use super::RequestContext;

impl RequestContext {
    /// The value of `$context.<name>`, or `None` when it has none.
    pub fn variable(&self, name: &str) -> Option<String> {
        let ms = |d: Duration| d.as_millis().to_string();
        Some(match name {
            "requestId" | "awsEndpointRequestId" => self.request_id.clone(),
            "extendedRequestId" => self.extended_request_id.clone(),
            "accountId" => crate::ACCOUNT_ID.to_string(),
            "apiId" => self.api_id.clone()?,
            "domainName" => self.domain_name.clone(),
            "domainPrefix" => self
                .domain_name
                .split(['.', ':'])
                .next()
                .unwrap_or_default()
                .to_string(),
            "httpMethod" => self.http_method.clone(),
            "path" => self.path.clone(),
            "protocol" => self.protocol.to_string(),
            "requestTime" => self.request_time.clone(),
            "requestTimeEpoch" => self.request_time_epoch.to_string(),
            "resourcePath" => self.resource_path.clone()?,
            "resourceId" => crate::ids::api_id_for(self.resource_path.as_deref()?)[..6].to_string(),
            "routeKey" => self.route_key.clone()?,
            "operationName" => self.operation_name.clone()?,
            "stage" => self.stage.clone()?,
            "identity.sourceIp" => self.source_ip.clone(),
            "identity.userAgent" => self.user_agent.clone()?,
            "identity.apiKey" => self.api_key.clone()?,
            "identity.apiKeyId" => self.api_key_id.clone()?,
            "identity.accessKey" => self.iam.as_ref()?.access_key.clone(),
            "identity.accountId" => self.iam.as_ref()?.account_id.clone(),
            "identity.userArn" => self.iam.as_ref()?.user_arn.clone()?,
            "identity.user" | "identity.caller" => self.iam.as_ref()?.user.clone()?,
            "identity.clientCert.clientCertPem" => self.client_cert.as_ref()?.pem.clone(),
            "identity.clientCert.subjectDN" => self.client_cert.as_ref()?.subject_dn.clone(),
            "identity.clientCert.issuerDN" => self.client_cert.as_ref()?.issuer_dn.clone(),
            "identity.clientCert.serialNumber" => self.client_cert.as_ref()?.serial_number.clone(),
            "identity.clientCert.validity.notBefore" => {
                self.client_cert.as_ref()?.not_before.clone()
            }
            "identity.clientCert.validity.notAfter" => self.client_cert.as_ref()?.not_after.clone(),
            "status" if self.status != 0 => self.status.to_string(),
            "responseLength" => self.response_length.to_string(),
            "responseLatency" => ms(self.start.elapsed()),
            "integrationLatency" | "integration.latency" => ms(self.integration_latency?),
            "integrationStatus" | "integration.integrationStatus" | "integration.status" => {
                self.integration_status?.to_string()
            }
            "error.message" => self.error.as_ref()?.message.clone()?,
            "error.messageString" => match self.error.as_ref()?.message.as_deref() {
                Some(m) => serde_json::Value::from(m).to_string(),
                None => "null".to_string(),
            },
            "error.validationErrorString" => self.validation_error.clone()?,
            "error.responseType" => self.error.as_ref()?.response_type?.as_str().to_string(),
            "xrayTraceId" => self.trace_id.clone(),
            "authorizer.principalId" => self.authorizer.as_ref()?.principal_id.clone()?,
            "authorizer.latency" | "authorizer.integrationLatency" => {
                ms(self.authorizer.as_ref()?.latency)
            }
            other if other.starts_with("authorizer.claims.") => {
                let key = &other["authorizer.claims.".len()..];
                match self.authorizer.as_ref()?.claims.as_ref()?.get(key)? {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                }
            }
            other if other.starts_with("authorizer.") => {
                // Context values are stringified for templates and logs (aws-behaviour §4a).
                let key = &other["authorizer.".len()..];
                match self.authorizer.as_ref()?.context.get(key)? {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                }
            }
            _ => return None,
        })
    }
}
