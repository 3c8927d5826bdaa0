//! The whole pipeline on the MOCK route of openapi/bench.yaml, in process (no sockets): routing,
//! the request and response templates, ids, the access-log hook. Regressions in per-request work
//! show here before any load test.

use criterion::{criterion_group, criterion_main, Criterion};
use tollgate_benches::{bench_gateway, get_mock};

// The allocator the tollgate binary uses: allocation costs here are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let gw = bench_gateway();
    let rt = tollgate_benches::runtime();
    c.bench_function("pipeline: GET /mock, whole response read", |b| {
        b.iter(|| rt.block_on(async { std::hint::black_box(get_mock(&gw).await) }))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
