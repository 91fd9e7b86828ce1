//! Panics inside a run are the run's failure, caught and recorded; any
//! other panic is a bug of the engine, which nothing catches.

use crate::error::{Result, SweepError};

/// Runs `f` as a run's work: a panic in it is caught and returned as its
/// message (`panicked: …`), for the run to be recorded as failed.
pub(crate) fn caught<T>(f: impl FnOnce() -> T) -> Result<T> {
    IN_RUN.set(true);
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    IN_RUN.set(false);
    attempt.map_err(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        SweepError::Run(format!("panicked: {text}"))
    })
}

thread_local! {
    /// This thread is inside a run, where a panic is caught and recorded.
    static IN_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a panic now would be caught as a run's failure (a panic hook
/// uses this to abort an MPI job only on panics nobody handles).
pub fn panic_is_caught() -> bool {
    IN_RUN.get()
}
