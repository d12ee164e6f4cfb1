//! The private thread pool and the fixed chunking that keeps results deterministic.
//!
//! Work is cut into chunks whose boundaries depend only on the input's size (never on the
//! thread count); each chunk yields a partial result and partials are combined in chunk order.
//! So results are bitwise identical for 1, 2, 3 or 8 threads, and for the sequential path.
//!
//! The pool is built lazily on first parallel use with [`num_threads`] workers and rebuilt when
//! [`set_num_threads`] changes the count. Small calls stay on the calling thread: entering a
//! Rayon pool costs ~5–50 µs, more than a small call's whole work.

use rayon::prelude::*;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Elements per chunk for elementwise kernels: 2^15 f64 = 256 KiB per input, L2-resident.
/// A multiple of 256 so that every chunk but the last holds whole summation blocks.
pub const CHUNK_ELEMS: usize = 1 << 15;

/// Below this much work (in elements) a call runs on the calling thread. Set so that the
/// sequential part (~2^17 log/exp evaluations ≈ 100 µs) dwarfs the pool entry cost.
pub const PAR_MIN_ELEMS: usize = 1 << 17;

static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);
static POOL: Mutex<Option<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(None);

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
    if threads > 1 && tasks.len() > 1 && work >= PAR_MIN_ELEMS {
        if let Some(pool) = pool(threads) {
            return pool.install(|| tasks.into_par_iter().map(|(r, o)| f(r, o)).collect());
        }
    }
    tasks.into_iter().map(|(r, o)| f(r, o)).collect()
}

/// Rows per chunk for row kernels with `row_len` elements per row: about [`CHUNK_ELEMS`]
/// elements, at least one row.
pub fn rows_per_chunk(row_len: usize) -> usize {
    (CHUNK_ELEMS / row_len.max(1)).max(1)
}
