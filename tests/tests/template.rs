//! template.yaml against the code: routes, methods and scopes equal the route table;
//! each function's environment is what its binary reads; each function's IAM actions
//! are exactly the ones it is seen to need when its fixtures run against DynamoDB
//! Local and the S3 emulator (plus its init calls).

use directory_aws::{DynamoStore, S3Target};
use directory_domain::routes::{self, AUTHORIZER_FUNCTION, StreamItems, Trigger, function_names, http_routes};
use directory_http::handlers::{Services, dispatch, dispatch_event};
use directory_tests::calls::IamLog;
use directory_tests::{demo_bytes, event_fixtures, repo_root};
use directory_usecases::export::ObjectTarget;
use directory_usecases::import;
use directory_usecases::ports::Subscriptions as _;
use directory_usecases::prelude::*;
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

/// The resource name of `!GetAtt <Name>.Arn` / `!Ref <Name>`.
fn target(v: &Value) -> String {
    let text = untag(v).as_str().unwrap_or_default();
    text.split('.').next().unwrap_or_default().to_owned()
}

/// The three arguments of an `!If [condition, then, else]`.
fn if_args(v: &Value) -> (String, Value, Value) {
    match v {
        Value::Tagged(t) if t.tag == "If" => {
            let args = t.value.as_sequence().unwrap();
            (args[0].as_str().unwrap().to_owned(), args[1].clone(), args[2].clone())
        }
        other => panic!("not an !If: {other:?}"),
    }
}

/// The package name of a function resource.
fn package_of(t: &Value, resource: &str) -> String {
    let code = t["Resources"][resource]["Properties"]["CodeUri"].as_str().unwrap();
    code.strip_prefix("functions/").unwrap().to_owned()
}

#[test]
fn routes_methods_and_scopes_equal_the_route_table() {
    let t = template();
    let fns = functions(&t);
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
        // Its events are exactly its row's non-HTTP triggers (routes are
        // AWS::ApiGatewayV2::Route resources, checked below).
        let mut events: Vec<Trigger> = Vec::new();
        for (_, event) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            match event["Type"].as_str() {
                Some("ScheduleV2") => events.push(Trigger::Schedule),
                Some("DynamoDB") => {
                    let p = &event["Properties"];
                    assert_eq!(target(&p["Stream"]), "DirectoryTable", "{name}: the table's stream");
                    assert_eq!(p["StartingPosition"], "LATEST", "{name}");
                    let filters = p["FilterCriteria"]["Filters"].as_sequence().unwrap();
                    assert_eq!(filters.len(), 1, "{name}: one filter");
                    let pattern: serde_json::Value =
                        serde_json::from_str(filters[0]["Pattern"].as_str().unwrap()).unwrap();
                    let keys = &pattern["dynamodb"]["Keys"];
                    let items = [
                        StreamItems::Outbox,
                        StreamItems::ExportRequests,
                        StreamItems::FeedHead,
                        StreamItems::Subscriptions,
                    ]
                    .into_iter()
                    .find(|items| {
                        let (pk, sk) = items.keys();
                        keys["PK"]["S"] == serde_json::json!([pk])
                            && sk.is_none_or(|sk| keys["SK"]["S"] == serde_json::json!([sk]))
                    })
                    .unwrap_or_else(|| panic!("{name}: a filter on no known items: {pattern}"));
                    let inserts = pattern["eventName"].as_array().unwrap();
                    assert!(inserts.contains(&serde_json::json!("INSERT")), "{name}: inserts");
                    events.push(Trigger::Stream(items));
                }
                other => panic!("{name}: an event of type {other:?}"),
            }
        }
        let row: Vec<Trigger> = routes::by_name(name)
            .map(|r| {
                r.triggers
                    .iter()
                    .copied()
                    .filter(|t| !matches!(t, Trigger::Http(_)))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(events, row, "{name}: the template's events are the row's triggers");
    }
    // Every route resource: its key, the function its integration invokes, its
    // authorizer in both modes and its scopes (JWT mode; the Lambda authorizer checks
    // the row's scopes itself).
    let resources = t["Resources"].as_mapping().unwrap();
    let mut seen = Vec::new();
    let mut public = Vec::new();
    for (id, r) in resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::ApiGatewayV2::Route")
    {
        let id = id.as_str().unwrap();
        let p = &r["Properties"];
        let key = p["RouteKey"].as_str().unwrap().to_owned();
        let integration_id = untag(&p["Target"])
            .as_str()
            .unwrap()
            .trim_start_matches("integrations/${");
        let integration = &t["Resources"][integration_id.trim_end_matches('}')]["Properties"];
        assert_eq!(integration["IntegrationType"], "AWS_PROXY", "{id}");
        assert_eq!(integration["PayloadFormatVersion"], "2.0", "{id}");
        let function = target(&integration["IntegrationUri"]);
        // API Gateway may invoke the function (and nothing else is granted).
        let permitted = resources.values().any(|r| {
            r["Type"] == "AWS::Lambda::Permission"
                && target(&r["Properties"]["FunctionName"]) == function
                && r["Properties"]["Principal"] == "apigateway.amazonaws.com"
        });
        assert!(permitted, "{id}: invoke permission for {function}");
        let (method, path) = key.split_once(' ').unwrap();
        // A public row's route has no authorizer in either mode, and no scopes.
        if p["AuthorizationType"] == "NONE" {
            assert!(
                p["AuthorizerId"].is_null() && p["AuthorizationScopes"].is_null(),
                "{id}"
            );
            seen.push((
                package_of(&t, &function),
                method.to_owned(),
                path.to_owned(),
                Vec::new(),
            ));
            public.push(key.clone());
            continue;
        }
        let (cond, custom, jwt) = if_args(&p["AuthorizationType"]);
        assert_eq!(
            (cond.as_str(), custom.as_str(), jwt.as_str()),
            ("UseLambdaAuthorizer", Some("CUSTOM"), Some("JWT")),
            "{id}"
        );
        let (cond, lambda, jwt) = if_args(&p["AuthorizerId"]);
        assert_eq!(cond, "UseLambdaAuthorizer", "{id}");
        assert_eq!(
            (target(&lambda), target(&jwt)),
            ("DirectoryLambdaAuthorizer".into(), "DirectoryJwtAuthorizer".into()),
            "{id}"
        );
        let (cond, none, scopes) = if_args(&p["AuthorizationScopes"]);
        assert_eq!(cond, "UseLambdaAuthorizer", "{id}");
        assert_eq!(
            untag(&none).as_str(),
            Some("AWS::NoValue"),
            "{id}: no route scopes on a Lambda authorizer"
        );
        let mut scopes = strings(&scopes);
        scopes.sort();
        seen.push((package_of(&t, &function), method.to_owned(), path.to_owned(), scopes));
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
    // Exactly the public rows have public routes, each with its own throttling.
    let mut public_rows: Vec<String> = http_routes()
        .filter(|(r, _)| r.access == directory_domain::auth::Access::Public)
        .map(|(_, h)| format!("{} {}", h.method, h.path))
        .collect();
    public_rows.sort();
    public.sort();
    assert_eq!(public, public_rows, "public routes");
    let settings = &t["Resources"]["DirectoryStage"]["Properties"]["RouteSettings"];
    for key in &public {
        assert!(
            !settings[key.as_str()]["ThrottlingRateLimit"].is_null(),
            "{key}: throttled on its own"
        );
    }
    let names: Vec<&str> = fns.keys().map(String::as_str).collect();
    let mut rows: Vec<&str> = function_names().collect();
    rows.sort_unstable();
    assert_eq!(
        names, rows,
        "one function per row of the route table, and the authorizer"
    );
    assert_eq!(t["Globals"]["Function"]["Runtime"], "provided.al2023");
    assert_eq!(strings(&t["Globals"]["Function"]["Architectures"]), ["arm64"]);
}

#[test]
fn mutual_tls_and_the_authorizer_are_wired() {
    let t = template();
    let r = &t["Resources"];
    // The default endpoint is off exactly when the mutual-TLS domain is on.
    let (cond, on, off) = if_args(&r["DirectoryApi"]["Properties"]["DisableExecuteApiEndpoint"]);
    assert_eq!(
        (cond.as_str(), on.as_bool(), off.as_bool()),
        ("HasCustomDomain", Some(true), Some(false))
    );
    let domain = &r["ApiDomain"];
    assert_eq!(domain["Condition"], "HasCustomDomain");
    assert_eq!(
        target(&domain["Properties"]["MutualTlsAuthentication"]["TruststoreUri"]),
        "TruststoreUri"
    );
    assert_eq!(
        domain["Properties"]["DomainNameConfigurations"][0]["SecurityPolicy"],
        "TLS_1_2"
    );
    assert_eq!(r["ApiDomainMapping"]["Condition"], "HasCustomDomain");
    // A domain cannot be deployed without its truststore or with the JWT authorizer.
    let rule = &t["Rules"]["MutualTlsIsComplete"];
    let asserted: Vec<String> = rule["Assertions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| format!("{:?}", a["Assert"]))
        .collect();
    for needed in ["DomainCertificateArn", "TruststoreUri", "Authorizer"] {
        assert!(asserted.iter().any(|a| a.contains(needed)), "rule asserts {needed}");
    }
    // The Lambda authorizer: payload 2.0, simple responses, never cached (a cached
    // allow keyed on the token alone would pass it with another certificate).
    let lambda = &r["DirectoryLambdaAuthorizer"];
    assert_eq!(lambda["Condition"], "UseLambdaAuthorizer");
    let p = &lambda["Properties"];
    assert_eq!(p["AuthorizerType"], "REQUEST");
    assert_eq!(p["AuthorizerPayloadFormatVersion"], "2.0");
    assert_eq!(p["EnableSimpleResponses"], true);
    assert_eq!(p["AuthorizerResultTtlInSeconds"], 0);
    assert!(
        untag(&p["AuthorizerUri"])
            .as_str()
            .unwrap()
            .contains("${AuthorizerFunction.Arn}")
    );
    assert_eq!(r["DirectoryJwtAuthorizer"]["Condition"], "UseJwtAuthorizer");
    assert_eq!(r["DirectoryJwtAuthorizer"]["Properties"]["AuthorizerType"], "JWT");
    // The authorizer function exists only in its mode, binds tokens exactly when the
    // domain is on, and may call nothing in AWS.
    let f = &r["AuthorizerFunction"];
    assert_eq!(f["Condition"], "UseLambdaAuthorizer");
    assert_eq!(f["Properties"]["CodeUri"], format!("functions/{AUTHORIZER_FUNCTION}"));
    let (cond, yes, no) = if_args(&f["Properties"]["Environment"]["Variables"]["MTLS_REQUIRED"]);
    assert_eq!(
        (cond.as_str(), yes.as_str(), no.as_str()),
        ("HasCustomDomain", Some("true"), Some("false"))
    );
    assert!(
        f["Properties"]["Policies"].is_null(),
        "the authorizer needs no AWS permission"
    );
    assert_eq!(r["AuthorizerInvokePermission"]["Condition"], "UseLambdaAuthorizer");
    assert_eq!(t["Parameters"]["Authorizer"]["Default"], "jwt");
}

/// The variables a function reads: what its route row needs (`directory_aws::env_for`),
/// or the authorizer's own.
fn env_read_by(name: &str) -> BTreeSet<String> {
    if name == AUTHORIZER_FUNCTION {
        return directory_authz::lambda::ENV_VARS
            .iter()
            .map(|v| v.to_string())
            .collect();
    }
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
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&config)
            .interceptor(log.clone())
            .build(),
    );
    let key = directory_tests::kms_key(&kms).await;
    let signer = std::sync::Arc::new(directory_aws::KmsSigner::new(kms, key));
    let target = S3Target::new(s3, &bucket, signer);
    log.take();
    let route = routes::by_name(name).unwrap();
    // Init calls, as `directory_aws::services_for` makes them for the row's needs.
    if route.needs.table {
        store.warm_up().await.unwrap();
    }
    if route.needs.exports {
        let _ = target.published_sha256().await;
        // The emulator answers a GET of a missing object 404 to anyone; S3 does so
        // only for a caller that may list the bucket (else 403), and the export reads
        // objects that may not exist yet (the first signature and key set).
        log.record("s3:ListBucket");
    }
    let services = Services { store, exports: target };
    if route.handler == routes::Handler::DeliverEvents {
        // A push subscription whose receiver cannot be reached: the delivery takes its
        // lease, signs the verification SET and records the failed attempt.
        let caller = directory_domain::auth::Caller {
            sub: Some("iam-test".into()),
            organisation_id: Some("c5de3366-d2fb-5b13-9457-76244d8fd242".into()),
            scopes: vec!["directory:read".into()],
        };
        let transmitter = directory_usecases::events::Transmitter {
            issuer: "https://directory.example.com".into(),
            jwks_uri: "https://directory.example.com/jwks".into(),
            reach: directory_domain::events::endpoint::Reach::Public,
        };
        let request = serde_json::from_value(serde_json::json!({
            "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "https://receiver.invalid/events"}
        }))
        .unwrap();
        directory_usecases::events::create(
            &loader,
            &transmitter,
            &caller,
            &directory_domain::audit::Actor::system("iam-test", "subscriptions"),
            request,
            1,
        )
        .await
        .unwrap();
        let push = directory_authz::push::PushClient::new(directory_domain::events::endpoint::Reach::Public).unwrap();
        for entry in std::fs::read_dir(repo_root().join("tests/events").join(name)).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let event: serde_json::Value = serde_json::from_str(&text).unwrap();
            directory_http::deliver_event(&route, &services.store, services.exports.signer(), &push, &event)
                .await
                .unwrap();
        }
        return (log.take(), log.take_written_keys());
    }
    if route.http().is_none() {
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
    if matches!(
        route.handler,
        routes::Handler::Federation | routes::Handler::PinFederationKeys
    ) {
        // As their binaries build them: the federation key in KMS (its own key), the
        // fetcher (none leaves the process here: the fixtures register keys).
        let kms = aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::config::Builder::from(&config)
                .interceptor(log.clone())
                .build(),
        );
        let federation_key = directory_tests::kms_key(&kms).await;
        log.take();
        if route.needs.table {
            services.store.warm_up().await.unwrap();
        }
        let deps = directory_http::Federated {
            store: services.store.clone(),
            signer: directory_aws::KmsSigner::new(kms, federation_key),
            fetch: directory_tests::NoFetch,
        };
        let pinning = directory_http::Pinning {
            store: services.store.clone(),
            fetch: directory_tests::NoFetch,
        };
        for (_, _, event) in event_fixtures(name) {
            let req = lambda_http::request::from_str(&event).unwrap();
            match route.handler {
                routes::Handler::Federation => dispatch(route, &deps, req).await,
                _ => dispatch(route, &pinning, req).await,
            };
        }
        return (log.take(), log.take_written_keys());
    }
    for (_, _, event) in event_fixtures(name) {
        dispatch(route, &services, lambda_http::request::from_str(&event).unwrap()).await;
    }
    if name == "subscriptions" {
        // A poll that signs the verification SET, then a delete, of a subscription a
        // fixture made (fixtures name none: their ids cannot be known in advance).
        let made = services.store.subscriptions(None).await.unwrap();
        let poll = made.iter().find(|s| !s.subscription.delivery.push()).unwrap();
        let id = poll.subscription.stream_id.clone();
        let fixtures = event_fixtures(name);
        let with_id = |fixture: &str, scope: &str| {
            let text = &fixtures.iter().find(|(n, ..)| n == fixture).unwrap().2;
            let mut event: serde_json::Value = serde_json::from_str(text).unwrap();
            let path = event["rawPath"]
                .as_str()
                .unwrap()
                .replace("3f2a9c1e-7b4d-4e2a-9c1f-5d6e7f8a9b0c", &id);
            event["rawPath"] = path.clone().into();
            event["requestContext"]["http"]["path"] = path.into();
            event["pathParameters"]["SubscriptionId"] = id.clone().into();
            event["requestContext"]["authorizer"]["jwt"]["claims"]["scope"] = scope.into();
            event["requestContext"]["authorizer"]["jwt"]["scopes"] = serde_json::json!([scope]);
            lambda_http::request::from_str(&event.to_string()).unwrap()
        };
        let resp = dispatch(
            route,
            &services,
            with_id("403-poll-without-read-scope", "directory:read"),
        )
        .await;
        assert_eq!(resp.status(), 200, "{:?}", resp.body());
        let resp = dispatch(route, &services, with_id("403-delete-unknown", "directory:read")).await;
        assert_eq!(resp.status(), 204, "{:?}", resp.body());
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
        // A change and its reversal (through the unlogged client): the route
        // sequences them (keeping the replaced record for exports under way) and
        // exports bytes equal to the published file's, so it aborts its upload.
        let (_, demo) = directory_tests::contract::demo();
        let mut changed = demo[0].clone();
        changed.organisation_details.organisation_name = Some("Changed and changed back".into());
        loader.replace_organisation(&changed).await.unwrap();
        directory_usecases::feed::sequence(&loader).await.unwrap();
        loader.replace_organisation(&demo[0]).await.unwrap();
        let resp = dispatch(route, &services, lambda_http::request::from_str(&admin).unwrap()).await;
        assert_eq!(resp.status(), 200);
    }
    (log.take(), log.take_written_keys())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_may_do_exactly_what_it_does() {
    directory_tests::dynamodb_endpoint();
    directory_tests::s3_endpoint();
    let t = template();
    for (name, f) in functions(&t) {
        if name == AUTHORIZER_FUNCTION {
            continue; // no AWS calls, no policies (mutual_tls_and_the_authorizer_are_wired)
        }
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
    assert_eq!(policy("put", put).2, ["ORG#*", "AUDIT#*", "OUTBOX"]);
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
    // Access logs: JSON with who and what, never the token or its header; the
    // caller's fields where each authorizer puts them.
    let api = &t["Resources"]["DirectoryStage"]["Properties"];
    let (cond, lambda_format, jwt_format) = if_args(&api["AccessLogSettings"]["Format"]);
    assert_eq!(cond, "UseLambdaAuthorizer");
    for (format, prefix) in [
        (lambda_format.as_str().unwrap(), "$context.authorizer."),
        (jwt_format.as_str().unwrap(), "$context.authorizer.claims."),
    ] {
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
        assert_eq!(fields["sub"], format!("{prefix}sub"));
        assert_eq!(fields["organisation_id"], format!("{prefix}organisation_id"));
        let lower = format.to_ascii_lowercase();
        assert!(
            !lower.contains("authorization") && !lower.contains("header"),
            "no token in access logs"
        );
    }
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

#[test]
fn the_explorer_site_serves_only_the_public_objects_under_the_pages_policy() {
    let t = template();
    let resources = &t["Resources"];
    let policy = &resources["ExplorerHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
        ["ContentSecurityPolicy"];
    assert_eq!(
        policy.as_str(),
        Some(directory_usecases::explorer::CONTENT_SECURITY_POLICY),
        "CloudFront sends the local server's policy"
    );
    // The distribution may read exactly what the export publishes for the public.
    let statements = resources["ExportBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let site = statements
        .iter()
        .filter(|s| matches!(s, Value::Tagged(t) if t.tag == "If"))
        .map(|s| if_args(s).1)
        .find(|then| then["Sid"] == "ExplorerSiteReadsThePublicObjects")
        .expect("the explorer site's statement");
    let mut objects: Vec<String> = strings(&site["Resource"])
        .iter()
        .map(|r| r.rsplit('/').next().unwrap().to_owned())
        .collect();
    objects.sort();
    let mut public: Vec<String> = [
        directory_usecases::export::EXPORT_KEY,
        directory_domain::signature::SIGNATURE_KEY,
        directory_domain::signature::JWKS_KEY,
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(directory_usecases::explorer::ASSETS.iter().map(|a| a.name.to_owned()))
    .collect();
    public.sort();
    assert_eq!(objects, public);
}

/// The README says signing is digest-only: every grant of `kms:Sign` is conditioned
/// on `kms:MessageType` `DIGEST` and holds no other action, so a function's role
/// cannot have KMS hash and sign an arbitrary message.
#[test]
fn kms_sign_is_granted_for_digests_only() {
    let t = template();
    let mut grants = 0;
    for (name, f) in functions(&t) {
        let Some(docs) = f["Properties"]["Policies"].as_sequence() else {
            continue;
        };
        for st in docs.iter().flat_map(|d| d["Statement"].as_sequence().unwrap()) {
            let actions = strings(&st["Action"]);
            if actions.iter().any(|a| a == "kms:Sign") {
                assert_eq!(actions, ["kms:Sign"], "{name}: kms:Sign shares its statement");
                assert_eq!(
                    st["Condition"]["StringEquals"]["kms:MessageType"], "DIGEST",
                    "{name}: kms:Sign without the DIGEST condition"
                );
                grants += 1;
            }
        }
    }
    assert!(grants >= 2, "both export functions sign: {grants}");
}
