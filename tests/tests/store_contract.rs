//! The store contract suite, run against the embedded store and DynamoDB Local.

use directory_tests::both_stores;
use directory_tests::contract::*;

both_stores!(
    snapshots_round_trip,
    reimport_is_idempotent,
    replace_removes_stale_items,
    api_resource_lookup,
    authority_claims_listing,
    public_snapshot_has_no_private_items,
    organisation_ids_in_order,
    ids_with_separators,
    large_organisation,
    invalid_import_writes_nothing,
    every_import_problem_in_one_run,
    real_file_quirks_are_accepted,
    oversized_items_are_refused_before_writing,
    claim_update_outcomes,
    concurrent_updates_keep_the_exclusive_rule,
    documents_are_written_on_the_version_read,
    write_primitives_land_only_on_the_version_read,
);
