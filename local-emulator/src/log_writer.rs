//! Access-log lines reach stdout through one writer thread. A `write` per line cost a quarter of
//! the MOCK route's throughput once stdout was a pipe rather than `/dev/null`
//! (docs/benchmarks.md). The writer sleeps until a line arrives, lets a millisecond's lines
//! gather, and writes them in one call; waking it once per line cost more than the writes it
//! saved. While lines keep arriving it keeps that pace without being woken, and it waits to be
//! woken again only after a millisecond without a line. [`LineWriter::close`] writes what is
//! left before the process ends.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    closed: bool,
    /// The writer sleeps on the condition variable (a notification otherwise costs a system
    /// call for nobody).
    asleep: bool,
}

/// How long the writer lets lines gather once one has arrived.
const GATHER: std::time::Duration = std::time::Duration::from_millis(1);

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    arrived: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) struct LineWriter {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl LineWriter {
    /// A writer to stdout, with its thread started.
    pub(crate) fn stdout() -> std::io::Result<LineWriter> {
        let shared = Arc::new(Shared::default());
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_until_closed(&for_thread, &mut std::io::stdout()))?;
        Ok(LineWriter {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queue one line (without its newline).
    pub(crate) fn line(&self, line: &str) {
        let mut pending = self.shared.lock();
        if pending.closed {
            return;
        }
        pending.lines.extend_from_slice(line.as_bytes());
        pending.lines.push(b'\n');
        let wake = std::mem::take(&mut pending.asleep);
        drop(pending);
        // A writer that is not asleep takes these lines at the end of its current gather.
        if wake {
            self.shared.arrived.notify_one();
        }
    }

    /// Write what is queued and stop the thread; later lines are dropped.
    pub(crate) fn close(&self) {
        let mut pending = self.shared.lock();
        pending.closed = true;
        pending.asleep = false;
        drop(pending);
        self.shared.arrived.notify_one();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for LineWriter {
    /// However `start-api` ends, what was queued is written.
    fn drop(&mut self) {
        self.close();
    }
}

fn write_until_closed(shared: &Shared, out: &mut impl Write) {
    let mut batch = Vec::new();
    // Whether the last gather found nothing. Only then does the writer wait on the condition
    // variable: while lines keep coming it sleeps one GATHER between writes, so under load
    // neither it nor the request threads pay for a wake-up per batch.
    let mut idle = true;
    loop {
        let mut pending = shared.lock();
        if idle {
            while pending.lines.is_empty() && !pending.closed {
                pending.asleep = true;
                pending = shared
                    .arrived
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            pending.asleep = false;
        }
        if !pending.closed {
            drop(pending);
            std::thread::sleep(GATHER);
            pending = shared.lock();
        }
        // Swap buffers: the next lines go into the one this batch emptied.
        std::mem::swap(&mut pending.lines, &mut batch);
        // No line is queued once `closed` is set, so this batch is the last.
        let closed = pending.closed;
        drop(pending);
        idle = batch.is_empty();
        if !idle {
            // A closed pipe or a full disk loses the log, not the requests.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
        }
        if closed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines written by many threads come out whole, each once, and close writes the rest.
    #[test]
    fn every_line_is_written_once_and_whole() {
        let shared = Arc::new(Shared::default());
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = {
            let (shared, out) = (Arc::clone(&shared), Arc::clone(&out));
            std::thread::spawn(move || {
                let mut sink = SharedSink(out);
                write_until_closed(&shared, &mut sink);
            })
        };
        let lines = LineWriter {
            shared: Arc::clone(&shared),
            thread: Mutex::new(Some(writer)),
        };
        std::thread::scope(|s| {
            for t in 0..4 {
                let lines = &lines;
                s.spawn(move || {
                    for i in 0..500 {
                        lines.line(&format!("thread {t} line {i}"));
                    }
                });
            }
        });
        lines.close();
        let text = String::from_utf8(out.lock().expect("out").clone()).expect("utf8");
        let mut got: Vec<&str> = text.lines().collect();
        assert_eq!(got.len(), 2000);
        got.sort_unstable();
        got.dedup();
        assert_eq!(got.len(), 2000, "no line twice");
        assert!(got.iter().all(|l| l.starts_with("thread ")));
        lines.line("after close");
        assert!(!String::from_utf8_lossy(&out.lock().expect("out")).contains("after close"));
    }

    /// A writer that went back to waiting after a quiet gather is woken by the next line, and
    /// each line is written without waiting for more to arrive.
    #[test]
    fn a_line_after_a_quiet_spell_is_written() {
        let shared = Arc::new(Shared::default());
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = {
            let (shared, out) = (Arc::clone(&shared), Arc::clone(&out));
            std::thread::spawn(move || write_until_closed(&shared, &mut SharedSink(out)))
        };
        let lines = LineWriter {
            shared: Arc::clone(&shared),
            thread: Mutex::new(Some(writer)),
        };
        // Waits up to two seconds for `cond`, so a slow machine does not fail the test.
        let until = |cond: &dyn Fn() -> bool| {
            (0..400).any(|_| {
                let met = cond();
                if !met {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                met
            })
        };
        let written = || {
            out.lock()
                .expect("out")
                .iter()
                .filter(|b| **b == b'\n')
                .count()
        };
        for n in 1..=3 {
            lines.line(&format!("line {n}"));
            assert!(until(&|| written() == n), "line {n} was not written");
            // After a gather that finds nothing, the writer waits to be woken.
            assert!(
                until(&|| shared.lock().asleep),
                "the writer waits once lines stop"
            );
        }
        lines.close();
        assert_eq!(
            String::from_utf8_lossy(&out.lock().expect("out")),
            "line 1\nline 2\nline 3\n"
        );
    }

    struct SharedSink(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedSink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("out").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
