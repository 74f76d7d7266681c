//! The export on DynamoDB Local + the S3 emulator.
//!   bench-export load TABLE N    create TABLE and fill it with N generated organisations
//!   bench-export run TABLE BUCKET  export once; prints wall time, peak RSS, bytes, parts, RCUs, sha256

use directory_usecases::prelude::*;

use directory_aws::{CapacityMeter, DynamoStore, S3Target};
use directory_bench::peak_rss_mib;
use directory_usecases::export;
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
        _ => eprintln!("usage: bench-export load TABLE N | run TABLE BUCKET"),
    }
}
