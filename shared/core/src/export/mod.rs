//! The export use case (`directory-usecases`) and the local-directory target.

pub mod local;

pub use directory_usecases::export::*;
