//! The TOKEN authorizer (see the library docs).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|e: LambdaEvent<Value>| async move {
        test_authorizers::token(&e.payload).map_err(Error::from)
    }))
    .await
}
