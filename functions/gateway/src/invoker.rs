//! Integration Lambdas, deployed: the pipeline's [`Invoker`] over the Lambda Invoke API
//! (`aws-sdk-lambda`). Logical ids from the API definition map to deployed function names or
//! ARNs (`TOLLGATE_FUNCTIONS`); the endpoint can point at tollgate's own Invoke API for local runs.

use std::collections::HashMap;

use aws_sdk_lambda::config::{BehaviorVersion, Region};
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::invoke::InvokeError as SdkInvokeError;
use aws_sdk_lambda::primitives::Blob;
use bytes::Bytes;
use gateway::{InvokeError, InvokeFuture, InvokeOutcome, InvokeRequest, Invoker};

pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
    /// Logical id (as the API definition names it) to the deployed name or ARN.
    names: HashMap<String, String>,
}

impl LambdaInvoker {
    pub fn new(region: &str, endpoint: Option<&str>, names: HashMap<String, String>) -> Self {
        let mut config = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(gateway::environment_credentials())
            .http_client(gateway::aws_http_client());
        if let Some(e) = endpoint {
            config = config.endpoint_url(e);
        }
        LambdaInvoker {
            client: aws_sdk_lambda::Client::from_conf(config.build()),
            names,
        }
    }

    fn deployed_name<'a>(&'a self, logical: &'a str) -> &'a str {
        self.names.get(logical).map_or(logical, String::as_str)
    }
}

impl Invoker for LambdaInvoker {
    fn invoke(&self, request: InvokeRequest) -> InvokeFuture<'_> {
        Box::pin(async move {
            let name = self.deployed_name(&request.function).to_string();
            let out = self
                .client
                .invoke()
                .function_name(&name)
                .payload(Blob::new(request.payload.to_vec()))
                .send()
                .await;
            match out {
                Ok(o) => {
                    let payload =
                        Bytes::from(o.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default());
                    // Lambda answers 200 with X-Amz-Function-Error for unhandled errors.
                    Ok(if o.function_error().is_some() {
                        InvokeOutcome::FunctionError(payload)
                    } else {
                        InvokeOutcome::Success(payload)
                    })
                }
                Err(SdkError::ServiceError(e)) => match e.err() {
                    SdkInvokeError::TooManyRequestsException(_) => {
                        Err(InvokeError::Throttled(request.function))
                    }
                    SdkInvokeError::ResourceNotFoundException(_) => {
                        Err(InvokeError::NotFound(request.function))
                    }
                    other => Err(InvokeError::Failed {
                        function: name,
                        message: aws_sdk_lambda::error::DisplayErrorContext(other).to_string(),
                    }),
                },
                Err(e) => Err(InvokeError::Failed {
                    function: name,
                    message: aws_sdk_lambda::error::DisplayErrorContext(e).to_string(),
                }),
            }
        })
    }
}
