//! Who the caller is and the single decision table (docs/design.md, "Auth"); reading
//! the caller from a request is the HTTP edge's (`directory_http::caller`).

use crate::Refusal;
use crate::model::{Audience, AuthorityClaim, AuthorityClaimUpdate, DomainRole, ResourceStatus};

/// Read any organisation's data and everything else.
pub const SCOPE_ADMIN: &str = "directory:admin";
/// Read the caller's own organisation.
pub const SCOPE_READ: &str = "directory:read";
/// Change the caller's own organisation.
pub const SCOPE_WRITE: &str = "directory:write";

/// The access rule of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `directory:admin` only.
    Admin,
    /// `directory:read` on the caller's own organisation, or admin.
    OwnOrganisationRead,
    /// `directory:write` on the caller's own organisation, or admin.
    OwnOrganisationWrite,
    /// `directory:read` for any organisation (public data), or admin.
    AnyRead,
    /// No HTTP caller: invoked by the platform (the schedule); every token is refused.
    Internal,
    /// Anyone, with or without a token: public data the ecosystem downloads (the
    /// changes feed, like the participants file). No token is read.
    Public,
    /// `directory:read` on the caller's own subscriptions ([`subscription_owner`],
    /// [`subscription_access`]), or admin on anyone's.
    Subscriber,
}

impl Access {
    /// Whether a call changes data (and so must name who makes it: the token's `sub`,
    /// which the audit record carries).
    pub fn writes(self) -> bool {
        matches!(self, Self::OwnOrganisationWrite)
    }

    /// The scopes that can satisfy this rule (the API Gateway route scopes).
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Self::Admin => &[SCOPE_ADMIN],
            Self::OwnOrganisationRead | Self::AnyRead | Self::Subscriber => &[SCOPE_READ, SCOPE_ADMIN],
            Self::OwnOrganisationWrite => &[SCOPE_WRITE, SCOPE_ADMIN],
            Self::Internal | Self::Public => &[],
        }
    }
}

/// The verified identity of the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    pub sub: Option<String>,
    pub organisation_id: Option<String>,
    pub scopes: Vec<String>,
}

impl Caller {
    /// Whether the caller holds `scope`.
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// RFC 6749 §3.3 scope-token characters: `%x21 / %x23-5B / %x5D-7E`.
fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// Whether `token` is one RFC 6749 scope token (non-empty, scope-token characters only).
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty() && token.chars().all(is_scope_char)
}

/// Parses a `scope` string claim (RFC 6749 §3.3): scope tokens separated by single
/// spaces, each taken as it is (a `[` or `]` is part of its token, never stripped).
/// Any other whitespace, an empty token or a character outside the scope-token set
/// makes the whole claim invalid (`None`); the empty string is no scopes.
pub fn parse_scope(text: &str) -> Option<Vec<String>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(' ')
        .map(|token| is_scope_token(token).then(|| token.to_owned()))
        .collect()
}

/// Who may change what in a claim PUT (docs/design.md, "Auth"): without
/// `directory:admin`, a caller may change `RegistrationId`,
/// `UniqueTechnicalIdentifiers` and set `Status` from Active to Inactive only. Returns
/// one message per field the body would change beyond that (empty: allowed). A
/// value sent back unchanged is not a change.
pub fn claim_change_needs_admin(
    caller: &Caller,
    current: &AuthorityClaim,
    update: &AuthorityClaimUpdate,
    role: Option<&DomainRole>,
) -> Vec<String> {
    if caller.has(SCOPE_ADMIN) {
        return Vec::new();
    }
    let needs = |field: &str| format!("{field}: changing it needs {SCOPE_ADMIN}");
    let differs = |given: &Option<String>, stored: &Option<String>| given.is_some() && given != stored;
    let mut fields = Vec::new();
    if update.authority_id != current.authority_id {
        fields.push(needs("AuthorityId"));
    }
    let role_changes = role.is_some_and(|r| {
        current.authorisation_domain_role_identifier.as_deref() != Some(r.authorisation_domain_role_identifier.as_str())
    });
    if role_changes {
        // Name the fields the body used to ask for the change.
        let named = [
            (
                "AuthorisationDomainRoleIdentifier",
                &update.authorisation_domain_role_identifier,
                &current.authorisation_domain_role_identifier,
            ),
            (
                "AuthorisationDomainID",
                &update.authorisation_domain_id,
                &current.authorisation_domain_id,
            ),
            (
                "AuthorisationDomain",
                &update.authorisation_domain,
                &current.authorisation_domain,
            ),
            ("Role", &update.role, &current.role),
        ];
        let mut any = false;
        for (field, given, stored) in named {
            if differs(given, stored) {
                fields.push(needs(field));
                any = true;
            }
        }
        if !any {
            fields.push(needs("AuthorisationDomainRoleIdentifier"));
        }
    }
    if update.status == ResourceStatus::Active && current.status != ResourceStatus::Active {
        fields.push(needs("Status"));
    }
    fields
}

/// What the caller may see of an organisation's data it is allowed to read
/// (docs/design.md, "Visibility"): everything an admin may, the organisation's own
/// view otherwise (only admins and the organisation itself read a snapshot).
pub fn audience(caller: &Caller) -> Audience {
    if caller.has(SCOPE_ADMIN) {
        Audience::Admin
    } else {
        Audience::Member
    }
}

/// The decision table. `target_org` is the organisation in the path, if any. A
/// non-admin gets 403 for another organisation whether or not it exists.
pub fn authorize(caller: &Caller, access: Access, target_org: Option<&str>) -> Result<(), Refusal> {
    // A write is audited by who makes it: a token that names nobody writes nothing.
    if access.writes() && caller.sub.as_deref().is_none_or(str::is_empty) {
        return Err(Refusal::Unauthenticated(
            "token without sub: a write must name who makes it".to_owned(),
        ));
    }
    if access == Access::Public {
        return Ok(());
    }
    // Admin may do everything callable over HTTP; an internal route refuses it too.
    if caller.has(SCOPE_ADMIN) && access != Access::Internal {
        return Ok(());
    }
    let own = |scope: &str| {
        if !caller.has(scope) {
            return Err(Refusal::Forbidden(format!("scope {scope} required")));
        }
        match (caller.organisation_id.as_deref(), target_org) {
            (Some(mine), Some(target)) if mine == target => Ok(()),
            _ => Err(Refusal::Forbidden("not allowed for this organisation".to_owned())),
        }
    };
    match access {
        Access::Admin => Err(Refusal::Forbidden(format!("scope {SCOPE_ADMIN} required"))),
        Access::OwnOrganisationRead => own(SCOPE_READ),
        Access::OwnOrganisationWrite => own(SCOPE_WRITE),
        Access::AnyRead | Access::Subscriber if caller.has(SCOPE_READ) => Ok(()),
        Access::AnyRead | Access::Subscriber => Err(Refusal::Forbidden(format!("scope {SCOPE_READ} required"))),
        Access::Internal => Err(Refusal::Forbidden("not callable over HTTP".to_owned())),
        Access::Public => Ok(()),
    }
}

/// Who owns a subscription the caller makes: a participant subscribes for itself
/// (`named` may only repeat its own organisation), an administrator names the
/// participant. Making one is a change, so the token must name who makes it.
pub fn subscription_owner(caller: &Caller, named: Option<&str>) -> Result<String, Refusal> {
    if caller.sub.as_deref().is_none_or(str::is_empty) {
        return Err(Refusal::Unauthenticated(
            "token without sub: a change must name who makes it".to_owned(),
        ));
    }
    match (caller.has(SCOPE_ADMIN), named, caller.organisation_id.as_deref()) {
        (true, Some(named), _) => Ok(named.to_owned()),
        (true, None, Some(own)) => Ok(own.to_owned()),
        (true, None, None) => Err(Refusal::Invalid(vec![
            "organisation_id: required: the participant an administrator subscribes for".to_owned(),
        ])),
        (false, _, None) => Err(Refusal::Forbidden(
            "the token names no organisation to subscribe for".to_owned(),
        )),
        (false, Some(named), Some(own)) if named != own => Err(Refusal::Forbidden(
            "a participant subscribes for its own organisation only".to_owned(),
        )),
        (false, _, Some(own)) => Ok(own.to_owned()),
    }
}

/// Whether the caller may read, change or poll the subscription owned by `owner`
/// (`None`: there is none). A participant gets the same 403 for another's subscription
/// and for none at all, so ids cannot be probed; an administrator learns it is missing.
pub fn subscription_access(caller: &Caller, owner: Option<&str>) -> Result<(), Refusal> {
    let admin = caller.has(SCOPE_ADMIN);
    match owner {
        _ if admin && owner.is_some() => Ok(()),
        None if admin => Err(Refusal::NotFound("no such subscription".to_owned())),
        Some(owner) if caller.organisation_id.as_deref() == Some(owner) => Ok(()),
        _ => Err(Refusal::Forbidden("not a subscription of your organisation".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_belong_to_their_organisation() {
        let bank = who("bank", "directory:read");
        assert_eq!(subscription_owner(&bank, None), Ok("bank".into()));
        assert_eq!(subscription_owner(&bank, Some("bank")), Ok("bank".into()));
        assert!(matches!(
            subscription_owner(&bank, Some("fintech")),
            Err(Refusal::Forbidden(_))
        ));
        let nameless = Caller {
            sub: None,
            ..bank.clone()
        };
        assert!(matches!(
            subscription_owner(&nameless, None),
            Err(Refusal::Unauthenticated(_))
        ));
        let admin = Caller {
            organisation_id: None,
            ..who("x", "directory:admin")
        };
        assert_eq!(subscription_owner(&admin, Some("fintech")), Ok("fintech".into()));
        assert!(matches!(subscription_owner(&admin, None), Err(Refusal::Invalid(_))));
        assert_eq!(subscription_access(&bank, Some("bank")), Ok(()));
        // Another's and a missing one look the same to a participant.
        assert_eq!(
            subscription_access(&bank, Some("fintech")),
            subscription_access(&bank, None)
        );
        assert!(matches!(subscription_access(&bank, None), Err(Refusal::Forbidden(_))));
        assert_eq!(subscription_access(&admin, Some("fintech")), Ok(()));
        assert!(matches!(subscription_access(&admin, None), Err(Refusal::NotFound(_))));
    }

    fn who(org: &str, scopes: &str) -> Caller {
        Caller {
            sub: Some("u".into()),
            organisation_id: Some(org.into()),
            scopes: parse_scope(scopes).unwrap(),
        }
    }

    #[test]
    fn decision_table() {
        use Access::*;
        let cases = [
            // (caller scopes, caller org, access, target, allowed)
            ("directory:admin", "a", Admin, None, true),
            ("directory:read directory:write", "a", Admin, None, false),
            ("directory:read", "a", OwnOrganisationRead, Some("a"), true),
            ("directory:read", "a", OwnOrganisationRead, Some("b"), false),
            ("directory:write", "a", OwnOrganisationRead, Some("a"), false),
            ("directory:admin", "a", OwnOrganisationRead, Some("b"), true),
            ("directory:write", "a", OwnOrganisationWrite, Some("a"), true),
            ("directory:read", "a", OwnOrganisationWrite, Some("a"), false),
            ("directory:write", "a", OwnOrganisationWrite, Some("b"), false),
            ("directory:admin", "a", OwnOrganisationWrite, Some("b"), true),
            ("directory:read", "a", AnyRead, Some("b"), true),
            ("directory:write", "a", AnyRead, Some("a"), false),
            ("directory:admin", "a", AnyRead, Some("b"), true),
            ("", "a", OwnOrganisationRead, Some("a"), false),
            ("directory:admin", "a", Internal, None, false),
            ("directory:read directory:write", "a", Internal, Some("a"), false),
        ];
        for (scopes, org, access, target, allowed) in cases {
            let got = authorize(&who(org, scopes), access, target);
            assert_eq!(got.is_ok(), allowed, "{scopes} {org} {access:?} {target:?}: {got:?}");
            if let Err(e) = got {
                assert!(matches!(e, Refusal::Forbidden(_)), "{e:?}");
            }
        }
    }

    #[test]
    fn a_write_needs_a_sub() {
        for sub in [None, Some(String::new())] {
            for scopes in ["directory:write", "directory:admin"] {
                let c = Caller {
                    sub: sub.clone(),
                    ..who("a", scopes)
                };
                let e = authorize(&c, Access::OwnOrganisationWrite, Some("a")).unwrap_err();
                assert!(
                    matches!(&e, Refusal::Unauthenticated(m) if m.contains("sub")),
                    "{scopes} {sub:?}: {e:?}"
                );
                // Reads do not need one.
                assert!(authorize(&c, Access::AnyRead, Some("a")).is_ok() || scopes == "directory:write");
            }
        }
    }

    #[test]
    fn a_caller_without_organisation_gets_nothing_organisation_scoped() {
        let c = Caller {
            organisation_id: None,
            scopes: vec![SCOPE_READ.into()],
            ..Default::default()
        };
        assert!(authorize(&c, Access::OwnOrganisationRead, Some("a")).is_err());
        assert!(authorize(&c, Access::AnyRead, Some("a")).is_ok());
    }

    #[test]
    fn scope_claims_split_on_single_spaces_only() {
        let ok = |s: &str| parse_scope(s).unwrap_or_else(|| panic!("{s:?} should parse"));
        assert_eq!(
            ok("directory:read directory:write"),
            ["directory:read", "directory:write"]
        );
        // Brackets belong to their tokens: never a way to spell another scope.
        assert_eq!(
            ok("[directory:read directory:admin]"),
            ["[directory:read", "directory:admin]"]
        );
        assert_eq!(ok("[directory:admin]"), ["[directory:admin]"]);
        assert_eq!(ok(""), Vec::<String>::new());
        assert_eq!(ok("[]"), ["[]"]);
        for bad in [
            "directory:read\tdirectory:admin",
            "directory:read\ndirectory:admin",
            "directory:read  directory:admin",
            " directory:read",
            "directory:read ",
            "directory:read\u{a0}directory:admin",
            "directory:\"admin",
            "directory:\\admin",
            "[directory:read\tdirectory:admin]",
            "[directory:read directory:é]",
        ] {
            assert_eq!(parse_scope(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn who_may_change_what_in_a_claim() {
        let current = AuthorityClaim {
            organisation_authority_claim_id: "c".into(),
            authority_id: "auth-1".into(),
            status: ResourceStatus::Inactive,
            authorisation_domain_role_identifier: Some("role-dados".into()),
            authorisation_domain_id: Some("dom".into()),
            authorisation_domain: Some("Open Finance".into()),
            role: Some("DADOS".into()),
            ..Default::default()
        };
        let role = |id: &str, name: &str| DomainRole {
            authorisation_domain_role_identifier: id.into(),
            authorisation_domain_id: "dom".into(),
            role: name.into(),
            ..Default::default()
        };
        let same = AuthorityClaimUpdate {
            authority_id: "auth-1".into(),
            status: ResourceStatus::Inactive,
            registration_id: Some("new".into()),
            unique_technical_identifiers: vec!["x".into()],
            ..Default::default()
        };
        let writer = who("o", "directory:write");
        let admin = who("o", "directory:admin");
        // Writable fields and the current values sent back: allowed.
        assert!(claim_change_needs_admin(&writer, &current, &same, None).is_empty());
        let echoed = AuthorityClaimUpdate {
            authorisation_domain: Some("Open Finance".into()),
            role: Some("DADOS".into()),
            ..same.clone()
        };
        assert!(claim_change_needs_admin(&writer, &current, &echoed, Some(&role("role-dados", "DADOS"))).is_empty());
        // Role by names, authority and activation: one message each.
        let grab = AuthorityClaimUpdate {
            authority_id: "auth-2".into(),
            status: ResourceStatus::Active,
            authorisation_domain: Some("Open Finance".into()),
            role: Some("PAGTO".into()),
            ..same.clone()
        };
        let denied = claim_change_needs_admin(&writer, &current, &grab, Some(&role("role-pagto", "PAGTO")));
        assert_eq!(
            denied,
            [
                "AuthorityId: changing it needs directory:admin",
                "Role: changing it needs directory:admin",
                "Status: changing it needs directory:admin"
            ]
        );
        assert!(claim_change_needs_admin(&admin, &current, &grab, Some(&role("role-pagto", "PAGTO"))).is_empty());
        // Role by identifier.
        let by_id = AuthorityClaimUpdate {
            authorisation_domain_role_identifier: Some("role-pagto".into()),
            ..same.clone()
        };
        assert_eq!(
            claim_change_needs_admin(&writer, &current, &by_id, Some(&role("role-pagto", "PAGTO"))),
            ["AuthorisationDomainRoleIdentifier: changing it needs directory:admin"]
        );
        // Active -> Inactive is allowed; Active -> Active is not a change.
        let active = AuthorityClaim {
            status: ResourceStatus::Active,
            ..current.clone()
        };
        assert!(claim_change_needs_admin(&writer, &active, &same, None).is_empty());
        let keep_active = AuthorityClaimUpdate {
            status: ResourceStatus::Active,
            ..same
        };
        assert!(claim_change_needs_admin(&writer, &active, &keep_active, None).is_empty());
    }

    #[test]
    fn admins_see_everything_members_their_own_view() {
        assert_eq!(audience(&who("o", "directory:read")), Audience::Member);
        assert_eq!(audience(&who("o", "directory:read directory:write")), Audience::Member);
        assert_eq!(audience(&who("o", "directory:admin")), Audience::Admin);
        assert_eq!(audience(&who("o", "[directory:admin]")), Audience::Member);
    }
}
