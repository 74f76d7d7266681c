//! The caps of every list of messages the directory prints or sends (error bodies,
//! import output), so what it says stays small whatever the input.

/// Most messages an error body lists.
pub const MAX_MESSAGES: usize = 50;
/// Longest message an error body carries, in characters.
pub const MAX_MESSAGE_CHARS: usize = 512;

/// `text` cut to `max` characters, with `…` when cut (for echoing caller input).
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// At most [`MAX_MESSAGES`] of `all`, each clipped to [`MAX_MESSAGE_CHARS`], then one
/// "and N more" line: the cap of every error list (responses and import output).
pub fn cap_messages(all: Vec<String>) -> Vec<String> {
    let extra = all.len().saturating_sub(MAX_MESSAGES);
    let mut out: Vec<String> = all
        .into_iter()
        .take(MAX_MESSAGES)
        .map(|m| clip(&m, MAX_MESSAGE_CHARS))
        .collect();
    if extra > 0 {
        out.push(format!("and {extra} more"));
    }
    out
}
