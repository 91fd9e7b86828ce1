//! The names of the configuration's enums (algorithm, noise, schedule,
//! Hessian method, …): each lists its values in an `ALL` constant with an
//! `as_str`, and parses through [`parse_named`], so that every unknown name
//! gets the same error listing the known ones.

use crate::error::CoreError;

/// Parses one of a `ALL`-listed enum's names, the error listing them all.
pub(crate) fn parse_named<T: Copy>(
    s: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    what: &str,
) -> std::result::Result<T, CoreError> {
    all.iter().copied().find(|v| name(*v) == s).ok_or_else(|| {
        let names: Vec<_> = all.iter().map(|v| name(*v)).collect();
        CoreError::Parse(format!(
            "unknown {what} '{s}' (expected one of {})",
            names.join(", ")
        ))
    })
}
