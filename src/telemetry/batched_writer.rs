//! Log lines gathered in memory and written out by one background thread in
//! batches, the way web servers buffer their access logs.
//!
//! tracing-appender's non-blocking writer hands every line to its thread through a
//! channel and wakes that thread for it: system calls on every request (a `write`,
//! `futex` wake-ups, `sched_yield`s) on top of the thread's own run. Here a request
//! thread only appends its line under a mutex; the writer thread wakes every
//! [`FLUSH_EVERY`], at once for a warning or an error, or when the batch grows
//! large, and writes what is waiting in one go.
//!
//! Nothing is dropped: a writer finding [`BATCH_LIMIT`] bytes waiting (the output
//! is stuck) waits for room. What a `SIGKILL` can lose is the lines of the last
//! [`FLUSH_EVERY`]; an orderly exit writes everything (see [`FlushOnDrop`]).

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in memory before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Waiting bytes that make the writer thread write at once…
const EARLY_WRITE_AT: usize = 256 * 1024;
/// …and that make request threads wait for room.
const BATCH_LIMIT: usize = 1024 * 1024;

#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// A warning or error is waiting: write without waiting out the interval.
    urgent: bool,
    closing: bool,
}

#[derive(Default)]
struct Shared {
    batch: Mutex<Batch>,
    /// Wakes the writer thread early (urgent line, big batch, closing).
    wake_writer: Condvar,
    /// Wakes request threads waiting for room.
    room: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Batch> {
        // A panic while holding the lock leaves only bytes in a Vec: still usable.
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `MakeWriter` for the fmt subscriber.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Keep alive while logging: dropping it writes what is waiting and stops the thread.
pub struct FlushOnDrop {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread writing batches to `output` at least every `flush_every`
/// ([`FLUSH_EVERY`] for the server's log).
pub fn batched_writer(
    output: impl Write + Send + 'static,
    flush_every: Duration,
) -> (BatchedWriter, FlushOnDrop) {
    let shared = Arc::new(Shared::default());
    let thread_shared = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-writer".to_owned())
        .spawn(move || write_batches(&thread_shared, output, flush_every))
        .expect("the log writer thread starts");
    (
        BatchedWriter {
            shared: shared.clone(),
        },
        FlushOnDrop {
            shared,
            thread: Some(thread),
        },
    )
}

fn write_batches(shared: &Shared, mut output: impl Write, flush_every: Duration) {
    // Two buffers swapped back and forth: no allocation once they have grown.
    let mut spare = Vec::new();
    loop {
        let mut batch = shared.lock();
        while batch.bytes.is_empty() && !batch.closing {
            batch = shared
                .wake_writer
                .wait(batch)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if !(batch.urgent || batch.closing || batch.bytes.len() >= EARLY_WRITE_AT) {
            batch = shared
                .wake_writer
                .wait_timeout_while(batch, flush_every, |batch| {
                    !(batch.urgent || batch.closing || batch.bytes.len() >= EARLY_WRITE_AT)
                })
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        std::mem::swap(&mut batch.bytes, &mut spare);
        batch.urgent = false;
        let closing = batch.closing;
        drop(batch);
        shared.room.notify_all();
        // Nowhere to report a failing log output but the output itself: carry on.
        let _ = output.write_all(&spare).and_then(|()| output.flush());
        spare.clear();
        if closing && shared.lock().bytes.is_empty() {
            return;
        }
    }
}

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake_writer.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One line's writer: the fmt subscriber writes each event with one `write_all`.
pub struct LineWriter<'a> {
    shared: &'a Shared,
    urgent: bool,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut batch = self.shared.lock();
        while batch.bytes.len() >= BATCH_LIMIT && !batch.closing {
            batch = self
                .shared
                .room
                .wait(batch)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let was_empty = batch.bytes.is_empty();
        batch.bytes.extend_from_slice(line);
        batch.urgent |= self.urgent;
        let wake = was_empty || self.urgent || batch.bytes.len() >= EARLY_WRITE_AT;
        drop(batch);
        // The writer thread sleeps only while nothing waits: the first line of a
        // batch wakes it to start the interval; later lines need not.
        if wake {
            self.shared.wake_writer.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
            urgent: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use super::*;

    /// An output that records what reached it and how many writes it took.
    #[derive(Clone, Default)]
    struct Recorded {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<AtomicUsize>,
    }

    impl Write for Recorded {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.bytes.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Recorded {
        fn text(&self) -> String {
            String::from_utf8(self.bytes.lock().unwrap().clone()).unwrap()
        }
    }

    /// Longer than any test runs: a line that arrives did not wait out the interval.
    const NEVER: Duration = Duration::from_secs(120);

    fn info_line(writer: &BatchedWriter, line: &str) {
        writer.make_writer().write_all(line.as_bytes()).unwrap();
    }

    #[test]
    fn lines_written_together_reach_the_output_in_one_write_within_the_interval() {
        let output = Recorded::default();
        let (writer, _guard) = batched_writer(output.clone(), FLUSH_EVERY);
        for n in 0..100 {
            info_line(&writer, &format!("line {n}\n"));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while output.text().lines().count() < 100 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let expected: String = (0..100).map(|n| format!("line {n}\n")).collect();
        assert_eq!(output.text(), expected);
        assert!(
            output.writes.load(Ordering::SeqCst) <= 2,
            "100 lines took {} writes",
            output.writes.load(Ordering::SeqCst)
        );
    }

    #[test]
    fn a_warning_is_written_without_waiting_out_the_interval() {
        let output = Recorded::default();
        let (writer, _guard) = batched_writer(output.clone(), NEVER);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("quiet");
            tracing::warn!("loud");
            let deadline = Instant::now() + Duration::from_secs(30);
            while !output.text().contains("loud") && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let text = output.text();
        let (quiet, loud) = (text.find("quiet"), text.find("loud"));
        assert!(loud.is_some(), "the warning waited for the interval: {text:?}");
        assert!(quiet < loud, "the lines came out of order: {text:?}");
    }

    #[test]
    fn dropping_the_guard_writes_everything_waiting() {
        let output = Recorded::default();
        let (writer, guard) = batched_writer(output.clone(), NEVER);
        for n in 0..1000 {
            info_line(&writer, &format!("line {n}\n"));
        }
        let started = Instant::now();
        drop(guard);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the drop waited out the interval"
        );
        assert_eq!(output.text().lines().count(), 1000);
    }

    #[test]
    fn a_stuck_output_makes_writers_wait_rather_than_drop_lines() {
        /// An output that blocks until released.
        struct Stuck(Arc<(Mutex<bool>, Condvar)>, Recorded);
        impl Write for Stuck {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                let (released, changed) = &*self.0;
                let mut released = released.lock().unwrap();
                while !*released {
                    released = changed.wait(released).unwrap();
                }
                self.1.write(bytes)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let output = Recorded::default();
        let (writer, guard) = batched_writer(Stuck(gate.clone(), output.clone()), FLUSH_EVERY);
        let line = format!("{}\n", "x".repeat(1023));
        let lines = 3 * BATCH_LIMIT / line.len();
        let producer = std::thread::spawn({
            let (writer, line) = (writer.clone(), line.clone());
            move || (0..lines).for_each(|_| info_line(&writer, &line))
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(!producer.is_finished(), "3 MiB went into a 1 MiB batch");
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        producer.join().unwrap();
        drop(guard);
        assert_eq!(output.text().len(), lines * line.len());
    }
}
