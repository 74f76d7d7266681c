//! The local side of the directory: an API Gateway stand-in server, local JWTs and
//! CLI helpers. `main.rs` is the command line over these.

pub mod apigw;
pub mod error;
pub mod fetch;
pub mod jwt;
pub mod progress;
pub mod receive;
pub mod server;
pub mod sync;
pub mod tls;
