//! Route matching with 10,000 routes: cost should follow path depth, not route count.

use criterion::{criterion_group, criterion_main, Criterion};
use gateway::spec::RouteMethod;
use gateway::Router;
use std::hint::black_box;

fn build(n: usize) -> Router {
    let mut r = Router::new();
    let mut id = 0;
    for i in 0..n / 4 {
        for (m, p) in [
            (RouteMethod::Get, format!("/svc{i}/items")),
            (RouteMethod::Get, format!("/svc{i}/items/{{id}}")),
            (RouteMethod::Post, format!("/svc{i}/items/{{id}}/actions")),
            (RouteMethod::Any, format!("/svc{i}/files/{{proxy+}}")),
        ] {
            r.insert(m, &p, id).expect("valid");
            id += 1;
        }
    }
    r
}

fn bench(c: &mut Criterion) {
    for n in [100usize, 10_000] {
        let r = build(n);
        let last = n / 4 - 1;
        let exact = format!("/svc{last}/items");
        let param = format!("/svc{last}/items/42");
        let greedy = format!("/svc{last}/files/a/b/c.txt");
        let miss = "/nope/nothing/here".to_string();
        let mut g = c.benchmark_group(format!("router_{n}_routes"));
        g.bench_function("exact", |b| {
            b.iter(|| r.lookup(RouteMethod::Get, black_box(&exact)))
        });
        g.bench_function("param", |b| {
            b.iter(|| r.lookup(RouteMethod::Get, black_box(&param)))
        });
        g.bench_function("greedy", |b| {
            b.iter(|| r.lookup(RouteMethod::Get, black_box(&greedy)))
        });
        g.bench_function("miss", |b| {
            b.iter(|| r.lookup(RouteMethod::Get, black_box(&miss)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
