//! The change feed's use cases: the sequencer, which gives every change of an
//! organisation's public record a revision (docs/design.md, "Revisions and the
//! changes feed"), and the reading of a page. Written once over [`ChangeFeed`].
//!
//! Why a sequencer instead of a counter in each write: a counter item in every write
//! transaction makes every write in the directory contend for one item (conflicts
//! grow with concurrency; bench-feed measures it), and a revision taken outside the
//! writing transaction can become visible after a later one (a gap a reader would skip
//! for ever). Writes only put an outbox item beside their change; one logical writer
//! (this module, under a condition on the head) turns outbox items into revisions, so
//! revisions are contiguous and final when visible.

mod page;
mod sequencer;

pub use page::{FeedError, PageSigner, SignedPage, page, page_at};
pub use sequencer::{SequencerStore, Sequencing, sequence};
