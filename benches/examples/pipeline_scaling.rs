//! Does the request path scale with cores? The MOCK route of openapi/bench.yaml through
//! `Gateway::handle` (no sockets, so no load generator competes for the cores), from TASKS
//! concurrent tasks on tokio's multi-threaded runtime, REQUESTS in all. tokio sizes its worker
//! pool to the CPUs the process may use, so running it under `taskset -c 0` and `taskset -c 0,1`
//! compares one core with two (`scripts/bench-scaling.sh`). Prints requests per second.
//!
//!   cargo run --release -p tollgate-benches --example pipeline_scaling -- [REQUESTS] [TASKS]

use std::sync::Arc;
use std::time::Instant;

use tollgate_benches::{bench_gateway, get_mock};

fn main() {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(400_000);
    let tasks: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let workers = rt.metrics().num_workers();
    let gw = Arc::new(bench_gateway());
    let per_task = requests / tasks;
    let started = Instant::now();
    rt.block_on(async {
        let mut handles = Vec::with_capacity(tasks);
        for _ in 0..tasks {
            let gw = Arc::clone(&gw);
            handles.push(tokio::spawn(async move {
                for _ in 0..per_task {
                    std::hint::black_box(get_mock(&gw).await);
                    // Let other tasks in, as a server's connections would.
                    tokio::task::yield_now().await;
                }
            }));
        }
        for h in handles {
            h.await.expect("task");
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let done = per_task * tasks;
    println!(
        "workers={workers} tasks={tasks} requests={done} seconds={secs:.3} req/s={:.0}",
        done as f64 / secs
    );
}
