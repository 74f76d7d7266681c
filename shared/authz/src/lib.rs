//! The access decision of the directory, one function for both deployments: the
//! Lambda authorizer in AWS and the local server's stand-in run `Authorizer::decide`.
//! A token is verified against the issuer's published keys (JWKS, cached), and under
//! mutual TLS its `cnf.x5t#S256` must be the thumbprint of the client certificate the
//! TLS layer verified (RFC 8705), so a stolen token is useless without the key.

pub mod decision;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod keys;
pub mod lambda;
#[cfg(feature = "push")]
pub mod push;
pub mod thumbprint;

pub use decision::{Authorizer, Deny, Identity, Policy};
pub use keys::{KeySource, StaticKeys};
