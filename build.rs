// Empty on purpose: the package has [build-dependencies] only to pin syn's
// features, which keeps `--features mpi` from rebuilding the proc macros
// (the comment above them in Cargo.toml).
fn main() {}
