//! The documented string rules, as data: length bounds and a pattern each.

use regex::Regex;
use std::sync::LazyLock;

/// A documented pattern. `NoAngle` is `^[^<>]*$`; the others are the API reference's regexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// No pattern beyond the length.
    Any,
    /// `^[^<>]*$`
    NoAngle,
    /// `^(http://|https://).*`
    HttpUri,
    /// `^(https://).*`
    HttpsUri,
    /// `^(https:\/\/[^\s/?#]+(?:\/[^\s\/?#]+)*)$` (software statement federation URIs)
    HttpsPathUri,
    /// The logo pattern: an http(s) image URL or an image data URI.
    LogoUri,
    /// The contact e-mail pattern.
    Email,
    /// `^([0-9]+\.[0-9]+\.[0-9]+)$|^([0-9]+)$`
    ApiVersion,
    /// `^[0-3][0-9]/[0-1][0-9]/2([0-9]{3})$`
    CertificationDate,
    /// An RFC 4122 UUID in its hyphenated form (`string(uuid)`).
    Uuid,
    /// The software statement application URI pattern (https URL, android or ios id).
    AppUri,
}

macro_rules! re {
    ($name:ident, $src:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($src).expect("documented pattern compiles"));
    };
}

re!(HTTP_URI, r"^(http://|https://)");
re!(HTTPS_URI, r"^https://");
re!(HTTPS_PATH_URI, r"^(https://[^\s/?#]+(?:/[^\s/?#]+)*)$");
re!(
    LOGO_URI,
    r"^(http://|https://).*.(svg|png|jpg|jpeg)$|(data:image/[a-zA-Z0-9;+=-]+,[A-Za-z0-9+/]*={0,2})$"
);

/// The part of a logo URL the image-extension check applies to: an http(s) URL
/// without its query or fragment (`…/logo.jpg?MOD=AJPERES` is a JPEG); anything
/// else (a data URI) whole.
fn logo_path(value: &str) -> &str {
    if value.starts_with("http://") || value.starts_with("https://") {
        value.split(['?', '#']).next().unwrap_or(value)
    } else {
        value
    }
}
re!(
    EMAIL,
    r#"^(([^<>()\[\]\\.,;:\s@"]+(\.[^<>()\[\]\\.,;:\s@"]+)*)|(".+"))@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))$"#
);
re!(API_VERSION, r"^([0-9]+\.[0-9]+\.[0-9]+)$|^([0-9]+)$");
re!(CERTIFICATION_DATE, r"^[0-3][0-9]/[0-1][0-9]/2([0-9]{3})$");
re!(
    UUID,
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
);
re!(
    APP_URI,
    r"^https://(?:[a-zA-Z0-9-]+\.)+[a-zA-Z]+(?::[0-9]+)?(?:/[a-zA-Z0-9-._~!$&'()*+,;=:@/?%]*)?(?:\?[a-zA-Z0-9-._~!$&'()*+,;=:@/?%]*)?(?:#[a-zA-Z0-9-._~!$&'()*+,;=:@/?%]*)?$|(^android:apk-key-hash:[a-zA-Z0-9-]+)|(^ios:bundle-id:[a-zA-Z][-a-zA-Z0-9]*\.([a-zA-Z][-a-zA-Z0-9]*\.?)+)$"
);

impl Pattern {
    /// Whether `value` matches.
    pub fn matches(self, value: &str) -> bool {
        match self {
            Self::Any => true,
            Self::NoAngle => !value.contains(['<', '>']),
            Self::HttpUri => HTTP_URI.is_match(value),
            Self::HttpsUri => HTTPS_URI.is_match(value),
            Self::HttpsPathUri => HTTPS_PATH_URI.is_match(value),
            Self::LogoUri => LOGO_URI.is_match(logo_path(value)),
            Self::Email => EMAIL.is_match(value),
            Self::ApiVersion => API_VERSION.is_match(value),
            Self::CertificationDate => CERTIFICATION_DATE.is_match(value),
            Self::Uuid => UUID.is_match(value),
            Self::AppUri => APP_URI.is_match(value),
        }
    }

    /// How the rule reads in an error message.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Any => "any value",
            Self::NoAngle => "must match ^[^<>]*$ (no '<' or '>')",
            Self::HttpUri => "must start with http:// or https://",
            Self::HttpsUri => "must start with https://",
            Self::HttpsPathUri => "must be an https:// URL without query or fragment",
            Self::LogoUri => "must be an http(s) URL whose path ends in .svg/.png/.jpg/.jpeg, or an image data URI",
            Self::Email => "must be an e-mail address",
            Self::ApiVersion => "must be a version like 1.0.3 or 2",
            Self::CertificationDate => "must be a date dd/mm/2yyy",
            Self::Uuid => "must be a UUID (8-4-4-4-12 hex digits)",
            Self::AppUri => "must be an https:// URL, android:apk-key-hash:… or ios:bundle-id:…",
        }
    }
}

/// A string rule: length bounds in characters (Unicode scalar values) and a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub min: usize,
    pub max: Option<usize>,
    pub pattern: Pattern,
}

impl Text {
    const fn new(min: usize, max: Option<usize>, pattern: Pattern) -> Self {
        Self { min, max, pattern }
    }

    /// Every violation of this rule by `value` (empty when it holds).
    pub fn violations(&self, value: &str) -> Vec<String> {
        let mut out = Vec::new();
        let chars = value.chars().count();
        if chars < self.min {
            out.push(if self.min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("shorter than {} characters", self.min)
            });
        }
        if let Some(max) = self.max
            && chars > max
        {
            out.push(format!("longer than {max} characters"));
        }
        if !self.pattern.matches(value) {
            out.push(self.pattern.describe().to_owned());
        }
        out
    }
}

use Pattern::*;

/// Identifiers: non-empty, ≤ 40, no `<>`.
pub const ID40: Text = Text::new(1, Some(40), NoAngle);
/// Optional short identifiers: ≤ 40, no `<>`.
pub const TEXT40: Text = Text::new(0, Some(40), NoAngle);
/// Names and most free text: ≤ 255, no `<>`.
pub const TEXT255: Text = Text::new(0, Some(255), NoAngle);
/// Long free text: ≤ 65535, no `<>`.
pub const TEXT65535: Text = Text::new(0, Some(65535), NoAngle);
/// Non-empty names: 1..=255, no `<>`.
pub const NAME255: Text = Text::new(1, Some(255), NoAngle);
/// Any string.
pub const NO_LIMIT: Text = Text::new(0, None, Any);
/// Unbounded text without `<>`.
pub const NO_ANGLE: Text = Text::new(0, None, NoAngle);
/// Dates and date-times: ≤ 30, no `<>`.
pub const DATE30: Text = Text::new(0, Some(30), NoAngle);
/// `MemberState`: ≤ 2, no `<>`.
pub const MEMBER_STATE: Text = Text::new(0, Some(2), NoAngle);
/// `PhoneNumber`: ≤ 18, no `<>`.
pub const PHONE: Text = Text::new(0, Some(18), NoAngle);
/// `EmailAddress`: ≤ 255 and the e-mail pattern.
pub const EMAIL_ADDRESS: Text = Text::new(0, Some(255), Email);
/// http(s) URIs of ≤ 255.
pub const HTTP_URI255: Text = Text::new(0, Some(255), HttpUri);
/// https URIs of ≤ 500 (certification packages).
pub const HTTPS_URI500: Text = Text::new(0, Some(500), HttpsUri);
/// https URIs of ≤ 255 with a path only.
pub const HTTPS_PATH_URI255: Text = Text::new(0, Some(255), HttpsPathUri);
/// Logo URIs.
pub const LOGO: Text = Text::new(0, None, LogoUri);
/// Logo URIs of ≤ 255 (`CustomerFriendlyLogoUri`).
pub const LOGO255: Text = Text::new(0, Some(255), LogoUri);
/// Ids without a documented length that end up in a sort key (`ContactId`): ≤ 200
/// characters, so the key stays inside DynamoDB's 1,024-byte sort-key limit even when
/// every character is 4 bytes of UTF-8.
pub const KEY_ID: Text = Text::new(1, Some(200), NoAngle);
/// `ApiVersion`.
pub const API_VERSION_TEXT: Text = Text::new(0, None, ApiVersion);
/// `CertificationStartDate`.
pub const CERT_DATE: Text = Text::new(0, None, CertificationDate);
/// `ApiFamilyType`: 1..=128, no `<>`.
pub const API_FAMILY: Text = Text::new(1, Some(128), NoAngle);
/// uuid-formatted ids of 1..=40 characters.
pub const UUID40: Text = Text::new(1, Some(40), Uuid);
/// uuid-formatted values.
pub const UUID_TEXT: Text = Text::new(1, None, Uuid);
/// Software statement application URIs: ≤ 255 and the app-URI pattern.
pub const APP_URI255: Text = Text::new(0, Some(255), AppUri);
/// Plain ≤ 30 (certificate dates).
pub const PLAIN30: Text = Text::new(0, Some(30), Any);
/// Plain ≤ 40.
pub const PLAIN40: Text = Text::new(0, Some(40), Any);
/// Plain ≤ 255.
pub const PLAIN255: Text = Text::new(0, Some(255), Any);
/// `TokenEndpointAuthMethod`-like: 1..=60, no `<>`.
pub const TEXT1_60: Text = Text::new(1, Some(60), NoAngle);

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(rule: Text, v: &str) {
        assert!(
            rule.violations(v).is_empty(),
            "{v:?} should pass {rule:?}: {:?}",
            rule.violations(v)
        );
    }
    fn bad(rule: Text, v: &str, needle: &str) {
        let found = rule.violations(v);
        assert!(
            found.iter().any(|m| m.contains(needle)),
            "{v:?} should fail {rule:?} with {needle:?}, got {found:?}"
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        ok(ID40, &"ç".repeat(40));
        bad(ID40, &"ç".repeat(41), "longer than 40");
        bad(ID40, "", "must not be empty");
        ok(TEXT255, &"a".repeat(255));
        bad(TEXT255, &"a".repeat(256), "longer than 255");
        ok(TEXT65535, &"a".repeat(65535));
        bad(TEXT65535, &"a".repeat(65536), "longer than 65535");
        ok(MEMBER_STATE, "GB");
        bad(MEMBER_STATE, "GBR", "longer than 2");
        ok(PHONE, "+44 20 7946 0958");
        bad(PHONE, "+44 20 7946 0958 123", "longer than 18");
        ok(DATE30, "2024-07-29T15:51:28.071Z");
        bad(DATE30, &"1".repeat(31), "longer than 30");
        ok(API_FAMILY, "payments-consents");
        bad(API_FAMILY, "", "must not be empty");
        bad(API_FAMILY, &"a".repeat(129), "longer than 128");
        ok(TEXT1_60, "private_key_jwt");
        bad(TEXT1_60, &"a".repeat(61), "longer than 60");
    }

    #[test]
    fn no_angle_brackets() {
        ok(TEXT255, "Banco Exemplo S.A.");
        bad(TEXT255, "<script>", "^[^<>]*$");
        bad(ID40, "a>b", "^[^<>]*$");
    }

    #[test]
    fn uri_patterns() {
        ok(HTTP_URI255, "http://example.com");
        ok(HTTP_URI255, "https://example.com/x");
        bad(HTTP_URI255, "ftp://example.com", "http://");
        ok(HTTPS_URI500, "https://github.com/x.zip");
        bad(HTTPS_URI500, "http://github.com/x.zip", "https://");
        bad(HTTPS_URI500, &format!("https://{}", "a".repeat(500)), "longer than 500");
        ok(HTTPS_PATH_URI255, "https://fed.example.com/entities/1");
        bad(HTTPS_PATH_URI255, "https://fed.example.com/a?b=c", "without query");
        ok(APP_URI255, "https://app.example.com/cb");
        ok(APP_URI255, "android:apk-key-hash:abc-123");
        ok(APP_URI255, "ios:bundle-id:com.example.app");
        bad(APP_URI255, "http://app.example.com", "https://");
    }

    #[test]
    fn logo_pattern() {
        ok(LOGO, "https://example.com/logo.svg");
        ok(LOGO, "data:image/png;base64,iVBORw0KGgo=");
        bad(LOGO, "https://example.com/logo.gif", "image");
        ok(LOGO, "https://example.com/logo.jpg?MOD=AJPERES&CVID=x");
        ok(LOGO, "https://example.com/logo.svg#top");
        bad(LOGO, "https://example.com/logo.gif?x=.png", "image");
        bad(LOGO, "https://example.com/?x=logo.png", "image");
        bad(
            LOGO255,
            &format!("https://example.com/{}.png", "a".repeat(240)),
            "longer than 255",
        );
    }

    #[test]
    fn email_pattern() {
        ok(EMAIL_ADDRESS, "ana.silva@banco.example.com.br");
        bad(EMAIL_ADDRESS, "not-an-email", "e-mail");
        bad(
            EMAIL_ADDRESS,
            &format!("{}@example.com", "a".repeat(250)),
            "longer than 255",
        );
    }

    #[test]
    fn api_version_pattern() {
        ok(API_VERSION_TEXT, "1.0.3");
        ok(API_VERSION_TEXT, "2");
        bad(API_VERSION_TEXT, "v1.0", "version");
        bad(API_VERSION_TEXT, "1.0", "version");
    }

    #[test]
    fn certification_date_pattern() {
        ok(CERT_DATE, "01/02/2024");
        bad(CERT_DATE, "2024-02-01", "dd/mm/2yyy");
        bad(CERT_DATE, "41/02/2024", "dd/mm/2yyy");
    }

    #[test]
    fn uuid_pattern() {
        ok(UUID40, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
        bad(UUID40, "not-a-uuid", "UUID");
        bad(UUID40, "", "must not be empty");
        ok(UUID_TEXT, "F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6");
        bad(UUID_TEXT, "3fa85f64571745 62b3fc2c963f66afa6", "UUID");
    }

    #[test]
    fn plain_limits() {
        ok(PLAIN30, "2024-07-29T15:51:28Z");
        bad(PLAIN30, &"x".repeat(31), "longer than 30");
        ok(PLAIN40, "<allowed where no pattern is documented>");
        bad(PLAIN40, &"x".repeat(41), "longer than 40");
        ok(PLAIN255, "x");
        bad(PLAIN255, &"x".repeat(256), "longer than 255");
        ok(TEXT40, "");
        bad(TEXT40, &"x".repeat(41), "longer than 40");
        ok(NO_ANGLE, &"x".repeat(100_000));
        bad(NO_ANGLE, "<", "^[^<>]*$");
    }
}
