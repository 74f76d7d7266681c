//! Reading an import file as a stream: the top-level object's reference lists are
//! collected, its `Organisations` handed over one raw record at a time, so no pass
//! holds more than one record of the file (docs/design.md, "Import format").

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt;
use std::io::Read;

/// A file on disk to import (read once per pass).
#[derive(Debug, Clone)]
pub struct FileSource(pub std::path::PathBuf);

/// What a pass does with the parts of the file, in file order.
pub trait Visit {
    /// A top-level member other than `Organisations` (the reference lists).
    fn member(&mut self, key: String, value: Value);
    /// Whether records are wanted (or only counted).
    fn wants_records(&self) -> bool;
    /// Organisation record `i`; an `Err` stops the pass.
    fn record(&mut self, i: usize, raw: Box<RawValue>) -> Result<(), String>;
    /// The number of records, once the list is read.
    fn records(&mut self, count: usize);
}

/// Reads the whole file once through `visit`; the error is a file-level problem.
pub fn scan(reader: impl Read, visit: &mut dyn Visit) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    de.deserialize_map(Top { visit })
        .map_err(|e| format!("not a valid import file (a JSON object): {e}"))?;
    de.end()
        .map_err(|e| format!("not a valid import file (a JSON object): {e}"))
}

struct Top<'v> {
    visit: &'v mut dyn Visit,
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut organisations = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Organisations" {
                if organisations {
                    return Err(serde::de::Error::custom("Organisations: given twice"));
                }
                organisations = true;
                map.next_value_seed(Records {
                    visit: &mut *self.visit,
                })?;
            } else {
                let value: Value = map.next_value()?;
                self.visit.member(key, value);
            }
        }
        Ok(())
    }
}

struct Records<'v> {
    visit: &'v mut dyn Visit,
}

impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Organisations: an array")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.visit.records(0);
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        if self.visit.wants_records() {
            while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
                self.visit.record(i, raw).map_err(serde::de::Error::custom)?;
                i += 1;
            }
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {
                i += 1;
            }
        }
        self.visit.records(i);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        members: Vec<String>,
        records: Vec<String>,
        count: Option<usize>,
        wants: bool,
    }

    impl Visit for Collect {
        fn member(&mut self, key: String, _: Value) {
            self.members.push(key);
        }
        fn wants_records(&self) -> bool {
            self.wants
        }
        fn record(&mut self, _: usize, raw: Box<RawValue>) -> Result<(), String> {
            self.records.push(raw.get().to_owned());
            Ok(())
        }
        fn records(&mut self, count: usize) {
            self.count = Some(count);
        }
    }

    #[test]
    fn records_come_one_at_a_time_whatever_the_member_order() {
        let file = br#"{"Organisations": [{"a":1}, {"b":[2]}], "Authorities": []}"#;
        let mut c = Collect {
            wants: true,
            ..Default::default()
        };
        scan(&file[..], &mut c).unwrap();
        assert_eq!(c.records, [r#"{"a":1}"#, r#"{"b":[2]}"#]);
        assert_eq!(c.members, ["Authorities"]);
        assert_eq!(c.count, Some(2));
        let mut counted = Collect::default();
        scan(&file[..], &mut counted).unwrap();
        assert!(counted.records.is_empty());
        assert_eq!(counted.count, Some(2));
    }

    #[test]
    fn file_problems_are_named() {
        for (file, needle) in [
            (&b"[1]"[..], "a JSON object"),
            (br#"{"Organisations": 3}"#, "Organisations: an array"),
            (br#"{"Organisations": [], "Organisations": []}"#, "given twice"),
            (br#"{"Organisations": [] } x"#, "trailing"),
            (br#"{"Organisations": [{"a": }]}"#, "not a valid import file"),
        ] {
            let err = scan(file, &mut Collect::default()).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
        let mut c = Collect::default();
        scan(&br#"{"Organisations": null}"#[..], &mut c).unwrap();
        assert_eq!(c.count, Some(0));
    }
}
