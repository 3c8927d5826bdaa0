//! Criterion benchmarks of the gateway library live under `benches/`; this crate exists so that
//! criterion stays out of the test build (`scripts/test.sh` excludes it). Run them with
//! `cargo bench -p tollgate-benches`.
