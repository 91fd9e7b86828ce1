//! `--select KEY=VALUES`: which grid cells the report draws. VALUES is a
//! comma-separated list of values and inclusive ranges `LO..HI`
//! (`eta=0.01..0.05`, `sigma=0.1,0.2`, `activation=sinh,tanh`); a cell
//! matches when its value of KEY is one of them. Several selections must
//! all match.

use crate::error::AnalyzeError;
use crate::runs::show;
use serde_json::Value;
use std::str::FromStr;

/// One `--select KEY=VALUES`.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    pub key: String,
    pub values: Vec<Wanted>,
}

/// One entry of VALUES.
#[derive(Clone, Debug, PartialEq)]
pub enum Wanted {
    /// A value, compared as a number when both sides are numbers, else as
    /// text ("sinh", "true").
    Value(String),
    /// `lo..hi`, both ends included.
    Range(f64, f64),
}

impl FromStr for Selection {
    type Err = AnalyzeError;

    /// Parses `KEY=VALUES`; the error says what is wrong with the text.
    fn from_str(text: &str) -> Result<Self, AnalyzeError> {
        let (key, values) = text
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .ok_or_else(|| {
                AnalyzeError::Parse(format!(
                    "expected KEY=VALUE[,VALUE…] or KEY=LO..HI, got '{text}'"
                ))
            })?;
        let values = values
            .split(',')
            .map(|v| wanted(v.trim()))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            key: key.to_string(),
            values,
        })
    }
}

fn wanted(v: &str) -> Result<Wanted, AnalyzeError> {
    if v.is_empty() {
        return Err(AnalyzeError::Parse("an empty value in the list".into()));
    }
    let Some((lo, hi)) = v.split_once("..") else {
        return Ok(Wanted::Value(v.to_string()));
    };
    let end = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| {
                AnalyzeError::Parse(format!("range '{v}': '{}' is not a number", s.trim()))
            })
    };
    let (lo, hi) = (end(lo)?, end(hi)?);
    if lo > hi {
        return Err(AnalyzeError::Parse(format!(
            "range '{v}' is empty (its start exceeds its end)"
        )));
    }
    Ok(Wanted::Range(lo, hi))
}

impl Selection {
    /// Whether a cell's value of the key (`None`: the cell has no such key)
    /// is one of the wanted ones.
    pub fn matches(&self, value: Option<&Value>) -> bool {
        let Some(value) = value else { return false };
        let number = value.as_f64();
        self.values.iter().any(|w| match (w, number) {
            (Wanted::Range(lo, hi), Some(x)) => *lo <= x && x <= *hi,
            (Wanted::Range(..), None) => false,
            (Wanted::Value(text), Some(x)) if text.parse::<f64>().is_ok() => {
                text.parse::<f64>() == Ok(x)
            }
            (Wanted::Value(text), _) => show(value) == *text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Selection {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_and_lists_select_by_value() {
        let eta = parse("eta=0.01..0.05");
        assert_eq!(eta.values, [Wanted::Range(0.01, 0.05)]);
        assert!(eta.matches(Some(&json!(0.01))) && eta.matches(Some(&json!(0.05))));
        assert!(!eta.matches(Some(&json!(0.1))) && !eta.matches(None));
        let sigma = parse(" sigma = 0.1, 0.2 ");
        assert_eq!(sigma.key, "sigma");
        assert!(sigma.matches(Some(&json!(0.2))) && sigma.matches(Some(&json!(0.10))));
        assert!(!sigma.matches(Some(&json!(0.15))));
        let mixed = parse("m=2..4,10");
        assert!(mixed.matches(Some(&json!(3))) && mixed.matches(Some(&json!(10))));
        assert!(!mixed.matches(Some(&json!(5))));
        let text = parse("activation=sinh,tanh");
        assert!(text.matches(Some(&json!("tanh"))) && !text.matches(Some(&json!("relu"))));
        assert!(parse("hessian=true").matches(Some(&json!(true))));
    }

    #[test]
    fn bad_selections_say_what_is_wrong() {
        for (text, says) in [
            ("eta", "expected KEY=VALUE"),
            ("=0.1", "expected KEY=VALUE"),
            ("eta=", "expected KEY=VALUE"),
            ("eta=0.1,,0.2", "empty value"),
            ("eta=a..0.2", "'a' is not a number"),
            ("eta=0.5..0.1", "is empty"),
        ] {
            let e = text.parse::<Selection>().unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
