//! The Lambda functions' log subscriber. It follows Lambda's advanced logging controls
//! as `lambda_runtime`'s default subscriber does (`AWS_LAMBDA_LOG_LEVEL`, else
//! `RUST_LOG`; `AWS_LAMBDA_LOG_FORMAT=JSON`), but filters with `Targets` (`level` or
//! `target=level` directives) instead of `EnvFilter`, whose regex engine was the only
//! one linked into the export function (README, Benchmarks: artifact size).

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Installs the subscriber for a Lambda function: stdout, no timestamps (CloudWatch
/// adds its own), no ANSI colours (CloudWatch shows them as escape codes).
pub fn init_lambda() {
    let env = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let filter = filter_of(env("AWS_LAMBDA_LOG_LEVEL").or_else(|| env("RUST_LOG")).as_deref());
    let json = env("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_ansi(false);
    let registry = tracing_subscriber::registry();
    // A second subscriber (tests that start a function twice) keeps the first.
    let _ = if json {
        registry
            .with(layer.json().with_filter(filter).with_filter(guard()))
            .try_init()
    } else {
        registry.with(layer.with_filter(filter).with_filter(guard())).try_init()
    };
}

/// What no setting can turn on: `TRACE` of any crate but the directory's own.
/// `lambda_runtime` logs each raw invocation event at `TRACE` (the `Authorization`
/// header, `clientCertPem`), and the SDKs log request and response bodies there; the
/// guard filters after the configured level, so a `RUST_LOG` of `trace` or
/// `lambda_runtime::layers::api_response=trace` still cannot print them.
pub fn guard() -> Targets {
    Targets::new()
        .with_default(LevelFilter::DEBUG)
        .with_target("directory_domain", LevelFilter::TRACE)
        .with_target("directory_usecases", LevelFilter::TRACE)
        .with_target("directory_http", LevelFilter::TRACE)
        .with_target("directory_aws", LevelFilter::TRACE)
        .with_target("directory_authz", LevelFilter::TRACE)
}

/// The filter of a level setting: `INFO` when unset or unreadable; Lambda's `FATAL`
/// (no such level in `tracing`) reads as `ERROR`.
pub fn filter_of(directives: Option<&str>) -> Targets {
    let default = || Targets::new().with_default(LevelFilter::INFO);
    match directives.map(str::trim) {
        None => default(),
        Some(d) if d.eq_ignore_ascii_case("fatal") => Targets::new().with_default(LevelFilter::ERROR),
        Some(d) => d.parse().unwrap_or_else(|_| default()),
    }
}

#[cfg(test)]
mod tests {
    use super::{filter_of, guard};
    use tracing::Level;

    fn allows(directives: Option<&str>, target: &str, level: Level) -> bool {
        filter_of(directives).would_enable(target, &level)
    }

    #[test]
    fn lambda_levels_and_rust_log_directives() {
        assert!(allows(None, "directory_http", Level::INFO));
        assert!(!allows(None, "directory_http", Level::DEBUG));
        assert!(allows(Some("DEBUG"), "any", Level::DEBUG));
        assert!(!allows(Some("WARN"), "any", Level::INFO));
        assert!(allows(Some("FATAL"), "any", Level::ERROR));
        assert!(!allows(Some("FATAL"), "any", Level::WARN));
        let directives = Some("warn,directory_usecases=debug");
        assert!(allows(directives, "directory_usecases::export", Level::DEBUG));
        assert!(!allows(directives, "aws_smithy_runtime", Level::INFO));
        assert!(allows(Some("not a level=="), "any", Level::INFO));
        assert!(!allows(Some("not a level=="), "any", Level::DEBUG));
    }

    #[test]
    fn no_setting_prints_the_raw_event() {
        let raw_event = "lambda_runtime::layers::api_response";
        for directives in [
            "trace",
            "TRACE",
            "lambda_runtime=trace",
            &format!("{raw_event}=trace"),
            "aws_smithy_runtime=trace",
        ] {
            // The configured filter may ask for it ...
            let asked = filter_of(Some(directives));
            // ... the guard after it never lets it through.
            for target in [raw_event, "aws_smithy_runtime::client", "hyper::proto"] {
                let shown = asked.would_enable(target, &Level::TRACE) && guard().would_enable(target, &Level::TRACE);
                assert!(!shown, "{directives}: {target} at TRACE");
            }
        }
        assert!(guard().would_enable("directory_usecases::export", &Level::TRACE));
        assert!(guard().would_enable(raw_event, &Level::DEBUG));
    }
}
