//! `--set key=value[,value…]`: one key's values from the command line,
//! replacing that key in every `[[grid]]` table.

use super::keys::Keys;
use super::parse::{SEED, SEEDS, unknown_key};
use crate::error::GridError;
use toml::Value as Toml;

/// One parsed `--set`: the key, and its value as if written in the grid file.
pub(crate) struct Override {
    /// `--set key`, where errors about it point.
    pub at: String,
    pub key: String,
    pub value: Toml,
}

/// `key=v` is a scalar, `key=v1,v2,…` a list; each value is read as a TOML
/// scalar (`0.1`, `1e-3`, `true`), a bare word as a string (`tanh`). A whole
/// TOML list or range also works: `eta=[0.1,0.2]`,
/// `eta={ log = [1e-3, 1e-1], num = 5 }`.
pub(crate) fn parse(keys: &Keys, text: &str) -> Result<Override, GridError> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(GridError::new(
            format!("--set {text}"),
            "expected key=value[,value…]",
        ));
    };
    let key = key.trim();
    let at = format!("--set {key}");
    if key.is_empty() {
        return Err(GridError::new(
            format!("--set {text}"),
            "expected key=value[,value…]",
        ));
    }
    if key != SEEDS && keys.position(key).is_none() {
        return Err(unknown_key(keys, &at, key, &[SEEDS, SEED]));
    }
    let whole = toml_value(value).filter(|v| matches!(v, Toml::Array(_) | Toml::Table(_)));
    let value = match whole {
        Some(v) => v,
        None => {
            let mut items = value
                .split(',')
                .map(|item| {
                    let item = item.trim();
                    if item.is_empty() {
                        return Err(GridError::new(&at, format!("empty value in '{text}'")));
                    }
                    Ok(toml_value(item).unwrap_or_else(|| Toml::String(item.to_owned())))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if items.len() == 1 {
                items.remove(0)
            } else {
                Toml::Array(items)
            }
        }
    };
    Ok(Override {
        at,
        key: key.to_owned(),
        value,
    })
}

/// `text` read as the value of a TOML key, if it is one.
fn toml_value(text: &str) -> Option<Toml> {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()?
        .remove("v")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Toml {
        parse(&Keys::new(), text).unwrap().value
    }

    #[test]
    fn values_read_as_toml_scalars_and_bare_words_as_strings() {
        assert_eq!(value("eta=0.1"), Toml::Float(0.1));
        assert_eq!(value("m = 20"), Toml::Integer(20));
        assert_eq!(value("hessian=true"), Toml::Boolean(true));
        assert_eq!(value("activation=tanh"), Toml::String("tanh".into()));
        assert_eq!(
            value("eta=1e-3, 0.1"),
            Toml::Array(vec![Toml::Float(1e-3), Toml::Float(0.1)])
        );
        assert_eq!(
            value("data=x.csv"),
            Toml::String("x.csv".into()),
            "a path is a bare word"
        );
        assert!(matches!(
            value("eta={ log = [1e-3, 1e-1], num = 5 }"),
            Toml::Table(_)
        ));
        assert!(matches!(value("seeds=[0, 3]"), Toml::Array(_)));
    }

    #[test]
    fn malformed_overrides_name_the_flag() {
        let keys = Keys::new();
        let err = |t: &str| parse(&keys, t).err().unwrap().to_string();
        assert_eq!(err("eta"), "--set eta: expected key=value[,value…]");
        assert_eq!(
            err("etaa=0.1"),
            "--set etaa: unknown key 'etaa' (did you mean 'eta'?)"
        );
        assert_eq!(err("eta=0.1,"), "--set eta: empty value in 'eta=0.1,'");
        assert_eq!(err("=3"), "--set =3: expected key=value[,value…]");
    }
}
