//! The export on DynamoDB Local + the S3 emulator.
//!   bench-export load TABLE N    create TABLE, fill it with N generated organisations,
//!                                then give every one its revision (the sequencer)
//!   bench-export run TABLE BUCKET  export once; prints wall time, peak RSS, bytes, parts, RCUs, sha256
//!   bench-export route TABLE BUCKET  the HTTP export route as an admin calls it, at the
//!                                published revision and right after a change: status and time

use directory_usecases::prelude::*;

use directory_aws::{CapacityMeter, DynamoStore, S3Target};
use directory_bench::peak_rss_mib;
use directory_usecases::export;
use directory_usecases::writes::DirectoryWrites;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let config = directory_aws::sdk_config().await;
    match args.get(1).map(String::as_str) {
        Some("load") => {
            let (table, n): (&str, usize) = (&args[2], args[3].parse().expect("N"));
            let store = DynamoStore::new(directory_aws::dynamodb_client(&config), table);
            store.create_table().await.unwrap();
            let (reference, _) = directory_tests::contract::demo();
            store.put_reference(&reference).await.unwrap();
            let t = Instant::now();
            let orgs = directory_tests::generated_organisations(n);
            let store = std::sync::Arc::new(store);
            let mut tasks = tokio::task::JoinSet::new();
            for org in orgs {
                while tasks.len() >= 16 {
                    tasks.join_next().await.unwrap().unwrap();
                }
                let store = store.clone();
                tasks.spawn(async move { store.replace_organisation(&org).await.unwrap() });
            }
            while tasks.join_next().await.is_some() {}
            eprintln!(
                "loaded {n} organisations into {table} in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            let t = Instant::now();
            let done = directory_usecases::feed::sequence(&*store).await.unwrap();
            eprintln!(
                "sequenced: {} revisions in {:.1} s (head {}), peak RSS {:.1} MiB",
                done.revisions,
                t.elapsed().as_secs_f64(),
                done.head,
                peak_rss_mib()
            );
        }
        Some("run") => {
            let (table, bucket) = (&args[2], &args[3]);
            let meter = CapacityMeter::default();
            let store = DynamoStore::new(directory_aws::capacity::metered_client(&config, &meter), table);
            let s3 = directory_aws::s3_client(&config);
            let _ = s3.create_bucket().bucket(bucket).send().await;
            let target = S3Target::new(
                s3,
                bucket.clone(),
                std::sync::Arc::new(directory_embedded::LocalSigner::ephemeral()),
            );
            let t = Instant::now();
            let report = export::run(&store, &target, &mut |_| {}).await.unwrap();
            println!(
                "rust export: {} organisations, {:.2} s, peak RSS {:.1} MiB, {} bytes, {} parts, {:.1} RCU, sha256 {}",
                report.organisations,
                t.elapsed().as_secs_f64(),
                peak_rss_mib(),
                report.bytes,
                report.parts,
                meter.read_units(),
                report.sha256
            );
        }
        Some("route") => {
            let (table, bucket) = (&args[2], &args[3]);
            let store = DynamoStore::new(directory_aws::dynamodb_client(&config), table);
            let target = S3Target::new(
                directory_aws::s3_client(&config),
                bucket.clone(),
                std::sync::Arc::new(directory_embedded::LocalSigner::ephemeral()),
            )
            // What a Lambda response may carry.
            .with_response_limit(6 * 1024 * 1024);
            let services = directory_http::Services { store, exports: target };
            let admin = directory_tests::event_fixtures("get-open-data-export")
                .into_iter()
                .find(|(n, ..)| n == "200-admin")
                .unwrap()
                .2;
            let call = || async {
                let t = Instant::now();
                let resp = directory_http::dispatch(
                    &directory_domain::routes::OPEN_DATA_EXPORT,
                    &services,
                    lambda_http::request::from_str(&admin).unwrap(),
                )
                .await;
                (resp.status().as_u16(), t.elapsed().as_secs_f64() * 1000.0)
            };
            let (status, ms) = call().await;
            println!("export route at the published revision: {status} in {ms:.0} ms");
            let org = directory_tests::generated_organisations(1).remove(0);
            let id = directory_domain::ids::OrganisationId::stored(org.id());
            let claim = directory_domain::ids::ClaimId::stored(
                org.org_domain_role_claims[0].organisation_authority_claim_id.clone(),
            );
            let before = org.org_domain_role_claims[0].status;
            for status in [directory_tests::flipped(before), before] {
                services
                    .store
                    .update_authority_claim(&id, &claim, directory_tests::set_status(status))
                    .await
                    .unwrap();
                let (code, ms) = call().await;
                println!("export route right after a change: {code} in {ms:.0} ms");
            }
        }
        _ => eprintln!("usage: bench-export load TABLE N | run TABLE BUCKET | route TABLE BUCKET"),
    }
}
