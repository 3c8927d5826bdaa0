//! The in-process MOCK request of the `pipeline` bench, a given number of times, under mimalloc
//! as in the `tollgate` binary: a workload for an instruction count, which unlike a timing does
//! not move with the machine's load. The difference between two counts is the requests' own:
//!
//! ```text
//! cargo build --release -p tollgate-benches --example requests
//! valgrind --tool=callgrind --callgrind-out-file=1k.out target/release/examples/requests 1000
//! valgrind --tool=callgrind --callgrind-out-file=11k.out target/release/examples/requests 11000
//! ```
//!
//! (the totals' difference divided by 10,000 is instructions per request).

use tollgate_benches::{bench_gateway, get_mock};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let requests: usize = match std::env::args().nth(1).map(|n| n.parse()) {
        None => 10_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("usage: requests [COUNT]: {e}");
            std::process::exit(2);
        }
    };
    let gw = bench_gateway();
    let rt = tollgate_benches::runtime();
    rt.block_on(async {
        for _ in 0..requests {
            std::hint::black_box(get_mock(&gw).await);
        }
    });
}
