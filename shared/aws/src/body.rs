//! How entity bodies are stored in the `Data` and `PrevData` attributes: the JSON,
//! zlib-compressed, as a binary attribute. DynamoDB bills reads and writes by item
//! size and these bodies compress 2–3×, so every read of an organisation costs about
//! a third less (the export reads each one). Readers also take a string attribute:
//! the plain JSON of tables written before.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::borrow::Cow;
use std::cell::RefCell;

/// What a body that cannot be inflated reads as: not JSON, so parsing it fails as a
/// corrupt item naming its key (never a panic, never a silently missing item).
const UNREADABLE: &str = "\u{0}unreadable compressed body";

thread_local! {
    // One (de)compressor per thread, reset per body: a new deflate state is a large
    // zeroed allocation, which cost more than compressing a small body (profiled on
    // the import and the export).
    // Level 1: on these small documents it compresses within 2% of the default level,
    // at a fraction of the CPU (measured on generated organisations).
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), true));
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(true));
}

/// The attribute value of a JSON body.
pub fn encode(json: &str) -> AttributeValue {
    match DEFLATE.with_borrow_mut(|z| deflate(z, json.as_bytes())) {
        Some(bytes) => AttributeValue::B(Blob::new(bytes)),
        // Not expected from an in-memory stream; readers take the plain JSON too.
        None => AttributeValue::S(json.to_owned()),
    }
}

fn deflate(z: &mut Compress, input: &[u8]) -> Option<Vec<u8>> {
    z.reset();
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    loop {
        let consumed = usize::try_from(z.total_in()).ok()?;
        match z
            .compress_vec(input.get(consumed..)?, &mut out, FlushCompress::Finish)
            .ok()?
        {
            Status::StreamEnd => return Some(out),
            // The output is full: room for as much again.
            _ => out.reserve(out.capacity().max(64)),
        }
    }
}

fn inflate(z: &mut Decompress, input: &[u8]) -> Option<String> {
    z.reset(true);
    let mut out = Vec::with_capacity(input.len() * 3 + 64);
    loop {
        let (consumed, produced) = (z.total_in(), z.total_out());
        let status = z
            .decompress_vec(
                input.get(usize::try_from(consumed).ok()?..)?,
                &mut out,
                FlushDecompress::None,
            )
            .ok()?;
        match status {
            Status::StreamEnd => return String::from_utf8(out).ok(),
            _ if out.len() == out.capacity() => out.reserve(out.capacity()),
            // Room left, yet no progress: the input ends before the stream does.
            _ if (z.total_in(), z.total_out()) == (consumed, produced) => return None,
            _ => {}
        }
    }
}

/// The compressed bytes of a JSON body (what [`encode`] stores as binary).
pub fn compress(json: &str) -> Vec<u8> {
    DEFLATE
        .with_borrow_mut(|z| deflate(z, json.as_bytes()))
        .unwrap_or_default()
}

/// The JSON of compressed bytes, `None` when they do not inflate to UTF-8.
pub fn inflate_bytes(bytes: &[u8]) -> Option<String> {
    INFLATE.with_borrow_mut(|z| inflate(z, bytes))
}

/// The JSON of a body attribute: inflated from binary, as is from a string; `None`
/// for any other attribute type.
pub fn decode(value: &AttributeValue) -> Option<Cow<'_, str>> {
    match value {
        AttributeValue::S(s) => Some(Cow::Borrowed(s)),
        AttributeValue::B(b) => Some(match INFLATE.with_borrow_mut(|z| inflate(z, b.as_ref())) {
            Some(json) => Cow::Owned(json),
            None => Cow::Borrowed(UNREADABLE),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_smaller_and_strings_still_read() {
        let json =
            r#"{"OrganisationId":"a","OrganisationName":"Banco Ação","Tags":["x","x","x","x","x","x"]}"#.repeat(8);
        let stored = encode(&json);
        assert!(stored.as_b().unwrap().as_ref().len() < json.len() / 2);
        assert_eq!(decode(&stored).as_deref(), Some(json.as_str()));
        assert_eq!(decode(&AttributeValue::S("{}".into())).as_deref(), Some("{}"));
        assert_eq!(decode(&AttributeValue::N("1".into())), None);
        let garbage = AttributeValue::B(Blob::new(b"not zlib".to_vec()));
        assert!(serde_json::from_str::<serde_json::Value>(&decode(&garbage).unwrap()).is_err());
    }

    #[test]
    fn reused_state_round_trips_bodies_of_any_size_and_refuses_truncated_ones() {
        // Little redundancy (the output outgrows its first guess) and much, in turns,
        // through the same thread's (de)compressor.
        let noisy: String = (0..20_000u32)
            .map(|i| format!("{:x}", i.wrapping_mul(2_654_435_761)))
            .collect();
        for json in [
            format!("{{\"x\":\"{noisy}\"}}"),
            "{}".to_owned(),
            "[1]".repeat(50_000),
            String::new(),
        ] {
            let stored = encode(&json);
            assert!(stored.is_b());
            assert_eq!(decode(&stored).as_deref(), Some(json.as_str()));
            let bytes = stored.as_b().unwrap().as_ref();
            let cut = AttributeValue::B(Blob::new(bytes[..bytes.len() / 2].to_vec()));
            assert_eq!(decode(&cut).as_deref(), Some(UNREADABLE));
        }
        let not_utf8 = {
            let mut z = Compress::new(Compression::fast(), true);
            deflate(&mut z, &[0xff, 0xfe, 0x00]).unwrap()
        };
        assert_eq!(
            decode(&AttributeValue::B(Blob::new(not_utf8))).as_deref(),
            Some(UNREADABLE)
        );
    }
}
