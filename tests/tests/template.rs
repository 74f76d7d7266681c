//! template.yaml against the code: routes, methods and scopes equal the route table;
//! each function's environment is what its binary reads; each function's IAM actions
//! are exactly the ones it is seen to need when its fixtures run against DynamoDB
//! Local and the S3 emulator (plus its init calls).

use directory_aws::{DynamoStore, S3Target};
use directory_core::export::ObjectTarget;
use directory_core::handlers::{Services, dispatch, dispatch_event};
use directory_core::import;
use directory_core::routes::{self, ROUTES, Trigger, http_routes};
use directory_tests::calls::IamLog;
use directory_tests::{demo_bytes, event_fixtures, repo_root};
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, BTreeSet};

fn template() -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap()
}

/// A CloudFormation value without its `!Tag`.
fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

fn strings(v: &Value) -> Vec<String> {
    match untag(v) {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Serverless functions by package name (from `CodeUri: functions/<name>`).
fn functions(t: &Value) -> BTreeMap<String, Value> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(_, r)| {
            let code = r["Properties"]["CodeUri"].as_str().unwrap();
            (
                code.strip_prefix("functions/")
                    .expect("CodeUri under functions/")
                    .to_owned(),
                r.clone(),
            )
        })
        .collect()
}

#[test]
fn routes_methods_and_scopes_equal_the_route_table() {
    let t = template();
    let fns = functions(&t);
    let mut seen = Vec::new();
    for (name, f) in &fns {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
        let manifest = std::fs::read_to_string(repo_root().join("functions").join(name).join("Cargo.toml")).unwrap();
        assert!(manifest.contains(&format!("name = \"{name}\"")), "{name}: package name");
        let log_group = untag(&f["Properties"]["LoggingConfig"]["LogGroup"])
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            t["Resources"][log_group.as_str()]["Type"],
            "AWS::Logs::LogGroup",
            "{name}"
        );
        assert!(
            !t["Resources"][log_group.as_str()]["Properties"]["RetentionInDays"].is_null(),
            "{name}"
        );
        assert_eq!(f["Properties"]["LoggingConfig"]["LogFormat"], "JSON", "{name}");
        for (_, event) in f["Properties"]["Events"].as_mapping().unwrap() {
            match event["Type"].as_str().unwrap() {
                "HttpApi" => {
                    let p = &event["Properties"];
                    let mut scopes = strings(&p["Auth"]["AuthorizationScopes"]);
                    scopes.sort();
                    seen.push((
                        name.clone(),
                        p["Method"].as_str().unwrap().to_owned(),
                        p["Path"].as_str().unwrap().to_owned(),
                        scopes,
                    ));
                    assert_eq!(
                        p["Auth"]["Authorizer"], "DirectoryJwt",
                        "{name}: behind the JWT authorizer"
                    );
                }
                "ScheduleV2" => assert_eq!(
                    routes::by_name(name).map(|r| r.trigger),
                    Some(Trigger::Schedule),
                    "{name}: scheduled in the route table"
                ),
                other => panic!("{name}: unexpected event type {other}"),
            }
        }
    }
    let mut expected: Vec<_> = http_routes()
        .map(|(r, h)| {
            let mut scopes: Vec<String> = r.access.scopes().iter().map(|s| s.to_string()).collect();
            scopes.sort();
            (r.name.to_owned(), h.method.to_owned(), h.path.to_owned(), scopes)
        })
        .collect();
    expected.sort();
    seen.sort();
    assert_eq!(seen, expected);
    let names: Vec<&str> = fns.keys().map(String::as_str).collect();
    let mut rows: Vec<&str> = ROUTES.iter().map(|r| r.name).collect();
    rows.sort_unstable();
    assert_eq!(names, rows, "one function per row of the route table");
    assert_eq!(t["Globals"]["Function"]["Runtime"], "provided.al2023");
    assert_eq!(strings(&t["Globals"]["Function"]["Architectures"]), ["arm64"]);
}

/// The variables a function reads: what its route row needs (`directory_aws::env_for`).
fn env_read_by(name: &str) -> BTreeSet<String> {
    let route = routes::by_name(name).unwrap_or_else(|| panic!("{name}: no route row"));
    directory_aws::env_for(route.needs)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[test]
fn each_function_gets_exactly_the_environment_its_binary_reads() {
    let t = template();
    let global: BTreeSet<String> = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    for (name, f) in functions(&t) {
        let mut env = global.clone();
        if let Some(vars) = f["Properties"]["Environment"]["Variables"].as_mapping() {
            env.extend(vars.keys().map(|k| k.as_str().unwrap().to_owned()));
        }
        assert_eq!(env, env_read_by(&name), "{name}");
    }
}

/// DynamoDB actions that change items: each must be limited by `dynamodb:LeadingKeys`.
const ITEM_WRITES: [&str; 4] = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
];

/// A function's granted actions, whether it may use GSI1, and the partition-key
/// patterns its item writes are limited to.
fn policy(name: &str, f: &Value) -> (BTreeSet<String>, bool, Vec<String>) {
    let mut actions = BTreeSet::new();
    let mut index = false;
    let mut leading = Vec::new();
    for doc in f["Properties"]["Policies"].as_sequence().unwrap() {
        for st in doc["Statement"].as_sequence().unwrap() {
            assert_eq!(st["Effect"], "Allow");
            let these = strings(&st["Action"]);
            index |= strings(&st["Resource"]).iter().any(|r| r.contains("/index/GSI1"));
            if these.iter().any(|a| ITEM_WRITES.contains(&a.as_str())) {
                let cond = &st["Condition"];
                let keys = [&cond["ForAllValues:StringLike"], &cond["ForAllValues:StringEquals"]]
                    .iter()
                    .flat_map(|c| strings(&c["dynamodb:LeadingKeys"]))
                    .collect::<Vec<_>>();
                assert!(
                    !keys.is_empty(),
                    "{name}: item writes without a dynamodb:LeadingKeys condition"
                );
                assert!(
                    these.iter().all(|a| ITEM_WRITES.contains(&a.as_str())),
                    "{name}: a LeadingKeys statement holds only item writes"
                );
                leading.extend(keys);
            }
            actions.extend(these);
        }
    }
    (actions, index, leading)
}

/// IAM `StringLike` on a partition key (`*` matches any run of characters).
fn like(pattern: &str, key: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == key,
        Some((head, tail)) => key.starts_with(head) && key[head.len()..].ends_with(tail),
    }
}

/// Runs what a function does (init calls, its fixtures or the schedule) and returns
/// the IAM actions its requests needed and the partition keys it wrote.
async fn observe(name: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let config = directory_aws::sdk_config().await;
    let log = IamLog::default();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(log.clone())
            .build(),
    );
    let table = format!("directory-iam-{}", uuid::Uuid::new_v4());
    let loader = DynamoStore::new(directory_aws::dynamodb_client(&config), &table);
    loader.create_table().await.unwrap();
    import::import(&loader, &demo_bytes(), |_, _| {}).await.unwrap();
    let (plain_s3, bucket) = directory_tests::s3_bucket().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .interceptor(log.clone())
            .build(),
    );
    drop(plain_s3);
    let store = DynamoStore::new(dynamodb, &table);
    let target = S3Target::new(s3, &bucket);
    log.take();
    let route = routes::by_name(name).unwrap();
    // Init calls, as `directory_aws::services_for` makes them for the row's needs.
    if route.needs.table {
        store.warm_up().await.unwrap();
    }
    if route.needs.exports {
        let _ = target.published_sha256().await;
    }
    let services = Services { store, exports: target };
    if route.trigger == Trigger::Schedule {
        for entry in std::fs::read_dir(repo_root().join("tests/events").join(name)).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let event: serde_json::Value = serde_json::from_str(&text).unwrap();
            // Twice: the second run finds the same bytes and aborts its upload.
            dispatch_event(&route, &services, &event).await.unwrap();
            dispatch_event(&route, &services, &event).await.unwrap();
        }
        return (log.take(), log.take_written_keys());
    }
    let route = &route;
    for (_, _, event) in event_fixtures(name) {
        dispatch(route, &services, lambda_http::request::from_str(&event).unwrap()).await;
    }
    if name == "get-open-data-export" {
        // The too-large path signs a GetObject URL (no request is sent: the action is
        // needed by whoever follows the URL with the function's signature).
        let small = Services {
            store: services.store.clone(),
            exports: services.exports.clone().with_response_limit(100),
        };
        let admin = event_fixtures(name)
            .into_iter()
            .find(|(n, ..)| n == "200-admin")
            .unwrap()
            .2;
        let resp = dispatch(route, &small, lambda_http::request::from_str(&admin).unwrap()).await;
        assert_eq!(resp.status(), 303);
        log.record("s3:GetObject");
    }
    (log.take(), log.take_written_keys())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_may_do_exactly_what_it_does() {
    directory_tests::dynamodb_endpoint();
    directory_tests::s3_endpoint();
    let t = template();
    for (name, f) in functions(&t) {
        let (granted, index_granted, leading) = policy(&name, &f);
        let (observed, written) = observe(&name).await;
        let needs_index = observed.contains("dynamodb:Query@index");
        let needed: BTreeSet<String> = observed.iter().map(|a| a.replace("@index", "")).collect();
        assert_eq!(granted, needed, "{name}: IAM actions granted vs needed");
        assert_eq!(index_granted, needs_index, "{name}: access to the GSI1 index");
        for pk in &written {
            assert!(
                leading.iter().any(|p| like(p, pk)),
                "{name}: wrote partition {pk} outside its LeadingKeys {leading:?}"
            );
        }
        // And the conditions are tight: no pattern lets a function touch reference data.
        assert!(!leading.iter().any(|p| like(p, "REF")), "{name}: may write REF items");
    }
    let put = &functions(&t)["put-authority-claim"];
    assert_eq!(policy("put", put).2, ["ORG#*", "AUDIT#*"]);
}

#[test]
fn table_api_logs_and_alarm_are_hardened() {
    let t = template();
    let table = &t["Resources"]["DirectoryTable"]["Properties"];
    assert_eq!(table["DeletionProtectionEnabled"], true);
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], "ExpiresAt");
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(directory_aws::dynamodb::EXPIRES_AT, "ExpiresAt");
    assert_eq!(t["Parameters"]["AuditRetentionDays"]["Default"], 400);
    // Access logs: JSON with who and what, never the token or its header.
    let api = &t["Resources"]["DirectoryApi"]["Properties"];
    let format = api["AccessLogSettings"]["Format"].as_str().unwrap();
    let fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(format).expect("JSON format");
    for key in [
        "requestId",
        "routeKey",
        "status",
        "responseLatency",
        "sub",
        "organisation_id",
    ] {
        assert!(fields.contains_key(key), "access log lacks {key}");
    }
    assert_eq!(fields["sub"], "$context.authorizer.claims.sub");
    assert_eq!(fields["organisation_id"], "$context.authorizer.claims.organisation_id");
    let lower = format.to_ascii_lowercase();
    assert!(
        !lower.contains("authorization") && !lower.contains("header"),
        "no token in access logs"
    );
    let group = untag(&api["AccessLogSettings"]["DestinationArn"])
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    assert!(!t["Resources"][group.as_str()]["Properties"]["RetentionInDays"].is_null());
    // The scheduled export's failures raise an alarm.
    let alarm = &t["Resources"]["ScheduledExportErrorsAlarm"]["Properties"];
    assert_eq!(alarm["MetricName"], "Errors");
    assert_eq!(
        untag(&alarm["Dimensions"][0]["Value"]).as_str(),
        Some("ScheduledOpenDataExportFunction")
    );
}
