//! `Accept` negotiation: does the client take `application/json`?

/// Whether an `Accept` header value admits `application/json` (absent admits all).
/// Media ranges with `q=0` are refusals.
pub fn accepts_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return true };
    if accept.trim().is_empty() {
        return true;
    }
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .or_else(|| p.strip_prefix("Q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

#[cfg(test)]
mod tests {
    use super::accepts_json;

    #[test]
    fn json_and_wildcards_are_accepted() {
        for a in [
            None,
            Some(""),
            Some("application/json"),
            Some("*/*"),
            Some("application/*"),
            Some("text/html, application/json;q=0.5"),
            Some("APPLICATION/JSON; charset=utf-8"),
        ] {
            assert!(accepts_json(a), "{a:?}");
        }
    }

    #[test]
    fn other_types_and_zero_quality_are_refused() {
        for a in [
            "text/html",
            "application/xml, text/plain",
            "application/json;q=0",
            "*/*;q=0.0",
        ] {
            assert!(!accepts_json(Some(a)), "{a:?}");
        }
    }
}
