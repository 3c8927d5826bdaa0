//! Authorizers and the authorization each route asks for.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use crate::auth::IdentitySource;
use crate::lambda::function_from_uri;
use crate::load_error::{pointer_join, LoadError, LoadErrors};
use crate::model::{LambdaAuthorizer, LambdaAuthorizerKind, RouteAuth};
use crate::spec::{ApiKind, ApiSpec};

use super::ResolveOptions;

pub(super) fn resolve_authorizers(
    spec: &ApiSpec,
    opts: &ResolveOptions,
    errors: &mut LoadErrors,
) -> HashMap<String, RouteAuth> {
    use crate::spec::extensions::AuthorizerType;
    let file = spec.file.as_path();
    let mut out = HashMap::new();
    for (name, scheme) in &spec.security_schemes {
        let Some(a) = &scheme.authorizer else {
            continue;
        };
        let ptr = pointer_join(&scheme.pointer, "x-amazon-apigateway-authorizer");
        let kind = match a.kind {
            AuthorizerType::Token => LambdaAuthorizerKind::Token,
            AuthorizerType::Request => LambdaAuthorizerKind::Request,
            AuthorizerType::Jwt | AuthorizerType::CognitoUserPools => {
                if let Some(j) = jwt_authorizer(spec, name, scheme, a, &ptr, errors) {
                    out.insert(name.clone(), RouteAuth::Jwt(Arc::new(j), Vec::new()));
                }
                continue;
            }
        };
        let function = match a.authorizer_uri.as_deref().and_then(function_from_uri) {
            Some(f) => {
                match &opts.functions {
                    Some(map) => match map.get(&f) {
                        Some(id) => id.clone(),
                        None => {
                            errors.push(LoadError::new(
                            file,
                            pointer_join(&ptr, "authorizerUri"),
                            format!("names Lambda function `{f}`, which the template does not define"),
                        ));
                            continue;
                        }
                    },
                    None => f,
                }
            }
            None => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(&ptr, "authorizerUri"),
                    "a Lambda authorizer needs an authorizerUri naming its function",
                ));
                continue;
            }
        };
        let mut identity_sources = Vec::new();
        let mut declared = a
            .identity_source
            .as_ref()
            .map(|s| s.sources())
            .unwrap_or_default();
        // Without an identitySource, a TOKEN authorizer reads the header its apiKey scheme names,
        // as API Gateway's importer does.
        if declared.is_empty() && kind == LambdaAuthorizerKind::Token {
            if let crate::spec::SecuritySchemeKind::ApiKey {
                location,
                name: header,
            } = &scheme.kind
            {
                if location == "header" && !header.is_empty() {
                    declared.push(format!("method.request.header.{header}"));
                }
            }
        }
        for src in declared {
            match IdentitySource::parse(&src) {
                Some(s) => identity_sources.push(s),
                None => errors.push(LoadError::new(
                    file,
                    pointer_join(&ptr, "identitySource"),
                    format!("`{src}` is not an identity source: expected method.request.header.NAME, method.request.querystring.NAME, stageVariables.NAME or context.NAME"),
                )),
            }
        }
        if kind == LambdaAuthorizerKind::Token
            && !matches!(identity_sources.as_slice(), [IdentitySource::Header(_)])
        {
            errors.push(LoadError::new(
                file,
                pointer_join(&ptr, "identitySource"),
                "a TOKEN authorizer takes exactly one header: method.request.header.NAME",
            ));
            continue;
        }
        // identityValidationExpression is matched against the whole token. [?] AWS documents
        // it as "a regular expression"; Java's matches() semantics are the plausible reading.
        let validation = match &a.identity_validation_expression {
            Some(expr) => match Regex::new(&format!("^(?:{expr})$")) {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(LoadError::new(
                        file,
                        pointer_join(&ptr, "identityValidationExpression"),
                        format!("not a valid regular expression: {e}"),
                    ));
                    continue;
                }
            },
            None => None,
        };
        // REST caches for 300 s unless told otherwise; an HTTP API authorizer caches only when
        // it says so (caching there needs identity sources). [?] AWS's HTTP API default is not
        // recorded.
        let default_ttl = if spec.kind == ApiKind::Rest { 300 } else { 0 };
        let ttl = a.authorizer_result_ttl_in_seconds.unwrap_or(default_ttl);
        if ttl > 3600 {
            errors.push(LoadError::new(
                file,
                pointer_join(&ptr, "authorizerResultTtlInSeconds"),
                format!("{ttl} is out of range: expected 0 to 3600"),
            ));
            continue;
        }
        out.insert(
            name.clone(),
            RouteAuth::Lambda(Arc::new(LambdaAuthorizer {
                name: name.clone(),
                function,
                kind,
                identity_sources,
                validation,
                ttl: Duration::from_secs(u64::from(ttl)),
                cache: Default::default(),
                payload_version: (spec.kind == ApiKind::Http).then(|| {
                    a.authorizer_payload_format_version
                        .clone()
                        .unwrap_or_else(|| "2.0".into())
                }),
                simple_responses: a.enable_simple_responses.unwrap_or(false),
            })),
        );
    }
    out
}

/// A `jwt` (HTTP API) or `cognito_user_pools` (REST) authorizer.
fn jwt_authorizer(
    spec: &ApiSpec,
    name: &str,
    scheme: &crate::spec::SecuritySchemeSpec,
    a: &crate::spec::extensions::AuthorizerExt,
    ptr: &str,
    errors: &mut LoadErrors,
) -> Option<crate::auth::JwtAuthorizer> {
    use crate::auth::{JwtAuthorizer, JwtKind};
    use crate::spec::extensions::AuthorizerType;
    let file = spec.file.as_path();
    let cognito = a.kind == AuthorizerType::CognitoUserPools;
    let issuer = if cognito {
        // arn:aws:cognito-idp:{region}:{account}:userpool/{poolId}
        let pool = a.provider_arns.first().and_then(|arn| {
            let region = arn.split(':').nth(3)?;
            let id = arn.rsplit('/').next()?;
            Some(format!("https://cognito-idp.{region}.amazonaws.com/{id}"))
        });
        match pool {
            Some(i) => i,
            None => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(ptr, "providerARNs"),
                    "a Cognito authorizer needs a user pool ARN in providerARNs",
                ));
                return None;
            }
        }
    } else {
        let from_oidc = match &scheme.kind {
            crate::spec::SecuritySchemeKind::OpenIdConnect { url } => url
                .strip_suffix("/.well-known/openid-configuration")
                .map(str::to_string),
            _ => None,
        };
        match a
            .jwt_configuration
            .as_ref()
            .and_then(|j| j.issuer.clone())
            .or(from_oidc)
        {
            Some(i) => i,
            None => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(ptr, "jwtConfiguration"),
                    "a JWT authorizer needs jwtConfiguration.issuer (or an openIdConnectUrl)",
                ));
                return None;
            }
        }
    };
    let source = a
        .identity_source
        .as_ref()
        .and_then(|s| s.sources().into_iter().next())
        .or_else(|| match &scheme.kind {
            crate::spec::SecuritySchemeKind::ApiKey { location, name } if location == "header" => {
                Some(format!("method.request.header.{name}"))
            }
            _ => None,
        })
        .unwrap_or_else(|| "$request.header.Authorization".into());
    let Some(identity) = IdentitySource::parse(&source) else {
        errors.push(LoadError::new(
            file,
            pointer_join(ptr, "identitySource"),
            format!("`{source}` is not an identity source"),
        ));
        return None;
    };
    Some(JwtAuthorizer {
        name: name.to_string(),
        issuer: issuer.trim_end_matches('/').to_string(),
        audience: a
            .jwt_configuration
            .as_ref()
            .map(|j| j.audience.clone())
            .unwrap_or_default(),
        identity,
        discovery: if cognito {
            crate::auth::Discovery::CognitoJwks
        } else {
            crate::auth::Discovery::Oidc
        },
        kind: if cognito {
            JwtKind::Cognito
        } else {
            JwtKind::HttpApi
        },
        leeway: 0,
        verified: Default::default(),
    })
}

/// The authorization an operation asks for: its `security` requirement (the first one; root
/// security is ignored, as API Gateway does) or `x-amazon-apigateway-auth`.
pub(super) fn route_auth(
    spec: &ApiSpec,
    op: &crate::spec::OperationSpec,
    authorizers: &HashMap<String, RouteAuth>,
    warnings: &mut Vec<LoadError>,
) -> (RouteAuth, bool) {
    use crate::spec::extensions::AuthType;
    let mut auth = RouteAuth::None;
    let mut api_key = false;
    if op.auth.as_ref().is_some_and(|a| a.kind == AuthType::AwsIam) {
        auth = RouteAuth::Iam;
    }
    for requirement in op.security.iter().flatten().take(1) {
        for scheme_name in requirement.keys() {
            let Some(scheme) = spec.security_schemes.get(scheme_name) else {
                // The import ignores a requirement it cannot resolve (aws-behaviour §12).
                warnings.push(LoadError::new(
                    &spec.file,
                    pointer_join(&op.pointer, "security"),
                    format!("`{scheme_name}` is not a security scheme of this API: ignored, as API Gateway's import does, so this requirement protects nothing"),
                ));
                continue;
            };
            if let Some(a) = authorizers.get(scheme_name) {
                auth = match a {
                    RouteAuth::Jwt(j, _) => {
                        RouteAuth::Jwt(Arc::clone(j), requirement[scheme_name].clone())
                    }
                    other => other.clone(),
                };
            } else if scheme
                .authtype
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("awsSigv4"))
            {
                auth = RouteAuth::Iam;
            } else if scheme.authorizer.is_none()
                && matches!(scheme.kind, crate::spec::SecuritySchemeKind::ApiKey { .. })
            {
                api_key = true;
            }
        }
    }
    (auth, api_key)
}
