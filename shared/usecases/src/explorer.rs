//! The participants explorer (`web/`): a static page over the published file, served by
//! the local server at `/` and published by the export beside `participants`, so a
//! static site (S3 + CloudFront) serves page and file from one origin.

/// One static asset: its object key / path, content type and bytes.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// The page's files, checked in under `web/` (no build step).
pub const ASSETS: [Asset; 4] = [
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../../web/index.html"),
    },
    Asset {
        name: "explorer.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../web/explorer.js"),
    },
    Asset {
        name: "explorer.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../../web/explorer.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../../../web/favicon.svg"),
    },
];

/// The page may run only its own script and style, and fetch only from its origin;
/// nothing from the file is ever loaded from elsewhere (logos are links, not images).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The asset served at `path` (`/` is the page).
pub fn asset(path: &str) -> Option<&'static Asset> {
    let name = match path {
        "/" => "index.html",
        other => other.strip_prefix('/')?,
    };
    ASSETS.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_only_its_own_assets() {
        assert_eq!(asset("/").unwrap().name, "index.html");
        assert_eq!(
            asset("/explorer.js").unwrap().content_type,
            "text/javascript; charset=utf-8"
        );
        assert!(asset("/participants").is_none());
        assert!(asset("/../Cargo.toml").is_none());
        let html = ASSETS[0].body;
        assert!(html.contains(r#"src="explorer.js""#) && html.contains(r#"href="explorer.css""#));
        // No inline script or style: the policy allows neither.
        assert!(!html.contains("<script>") && !html.contains("style="));
    }
}
