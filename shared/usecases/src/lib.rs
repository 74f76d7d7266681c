//! The participant directory's use cases: what the directory does, written once over
//! capability ports (`ports`), whatever the store and the object target. The write
//! path (`writes`), the import and the export live here; the HTTP edge calls them.

pub mod explorer;
pub mod export;
pub mod import;
pub mod ports;
pub mod writes;
