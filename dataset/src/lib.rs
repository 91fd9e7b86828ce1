//! The sharpsweep dataset contract, in the spirit of arrow-schema: what a
//! dataset looks like on disk and how to tell which of its rows exist.
//!
//! * [`layout`]: directories, file names, part names;
//! * [`metadata`]: the schema version, the footer's metadata keys, the
//!   status values;
//! * [`schema`]: every column of every file, with its type, unit and
//!   formula (docs/schema.md is generated from it);
//! * [`mod@write`]: how every file is written (atomically, sealed with a
//!   checksum), and [`checksum`]: how it is checked;
//! * [`state`]: which parts are live, replaced, damaged or unpaired.
//!
//! The engine (`sharpsweep-sweep`) writes datasets and `sharpsweep-analyze`
//! reads them; both go through this crate and neither through the other.

pub mod checksum;
mod encode;
pub mod layout;
pub mod metadata;
pub mod schema;
pub mod state;
mod strings;
pub mod write;

pub use checksum::{Verdict, verify};
pub use layout::Layout;
pub use state::{Check, Damage, Done, Part, PartRun, State, check_single_run, verify_all};
pub use strings::{decode_all, key_value, key_values, read_batches};
