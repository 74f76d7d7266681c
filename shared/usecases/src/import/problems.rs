//! What an invalid import file reports: one line per problem, capped, with the true
//! counts.

/// Most problem lines an import reports; past them problems are only counted, so
/// the output of a hostile file stays small whatever it holds.
pub const MAX_PROBLEM_LINES: usize = 1000;

/// Every problem of an import file: one line each (at most 50 per record, then an
/// `and N more` line; at most [`MAX_PROBLEM_LINES`] in all), and the true counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problems {
    /// `record <index> (<OrganisationId>): <field path>: <rule>`, or a file-level problem.
    pub lines: Vec<String>,
    /// How many problems there are, those past the caps included.
    pub total: usize,
    /// How many records (or the reference data) have problems.
    pub records: usize,
    /// Lines left out past [`MAX_PROBLEM_LINES`].
    pub omitted: usize,
}

impl Problems {
    pub(super) fn file(line: String) -> Self {
        Self {
            lines: vec![line],
            total: 1,
            records: 1,
            omitted: 0,
        }
    }

    /// Adds the problems of one record (or of the reference data, `prefix`),
    /// capped at 50 lines, and at [`MAX_PROBLEM_LINES`] over the whole file.
    pub(super) fn add(&mut self, prefix: &str, problems: Vec<String>) {
        if problems.is_empty() {
            return;
        }
        self.total += problems.len();
        self.records += 1;
        for line in directory_domain::messages::cap_messages(problems) {
            if self.lines.len() < MAX_PROBLEM_LINES {
                self.lines.push(format!("{prefix}: {line}"));
            } else {
                self.omitted += 1;
            }
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The closing line: `N problems in M records; nothing written`.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let omitted = if self.omitted > 0 {
            format!(" ({} more lines not shown)", self.omitted)
        } else {
            String::new()
        };
        format!(
            "{} in {}{omitted}; nothing written",
            plural(self.total, "problem"),
            plural(self.records, "record")
        )
    }
}

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        f.write_str(&self.summary())
    }
}
