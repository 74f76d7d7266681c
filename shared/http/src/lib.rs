//! The participant directory's HTTP edge: each route's typed input and the one
//! order of refusals (`input`), one handler per endpoint (`handlers`), the
//! dispatcher, and the one place errors become responses (`error`). Domain refusals
//! and store failures turn into HTTP here and nowhere else.

pub mod accept;
pub mod caller;
pub mod error;
pub mod fapi;
pub mod handlers;
pub mod input;
pub mod logging;

pub use handlers::{
    AsBuilt, Deps, Federated, Pinning, Services, Signed, StoreOnly, deliver_event, dispatch, dispatch_event, guard,
    sequence_event,
};
