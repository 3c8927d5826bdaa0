//! Allocations per request on the MOCK route of openapi/bench.yaml, through the whole pipeline in
//! process (the same set-up as the `pipeline` bench, access-log line included): how many times a
//! request asks the allocator for memory, and how many bytes. Deterministic, unlike a timing, so a
//! change that removes work shows exactly.
//!
//! `cargo run --release -p tollgate-benches --example allocations`

use std::alloc::System;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use tollgate_benches::{bench_gateway, get_mock};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const REQUESTS: usize = 10_000;

fn main() {
    let gw = bench_gateway();
    let rt = tollgate_benches::runtime();
    // Warm: first-use caches and lazily built tables are not per-request costs.
    rt.block_on(async {
        for _ in 0..100 {
            get_mock(&gw).await;
        }
    });
    let region = Region::new(GLOBAL);
    rt.block_on(async {
        for _ in 0..REQUESTS {
            std::hint::black_box(get_mock(&gw).await);
        }
    });
    let stats = region.change();
    let per = |n: usize| n as f64 / REQUESTS as f64;
    println!("| route | allocations per request | reallocations | bytes allocated per request |");
    println!("|---|---|---|---|");
    println!(
        "| GET /mock (MOCK, in process) | {:.1} | {:.1} | {:.0} |",
        per(stats.allocations),
        per(stats.reallocations),
        per(stats.bytes_allocated + stats.bytes_reallocated.max(0) as usize)
    );
}
