//! The REQUEST authorizer (see the library docs).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let simple = std::env::var("SIMPLE_RESPONSES").as_deref() == Ok("true");
    run(service_fn(move |e: LambdaEvent<Value>| async move {
        test_authorizers::request(&e.payload, simple).map_err(Error::from)
    }))
    .await
}
