//! The grid's key set, derived from [`RunConfig`] through serde rather than
//! kept by hand: a field added to `RunConfig` is a grid key at once, with
//! its type checked by `RunConfig`'s own `Deserialize`.

use serde::de::value::MapDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value as Json;
use sharpsweep_core::config::OuterGen;
use sharpsweep_core::{RunConfig, Source};
use std::fmt;

/// `RunConfig`'s fields in declaration order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Keys {
    names: Vec<String>,
}

impl Keys {
    pub(crate) fn new() -> Self {
        // The fields written only when set are set, so every field is named.
        let every = RunConfig {
            stop_when: Some("loss < 0".parse().expect("a valid condition")),
            stop_check_every: Some(1),
            outer: Source::Generate(OuterGen::Alternating),
            schedule: sharpsweep_core::AnnealKind::Linear,
            eta_end: Some(1.0),
            sigma_end: Some(1.0),
            hessian_method: Some(Default::default()),
            hessian_top_k: Some(1),
            ..RunConfig::default()
        };
        let text = serde_json::to_string(&every).expect("a RunConfig always serialises");
        let names = serde_json::from_str::<FieldOrder>(&text)
            .expect("a RunConfig serialises as a JSON object")
            .0;
        Self { names }
    }

    /// The fields in declaration order, which is the order axes nest in.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Where `key` stands in declaration order, if it is a field at all.
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        self.names.iter().position(|n| n == key)
    }

    /// The configuration of the defaults with `values` (distinct keys) set;
    /// the error is serde's (`invalid type: floating point `1.5`, expected
    /// usize`). `RunConfig` fills the keys not given with its defaults (the
    /// algorithm's own where it has them), so only the given values are
    /// read: a point costs what it sets.
    pub(crate) fn build<'a>(
        &self,
        values: impl IntoIterator<Item = (&'a str, &'a Json)> + Clone,
    ) -> Result<RunConfig, serde_json::Error> {
        let entries = MapDeserializer::<_, serde_json::Error>::new(values.clone().into_iter());
        let mut config = RunConfig::deserialize(entries)?;
        config.apply_algorithm_defaults(|key| values.clone().into_iter().any(|(k, _)| k == key));
        Ok(config)
    }

    /// Whether `value` is of a type `key` accepts.
    pub(crate) fn check(&self, key: &str, value: &Json) -> Result<(), serde_json::Error> {
        self.build([(key, value)]).map(drop)
    }

    /// Whether `key` takes any number (a float key), so a number needs no
    /// check of its own.
    pub(crate) fn takes_any_number(&self, key: &str) -> bool {
        [
            Json::from(-1),
            Json::from(0.5),
            Json::from(u64::MAX),
            Json::from(i64::MIN),
        ]
        .iter()
        .all(|v| self.check(key, v).is_ok())
    }

    /// Whether `key` takes integers only (so a range must land on integers).
    pub(crate) fn takes_integers_only(&self, key: &str) -> bool {
        self.check(key, &Json::from(1)).is_ok() && self.check(key, &Json::from(0.5)).is_err()
    }
}

/// The keys of a JSON object in the order they appear (serde_json's own map
/// sorts them).
struct FieldOrder(Vec<String>);

impl<'de> Deserialize<'de> for FieldOrder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = FieldOrder;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldOrder, A::Error> {
                let mut names = Vec::new();
                while let Some((k, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                    names.push(k);
                }
                Ok(FieldOrder(names))
            }
        }
        d.deserialize_map(Keys)
    }
}

/// The candidate closest to a misspelt `key`, if one is close enough to be
/// what was meant (at most two edits, and fewer than the key's length).
pub(crate) fn suggest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(key, c), c))
        .filter(|&(d, _)| d <= 2 && d < key.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_run_config_fields_in_declaration_order() {
        let keys = Keys::new();
        let names: Vec<_> = keys.names().collect();
        assert_eq!(names[..3], ["algorithm", "activation", "beta"]);
        assert!(keys.position("eta") < keys.position("sigma"));
        assert!(names.contains(&"cluster_tol") && names.contains(&"batch_size"));
        assert_eq!(keys.build([]).unwrap(), RunConfig::default());
    }

    #[test]
    fn types_come_from_run_config() {
        let keys = Keys::new();
        assert!(keys.takes_integers_only("m"));
        assert!(keys.takes_integers_only("batch_size"));
        assert!(!keys.takes_integers_only("eta"));
        assert!(keys.takes_any_number("eta") && keys.takes_any_number("sigma"));
        assert!(!keys.takes_any_number("m") && !keys.takes_any_number("steps"));
        assert!(!keys.takes_any_number("activation") && !keys.takes_any_number("hessian"));
        assert!(keys.check("eta", &Json::from(1)).is_ok());
        let err = keys.check("m", &Json::from(1.5)).unwrap_err().to_string();
        assert!(err.contains("expected usize"), "{err}");
        assert!(keys.check("activation", &Json::from("tanh")).is_ok());
        assert!(keys.check("activation", &Json::from("tanhh")).is_err());
    }

    #[test]
    fn misspelt_keys_get_the_nearest_name() {
        let names = ["eta", "sigma", "batch_size", "m", "steps"];
        assert_eq!(suggest("etaa", names.into_iter()), Some("eta"));
        assert_eq!(suggest("batch-size", names.into_iter()), Some("batch_size"));
        assert_eq!(suggest("sigm", names.into_iter()), Some("sigma"));
        assert_eq!(suggest("lr", names.into_iter()), None);
        assert_eq!(suggest("x", names.into_iter()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
