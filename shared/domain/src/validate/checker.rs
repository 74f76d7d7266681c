//! Collects every violation with its field path (`AuthorisationServers[0].Flags[1].Name`).

use super::rules::Text;

/// Accumulates violations as `path: rule` lines.
#[derive(Debug, Default)]
pub struct Checker {
    path: String,
    errors: Vec<String>,
}

impl Checker {
    /// A checker whose paths start at the top level.
    pub fn new() -> Self {
        Self::default()
    }

    /// The violations found, in the order found.
    pub fn into_errors(self) -> Vec<String> {
        self.errors
    }

    /// Whether nothing was found so far.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    fn joined(&self, field: &str) -> String {
        // A field name comes from the input: one that would move a cursor or reorder
        // the line it is printed on is shown escaped.
        let escaped;
        let field = if super::rules::Chars::Line.violation(field).is_some() {
            escaped = field.escape_debug().to_string();
            escaped.as_str()
        } else {
            field
        };
        if self.path.is_empty() {
            field.to_owned()
        } else if field.starts_with('[') {
            format!("{}{field}", self.path)
        } else {
            format!("{}.{field}", self.path)
        }
    }

    /// Runs `f` with the path extended by `field` (a name or `[i]`).
    pub fn within(&mut self, field: &str, f: impl FnOnce(&mut Self)) {
        let inner = self.joined(field);
        let saved = std::mem::replace(&mut self.path, inner);
        f(self);
        self.path = saved;
    }

    /// Runs `f` for each element with the path `field[i]`.
    pub fn each<T>(&mut self, field: &str, items: &[T], mut f: impl FnMut(&mut Self, &T)) {
        for (i, item) in items.iter().enumerate() {
            self.within(&format!("{field}[{i}]"), |c| f(c, item));
        }
    }

    /// Records a violation of `field`.
    pub fn fail(&mut self, field: &str, rule: impl std::fmt::Display) {
        let path = self.joined(field);
        self.errors.push(format!("{path}: {rule}"));
    }

    /// Checks an optional string against `rule`.
    pub fn text(&mut self, field: &str, value: Option<&str>, rule: Text) {
        if let Some(v) = value {
            for problem in rule.violations(v) {
                self.fail(field, problem);
            }
        }
    }

    /// Checks a required string: absent is a violation.
    pub fn required_text(&mut self, field: &str, value: Option<&str>, rule: Text) {
        match value {
            None => self.fail(field, "is required"),
            Some(_) => self.text(field, value, rule),
        }
    }

    /// Checks every element of a string list against `rule` and the list against `max_items`.
    pub fn text_list(&mut self, field: &str, values: &[String], max_items: Option<usize>, rule: Text) {
        if let Some(max) = max_items
            && values.len() > max
        {
            self.fail(field, format!("more than {max} items"));
        }
        for (i, v) in values.iter().enumerate() {
            self.text(&format!("{field}[{i}]"), Some(v), rule);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::rules::{ID40, TEXT255};

    #[test]
    fn paths_nest_with_dots_and_indexes() {
        let mut c = Checker::new();
        c.within("AuthorisationServers[0]", |c| {
            c.each("Flags", &["ok", "<bad>"], |c, v| c.text("Name", Some(v), TEXT255));
        });
        c.required_text("OrganisationId", None, ID40);
        assert_eq!(
            c.into_errors(),
            vec![
                "AuthorisationServers[0].Flags[1].Name: must match ^[^<>]*$ (no '<' or '>')",
                "OrganisationId: is required"
            ]
        );
    }

    #[test]
    fn list_limits_name_the_index() {
        let mut c = Checker::new();
        let items: Vec<String> = (0..17)
            .map(|i| if i == 3 { "x".repeat(256) } else { "ok".into() })
            .collect();
        c.text_list("UniqueTechnicalIdentifiers", &items, Some(16), TEXT255);
        assert_eq!(
            c.into_errors(),
            vec![
                "UniqueTechnicalIdentifiers: more than 16 items",
                "UniqueTechnicalIdentifiers[3]: longer than 255 characters"
            ]
        );
    }
}
