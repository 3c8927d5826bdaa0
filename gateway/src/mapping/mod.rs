//! Mapping templates: a Velocity 1.7 engine ([`vtl`]) and the API Gateway variables templates
//! see over it (`$input`, `$util`, `$context`, `$stageVariables`, overrides).

mod template;
pub(crate) mod vtl;

pub(crate) use template::body_value;
pub use template::{render, MappingInput};
