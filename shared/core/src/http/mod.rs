//! HTTP building blocks shared by every handler.

pub mod accept;
pub mod fapi;
