//! Authentication and authorization building blocks the authorizer phase uses: JWT verification
//! against issuers' key sets, SigV4 signatures, IAM policy evaluation, the identity sources an
//! authorizer reads, and the Lambda authorizer result cache.

mod cache;
mod identity_source;
mod jwks;
mod jwt;
mod policy;
mod sigv4;

pub(crate) use cache::{Cached, ResultCache};
pub use identity_source::IdentitySource;
pub use jwks::{Discovery, JwksRegistry};
pub use jwt::{verify as verify_jwt, JwtAuthorizer, JwtError, JwtKind, Verified};
pub(crate) use policy::{Caller, Decision, Policy};
pub(crate) use sigv4::verify as verify_sigv4;
pub use sigv4::IamCredential;
