//! The private thread pool and the fixed chunking that keeps results deterministic.
//!
//! Work is cut into chunks whose boundaries depend only on the input's size (never on the
//! thread count); each chunk yields a partial result and partials are combined in chunk order.
//! So results are bitwise identical for 1, 2, 3 or 8 threads, and for the sequential path.
//!
//! The pool is built lazily on first parallel use with [`num_threads`] workers and rebuilt when
//! [`set_num_threads`] changes the count. Small calls stay on the calling thread: entering a
//! Rayon pool costs ~5–50 µs, more than a small call's whole work.
//!
//! A call run through [`cancellable`] can be stopped from another thread (the binding does so
//! on Ctrl-C): [`map_chunks`] looks at the call's cancel token before each chunk and, once it
//! is set, unwinds the whole call with a private payload that [`cancellable`] turns into
//! [`Error::Interrupted`]. Unwinding rather than a `Result` through every driver because the
//! drivers' own loops between `map_chunks` calls (grouped windows, in-order combines) must
//! stop too, and they know nothing of cancellation; nothing is left behind (every buffer is
//! dropped on the way out, the pool's workers just pick the next job) and a cancelled call's
//! partial results are never seen.

use crate::error::{Error, Result};
use rayon::prelude::*;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Elements per chunk for elementwise kernels: 2^15 f64 = 256 KiB per input, L2-resident.
/// A multiple of 256 so that every chunk but the last holds whole summation blocks.
pub const CHUNK_ELEMS: usize = 1 << 15;

/// Below this much work (in elements) a call runs on the calling thread. Set so that the
/// sequential part (~2^17 log/exp evaluations ≈ 100 µs) dwarfs the pool entry cost.
pub const PAR_MIN_ELEMS: usize = 1 << 17;

static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);
static POOL: Mutex<Option<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(None);

/// Calls that entered the pool from outside it (`pool.install` from a non-worker thread) and
/// have not left it yet.
static CALLS_IN_POOL: AtomicUsize = AtomicUsize::new(0);

/// Counts one call in [`CALLS_IN_POOL`] while alive (also while a cancelled call unwinds).
struct InPool;

impl InPool {
    fn enter() -> InPool {
        CALLS_IN_POOL.fetch_add(1, Ordering::AcqRel);
        InPool
    }
}

impl Drop for InPool {
    fn drop(&mut self) {
        CALLS_IN_POOL.fetch_sub(1, Ordering::AcqRel);
    }
}

fn default_threads() -> usize {
    std::env::var("PLOGP_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Threads used by parallel kernels (`PLOGP_NUM_THREADS`, else the number of CPUs).
pub fn num_threads() -> usize {
    match NUM_THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = default_threads();
            NUM_THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Set the thread count for later calls (`n ≥ 1`; the caller validates).
pub fn set_num_threads(n: usize) {
    NUM_THREADS.store(n.max(1), Ordering::Relaxed);
}

/// Forget the pool without joining it. For the child of a `fork`: the parent's worker threads
/// do not exist there, so the old pool must be leaked, never dropped or used.
pub fn forget_pool_after_fork() {
    match POOL.try_lock() {
        Ok(mut guard) => {
            if let Some(pool) = guard.take() {
                std::mem::forget(pool);
            }
        }
        // A parent thread held the lock at fork time; it can never be released here, so the
        // child must never ask for the pool again: run sequentially from now on.
        Err(_) => NUM_THREADS.store(1, Ordering::Relaxed),
    }
}

fn pool(threads: usize) -> Option<Arc<rayon::ThreadPool>> {
    let mut guard = POOL.lock().ok()?;
    if let Some((n, pool)) = guard.as_ref() {
        if *n == threads {
            return Some(pool.clone());
        }
    }
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("plogp-{i}"))
            .build()
            .ok()?,
    );
    *guard = Some((threads, pool.clone()));
    Some(pool)
}

/// Split `0..n_items` into chunks of `chunk_items` and run `f` on each, with the matching
/// slice of `out` (`out_per_item` outputs per item) when given. Results come back in chunk order.
/// `work` is the total number of elements touched, used to decide whether to go parallel.
pub fn map_chunks<O, R, F>(
    n_items: usize,
    chunk_items: usize,
    work: usize,
    out: Option<&mut [O]>,
    out_per_item: usize,
    f: F,
) -> Vec<R>
where
    O: Send,
    R: Send,
    F: Fn(Range<usize>, Option<&mut [O]>) -> R + Sync,
{
    let chunk_items = chunk_items.max(1);
    let ranges = (0..n_items.div_ceil(chunk_items))
        .map(move |c| c * chunk_items..((c + 1) * chunk_items).min(n_items));
    let tasks: Vec<(Range<usize>, Option<&mut [O]>)> = match out {
        Some(out) => ranges
            .zip(out.chunks_mut(chunk_items * out_per_item.max(1)).map(Some))
            .collect(),
        None => ranges.map(|r| (r, None)).collect(),
    };
    let threads = num_threads();
    // Taken on the calling thread: the pool's workers have no token of their own. Each chunk
    // runs with it installed, so a nested `map_chunks` inside a chunk stops as well.
    let cancel = current_token();
    let run = |(r, o): (Range<usize>, Option<&mut [O]>)| match &cancel {
        None => f(r, o),
        Some(token) => {
            stop_if_cancelled(token);
            with_token(Some(token.clone()), || f(r, o))
        }
    };
    // A cancellable call from outside the pool while another call is in it runs on its own
    // thread: the pool's workers take a job from outside only once no chunk of the calls they
    // are running is left (Rayon prefers its own deques to injected jobs), so a queued call
    // could neither run nor see its token until the other call is nearly done (seconds), and
    // cancelling it (Ctrl-C) would wait as long. Same chunks, so the same bits either way.
    let outside = rayon::current_thread_index().is_none();
    let queued_behind_another =
        cancel.is_some() && outside && CALLS_IN_POOL.load(Ordering::Acquire) > 0;
    if threads > 1 && tasks.len() > 1 && work >= PAR_MIN_ELEMS && !queued_behind_another {
        if let Some(pool) = pool(threads) {
            let _in_pool = outside.then(InPool::enter);
            return pool.install(|| tasks.into_par_iter().map(run).collect());
        }
    }
    tasks.into_iter().map(run).collect()
}

/// Rows per chunk for row kernels with `row_len` elements per row: about [`CHUNK_ELEMS`]
/// elements, at least one row.
pub fn rows_per_chunk(row_len: usize) -> usize {
    (CHUNK_ELEMS / row_len.max(1)).max(1)
}

// ------------------------------------------------------------------------------ cancellation

thread_local! {
    /// The cancel token of the call running on this thread, if it is cancellable.
    static CANCEL: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// The unwind payload of a cancelled call. Private: only [`cancellable`] catches it, and a
/// real panic is never mistaken for it.
struct Cancelled;

fn current_token() -> Option<Arc<AtomicBool>> {
    CANCEL.with(|c| c.borrow().clone())
}

/// Run `f` with `token` as this thread's cancel token, restoring the previous one afterwards
/// (also when `f` unwinds).
fn with_token<T>(token: Option<Arc<AtomicBool>>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<AtomicBool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CANCEL.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(CANCEL.with(|c| c.replace(token)));
    f()
}

/// Unwind the current call if its token is set. `resume_unwind` does not run the panic hook,
/// so nothing is printed. A build with `panic = "abort"` cannot unwind: it ignores the token
/// and runs every call to the end.
#[inline]
fn stop_if_cancelled(token: &AtomicBool) {
    if cfg!(panic = "unwind") && token.load(Ordering::Relaxed) {
        std::panic::resume_unwind(Box::new(Cancelled));
    }
}

/// Run the kernel call `f` on this thread so that setting `token` (from any thread) stops it:
/// every [`map_chunks`] of the call checks the token before each chunk, so the call ends
/// within one chunk's time per worker (tens of microseconds) and returns
/// [`Error::Interrupted`]. With `token` never set the call runs exactly as without this
/// wrapper (same chunks, same bits). Cancelling one call never affects another: tokens belong
/// to the thread that called `cancellable`. A panic of `f` propagates unchanged.
pub fn cancellable<T>(token: &Arc<AtomicBool>, f: impl FnOnce() -> T) -> Result<T> {
    // AssertUnwindSafe: on cancellation everything `f` touched is dropped or discarded by the
    // caller (a cancelled call's outputs are never returned); other panics are re-raised.
    let run = std::panic::AssertUnwindSafe(|| with_token(Some(token.clone()), f));
    match std::panic::catch_unwind(run) {
        Ok(t) => Ok(t),
        Err(payload) if payload.is::<Cancelled>() => Err(Error::Interrupted),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Sum of `0..n` in chunks, counting the chunks that ran.
    fn chunked_sum(n: usize, ran: &AtomicUsize, after: impl Fn(usize) + Sync) -> u64 {
        map_chunks(n, 1000, n, None::<&mut [u8]>, 0, |r, _| {
            ran.fetch_add(1, Ordering::Relaxed);
            after(r.start);
            r.map(|i| i as u64).sum::<u64>()
        })
        .into_iter()
        .sum()
    }

    #[test]
    fn an_uncancelled_call_is_unchanged() {
        let token = Arc::new(AtomicBool::new(false));
        let ran = AtomicUsize::new(0);
        let n = 1 << 18;
        let got = cancellable(&token, || chunked_sum(n, &ran, |_| {})).unwrap();
        assert_eq!(got, (n as u64 - 1) * n as u64 / 2);
        assert_eq!(ran.load(Ordering::Relaxed), n.div_ceil(1000));
        assert!(current_token().is_none(), "the token outlived the call");
    }

    #[test]
    fn a_cancelled_call_stops_at_a_chunk_boundary() {
        for threads in [1, 3] {
            set_num_threads(threads);
            let token = Arc::new(AtomicBool::new(false));
            let ran = AtomicUsize::new(0);
            let n = 1 << 20; // 1049 chunks of 1000
            let res = cancellable(&token, || {
                // A second `map_chunks` after the first, as the grouped driver's windows do:
                // it must not run either.
                let first = chunked_sum(n, &ran, |start| {
                    if start == 5000 {
                        token.store(true, Ordering::Relaxed);
                    }
                });
                let second = chunked_sum(n, &ran, |_| panic!("ran after cancellation"));
                first + second
            });
            assert_eq!(res, Err(Error::Interrupted));
            // Chunks already started finish; at most one more per worker begins before the
            // store is seen (Relaxed, but each worker re-reads the token per chunk).
            let ran = ran.load(Ordering::Relaxed);
            assert!(ran < 1049, "{threads} threads: {ran} chunks ran");
            assert!(current_token().is_none());
            // The pool is usable afterwards and gives the same result as before.
            let ran2 = AtomicUsize::new(0);
            assert_eq!(chunked_sum(n, &ran2, |_| {}), (n as u64 - 1) * n as u64 / 2);
        }
        set_num_threads(1);
    }

    #[test]
    fn tokens_belong_to_their_call() {
        // Cancelling one call leaves a concurrent call on another thread alone.
        let cancelled = Arc::new(AtomicBool::new(true));
        let free = Arc::new(AtomicBool::new(false));
        let ran = AtomicUsize::new(0);
        std::thread::scope(|s| {
            let a = s.spawn(|| cancellable(&cancelled, || chunked_sum(1 << 18, &ran, |_| {})));
            let b = s.spawn(|| cancellable(&free, || chunked_sum(1 << 18, &ran, |_| {})));
            assert_eq!(a.join().unwrap(), Err(Error::Interrupted));
            let n = 1u64 << 18;
            assert_eq!(b.join().unwrap(), Ok((n - 1) * n / 2));
        });
    }

    #[test]
    fn a_cancelled_call_does_not_wait_for_another_call_in_the_pool() {
        // Call A fills the pool with chunks that block until call B (cancelled before it
        // starts) has returned, or until a 20 s timeout. B queued behind A's chunks would
        // return only after that timeout; it must return while A is still blocked.
        set_num_threads(2);
        let b_done = AtomicBool::new(false);
        let a_started = AtomicBool::new(false);
        let ran = AtomicUsize::new(0);
        let a_ran = AtomicUsize::new(0);
        std::thread::scope(|s| {
            let a = s.spawn(|| {
                chunked_sum(1 << 18, &a_ran, |_| {
                    a_started.store(true, Ordering::Release);
                    let t = std::time::Instant::now();
                    while !b_done.load(Ordering::Acquire)
                        && t.elapsed() < std::time::Duration::from_secs(20)
                    {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                })
            });
            while !a_started.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            let token = Arc::new(AtomicBool::new(true));
            let t = std::time::Instant::now();
            let b = cancellable(&token, || chunked_sum(1 << 18, &ran, |_| {}));
            let waited = t.elapsed();
            b_done.store(true, Ordering::Release);
            assert_eq!(b, Err(Error::Interrupted));
            assert!(
                waited < std::time::Duration::from_secs(10),
                "the cancelled call waited {waited:?} for the other call's chunks"
            );
            let n = 1u64 << 18;
            assert_eq!(a.join().unwrap(), (n - 1) * n / 2);
        });
        set_num_threads(1);
    }

    #[test]
    fn a_panic_is_not_a_cancellation() {
        let token = Arc::new(AtomicBool::new(false));
        let res =
            std::panic::catch_unwind(|| cancellable(&token, || -> u8 { panic!("a real bug") }));
        let payload = res.expect_err("the panic must propagate");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"a real bug"));
    }
}
