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
    /// `^(http://|https://).*`, parsed as an RFC 3987 IRI (see `web_url`).
    HttpUri,
    /// `^(https://).*`, parsed likewise.
    HttpsUri,
    /// `^(https:\/\/[^\s/?#]+(?:\/[^\s\/?#]+)*)$` (software statement federation URIs)
    HttpsPathUri,
    /// The logo pattern: an http(s) image URL or an image data URI, each whole.
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

re!(DATA_IMAGE_URI, r"^data:image/[a-zA-Z0-9;+=-]+,[A-Za-z0-9+/]*={0,2}$");

/// The parts of an absolute http(s) URL the URI rules look at.
struct WebUrl {
    path: String,
    query: bool,
    fragment: bool,
}

/// `value` as an absolute RFC 3987 IRI (so no spaces, `"`, `<`, `>` or control
/// characters) with one of `schemes`, a host and no user information, and without a
/// `'` (it would end a single-quoted HTML attribute); `None` otherwise.
fn web_url(value: &str, schemes: &[&str]) -> Option<WebUrl> {
    if value.contains('\'') {
        return None;
    }
    let iri = fluent_uri::Iri::parse(value).ok()?;
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(iri.scheme().as_str())) {
        return None;
    }
    let authority = iri.authority()?;
    if authority.host().is_empty() || authority.userinfo().is_some() {
        return None;
    }
    Some(WebUrl {
        path: iri.path().as_str().to_owned(),
        query: iri.query().is_some(),
        fragment: iri.fragment().is_some(),
    })
}

/// The logo rule as the API documents mean it: an http(s) URL whose path (not its
/// query or fragment) ends in an image extension, or an image data URI, each whole
/// (the documented regex anchors its second alternative only at the end, so
/// `javascript:…//data:image/png,…` matched it).
fn is_logo(value: &str) -> bool {
    if let Some(url) = web_url(value, &["http", "https"]) {
        return [".svg", ".png", ".jpg", ".jpeg"]
            .iter()
            .any(|ext| url.path.ends_with(ext));
    }
    DATA_IMAGE_URI.is_match(value)
}

/// The federation URI rule: https, a path without empty segments, no query or fragment.
fn is_https_path(value: &str) -> bool {
    web_url(value, &["https"]).is_some_and(|u| {
        !u.query && !u.fragment && (u.path.is_empty() || u.path.split('/').skip(1).all(|seg| !seg.is_empty()))
    })
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
// Each alternative anchored at both ends (the documented pattern leaves the Android
// one open at the end, so anything could follow a valid prefix).
re!(
    APP_URI,
    r"^(?:https://(?:[a-zA-Z0-9-]+\.)+[a-zA-Z]+(?::[0-9]+)?(?:/[a-zA-Z0-9-._~!$&()*+,;=:@/?%]*)?(?:\?[a-zA-Z0-9-._~!$&()*+,;=:@/?%]*)?(?:#[a-zA-Z0-9-._~!$&()*+,;=:@/?%]*)?|android:apk-key-hash:[a-zA-Z0-9-]+|ios:bundle-id:[a-zA-Z][-a-zA-Z0-9]*\.(?:[a-zA-Z][-a-zA-Z0-9]*\.?)+)$"
);

impl Pattern {
    /// Whether `value` matches.
    pub fn matches(self, value: &str) -> bool {
        match self {
            Self::Any => true,
            Self::NoAngle => !value.contains(['<', '>']),
            Self::HttpUri => web_url(value, &["http", "https"]).is_some(),
            Self::HttpsUri => web_url(value, &["https"]).is_some(),
            Self::HttpsPathUri => is_https_path(value),
            Self::LogoUri => is_logo(value),
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
            Self::HttpUri => {
                "must be an http:// or https:// URL with a host (RFC 3986: no spaces, quotes, '<', '>' or user information)"
            }
            Self::HttpsUri => {
                "must be an https:// URL with a host (RFC 3986: no spaces, quotes, '<', '>' or user information)"
            }
            Self::HttpsPathUri => {
                "must be an https:// URL with a host and a path only (no query or fragment, no empty segment)"
            }
            Self::LogoUri => {
                "must be an http(s) URL (RFC 3986) whose path ends in .svg/.png/.jpg/.jpeg, or a whole image data URI"
            }
            Self::Email => "must be an e-mail address",
            Self::ApiVersion => "must be a version like 1.0.3 or 2",
            Self::CertificationDate => "must be a date dd/mm/2yyy",
            Self::Uuid => "must be a UUID (8-4-4-4-12 hex digits)",
            Self::AppUri => "must be an https:// URL, android:apk-key-hash:… or ios:bundle-id:…",
        }
    }
}

/// Which characters a text may hold, whatever its pattern (docs/design.md, "Text
/// rules"): participant text ends up, signed, in every relying party's copy of the
/// file, so nothing in it may move a cursor, clear a terminal, reorder what is shown
/// or break a line where the reader does not expect one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chars {
    /// One line of text: no control character (C0, DEL, C1: tab, CR and LF
    /// included), no bidi embedding, override or isolate (U+202A–U+202E,
    /// U+2066–U+2069), no line or paragraph separator (U+2028, U+2029).
    Line,
    /// [`Chars::Line`] that may also break lines with CR and LF (an armored key).
    Lines,
    /// An identifier (`RegistrationId`, ids): [`Chars::Line`], and no invisible
    /// formatting (soft hyphen, zero-width characters, directional marks, BOM), no
    /// space other than U+0020 and none at either end, so two identifiers that look
    /// alike are alike.
    Identifier,
}

impl Chars {
    /// Whether `c` may not occur (`first`/`last`: it is the first/last character).
    fn refuses(self, c: char, first: bool, last: bool) -> bool {
        let line =
            c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}');
        match self {
            Self::Line => line,
            Self::Lines => line && !matches!(c, '\n' | '\r'),
            Self::Identifier => {
                line || matches!(
                    c,
                    '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
                ) || (c.is_whitespace() && c != ' ')
                    || (c == ' ' && (first || last))
            }
        }
    }

    /// The first refused character of `value`, as a violation message.
    pub fn violation(self, value: &str) -> Option<String> {
        let last = value.chars().count().saturating_sub(1);
        let (at, c) = value
            .chars()
            .enumerate()
            .find(|&(i, c)| self.refuses(c, i == 0, i == last))?;
        let rule = match self {
            Self::Line | Self::Lines => {
                "must not contain control, bidi-override or line/paragraph-separator characters"
            }
            Self::Identifier => {
                "must be an identifier: no control, invisible formatting, bidi or separator characters, no space but U+0020 and none at either end"
            }
        };
        Some(format!("{rule} (U+{:04X} at character {})", u32::from(c), at + 1))
    }
}

/// [`Chars::Line`] with no `<>` (the documented `^[^<>]*$`), as a regex: what
/// `openapi.yaml` says of such fields (a property test holds the two equal).
pub const LINE_PATTERN: &str = r"^[^<>\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]*$";
/// [`Chars::Lines`] with no `<>`, as a regex.
pub const LINES_PATTERN: &str = r"^[^<>\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]*$";
/// [`Chars::Identifier`] with no `<>`, as a regex.
pub const IDENTIFIER_PATTERN: &str = concat!(
    r"^(?:[^ <>\x00-\x1f\x7f-\x9f\u00a0\u00ad\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u2069\u3000\ufeff]",
    r"(?:[^<>\x00-\x1f\x7f-\x9f\u00a0\u00ad\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u2069\u3000\ufeff]*",
    r"[^ <>\x00-\x1f\x7f-\x9f\u00a0\u00ad\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u2069\u3000\ufeff])?)?$"
);

/// A string rule: length bounds in characters (Unicode scalar values), a pattern and
/// the characters it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub min: usize,
    pub max: Option<usize>,
    pub pattern: Pattern,
    pub chars: Chars,
}

impl Text {
    const fn new(min: usize, max: Option<usize>, pattern: Pattern) -> Self {
        Self {
            min,
            max,
            pattern,
            chars: Chars::Line,
        }
    }

    /// The same rule for an identifier ([`Chars::Identifier`]).
    const fn identifier(self) -> Self {
        Self {
            chars: Chars::Identifier,
            ..self
        }
    }

    /// The same rule for text that may break lines ([`Chars::Lines`]).
    const fn lines(self) -> Self {
        Self {
            chars: Chars::Lines,
            ..self
        }
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
        out.extend(self.chars.violation(value));
        if !self.pattern.matches(value) {
            out.push(self.pattern.describe().to_owned());
        }
        out
    }
}

use Pattern::*;

/// Identifiers: non-empty, ≤ 40, no `<>`, identifier characters.
pub const ID40: Text = Text::new(1, Some(40), NoAngle).identifier();
/// Optional identifiers of ≤ 40 (`RegistrationId` of an organisation), identifier characters.
pub const IDENT40: Text = Text::new(0, Some(40), NoAngle).identifier();
/// Optional identifiers of ≤ 255 (`UniqueTechnicalIdentifiers`), identifier characters.
pub const IDENT255: Text = Text::new(0, Some(255), NoAngle).identifier();
/// Optional identifiers without a documented length (a domain claim's `RegistrationId`).
pub const IDENT: Text = Text::new(0, None, NoAngle).identifier();
/// Multi-line text of ≤ 65535 without `<>` (`PgpPublicKey`: an armored key has lines).
pub const LINES65535: Text = Text::new(0, Some(65535), NoAngle).lines();
/// Optional short identifiers: ≤ 40, no `<>`.
pub const TEXT40: Text = Text::new(0, Some(40), NoAngle);
/// Names and most free text: ≤ 255, no `<>`.
pub const TEXT255: Text = Text::new(0, Some(255), NoAngle);
/// Long free text: ≤ 65535, no `<>`.
pub const TEXT65535: Text = Text::new(0, Some(65535), NoAngle);
/// Non-empty names: 1..=255, no `<>`.
pub const NAME255: Text = Text::new(1, Some(255), NoAngle);
/// Any string (of one line: see [`Chars::Line`]).
pub const NO_LIMIT: Text = Text::new(0, None, Any);
/// Text no table describes (unknown fields, free-form objects): its characters only.
pub const FREE_TEXT: Text = NO_LIMIT;
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
pub const KEY_ID: Text = Text::new(1, Some(200), NoAngle).identifier();
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
        bad(HTTPS_PATH_URI255, "https://fed.example.com/a?b=c", "no query");
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
    fn uris_are_parsed_not_matched() {
        // The documented logo regex's second alternative is anchored at the end only.
        bad(LOGO, "javascript:alert(1)//data:image/png,AAAA", "image data URI");
        bad(LOGO, "javascript:alert(1)//https://x.example/l.png", "image data URI");
        ok(LOGO, "data:image/png;base64,iVBORw0KGgo=");
        bad(LOGO, "data:image/png;base64,iVBO\"onerror=x", "image data URI");
        for unsafe_uri in [
            "https://x.example/a\".png",
            "https://x.example/<svg>.png",
            "https://x.example/a b.png",
            "https://x.example/a'.png",
            "https://user@x.example/a.png",
            "https://x.example/a\\b.png",
            "https:///a.png",
        ] {
            bad(LOGO, unsafe_uri, "RFC 3986");
            bad(HTTP_URI255, &unsafe_uri.replace(".png", ""), "RFC 3986");
        }
        bad(HTTP_URI255, "https:// example.com", "RFC 3986");
        bad(HTTP_URI255, "javascript:alert(1)", "http://");
        ok(HTTP_URI255, "https://exemplo.com.br/logo-ação");
        ok(HTTP_URI255, "HTTPS://Example.com:8443/a?b=c#d");
        bad(HTTPS_PATH_URI255, "https://fed.example.com//a", "empty segment");
        bad(HTTPS_PATH_URI255, "https://fed.example.com/a\"b", "https://");
        // Each app-URI alternative is anchored at both ends.
        bad(APP_URI255, "android:apk-key-hash:abc<script>", "android");
        bad(APP_URI255, "ios:bundle-id:com.example.app\"x", "android");
    }

    #[test]
    fn no_text_moves_the_cursor_or_reorders_the_line() {
        for (value, code) in [
            ("a\u{0}b", "U+0000"),
            ("\u{1b}[2J", "U+001B"),
            ("Banco \u{202e}ativa", "U+202E"),
            ("a\u{2028}b", "U+2028"),
            ("a\u{2029}b", "U+2029"),
            ("a\r\nb", "U+000D"),
            ("a\tb", "U+0009"),
            ("a\u{85}b", "U+0085"),
            ("a\u{2066}b", "U+2066"),
        ] {
            for rule in [TEXT255, NO_ANGLE, NO_LIMIT, ID40, EMAIL_ADDRESS, HTTP_URI255] {
                bad(rule, value, code);
            }
        }
        // Armored keys keep their lines, and nothing else.
        ok(
            LINES65535,
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\r\nmQENBF\n-----END PGP PUBLIC KEY BLOCK-----",
        );
        bad(LINES65535, "a\u{1b}b", "U+001B");
        // Identifiers are narrower: no invisible characters, exotic or outer spaces.
        ok(TEXT255, "Banco\u{a0}Aurora");
        ok(ID40, "BR 1009-ç");
        for (value, code) in [
            ("BR\u{200b}1009", "U+200B"),
            ("BR\u{a0}1009", "U+00A0"),
            (" BR1009", "U+0020 at character 1"),
            ("BR1009 ", "U+0020 at character 7"),
            ("BR\u{feff}1009", "U+FEFF"),
            ("BR\u{200f}1009", "U+200F"),
        ] {
            bad(ID40, value, code);
            bad(IDENT255, value, code);
        }
    }

    proptest::proptest! {
        /// The patterns `openapi.yaml` states accept exactly what the character rules
        /// (with no `<>`) accept: strings drawn around every refused character.
        #[test]
        fn the_documented_character_patterns_are_the_rules(
            chars in proptest::collection::vec(proptest::prop_oneof![
                proptest::char::range('a', 'c'),
                proptest::sample::select(vec![
                    ' ', '<', '>', '\t', '\n', '\r', '\u{0}', '\u{1f}', '\u{7f}', '\u{85}', '\u{9f}', '\u{a0}',
                    '\u{ad}', '\u{61c}', '\u{1680}', '\u{180e}', '\u{2000}', '\u{200a}', '\u{200b}', '\u{200f}',
                    '\u{2027}', '\u{2028}', '\u{2029}', '\u{202a}', '\u{202e}', '\u{202f}', '\u{205f}', '\u{2060}',
                    '\u{2064}', '\u{2065}', '\u{2066}', '\u{2069}', '\u{206a}', '\u{3000}', '\u{feff}', 'ç', 'ж',
                ]),
            ], 0..6)
        ) {
            let s: String = chars.into_iter().collect();
            let no_angle = !s.contains(['<', '>']);
            for (pattern, rule) in [(LINE_PATTERN, Chars::Line), (LINES_PATTERN, Chars::Lines), (IDENTIFIER_PATTERN, Chars::Identifier)] {
                let re = Regex::new(pattern).unwrap();
                proptest::prop_assert_eq!(re.is_match(&s), no_angle && rule.violation(&s).is_none(), "{:?} {:?}", rule, s);
            }
        }
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
