//! ns/element of whole kernels on one thread, for small (cache-resident) and large inputs.
//!
//! `cargo run --release -p plogp-core --example kernel_speed [tier]`
//!
//! Each figure is the median of 15 timed repetitions (min–max in brackets). Compare with
//! `math_speed` (the primitives alone) to see what the kernel adds around its logarithms.
//! With `KS_ONCE=N` each kernel runs once on N elements, untimed: for instruction counts with
//! `valgrind --tool=callgrind` (repeatable on a busy machine, unlike times). `KS_ONLY=text`
//! runs only the kernels whose name contains `text` (`KS_ONLY==name`: exactly that one).
//!
//! Rows marked `+option` run the loss-option kernels (`loss_options`) on the same data as the
//! plain row above them: their ratio is the cost of that option.

use plogp_core::simd::{force_tier, Tier};
use plogp_core::{binary, categorical, entropy, loss_options, parallel};
use plogp_core::{LossOptions, NanPolicy, Weights};
use std::hint::black_box;
use std::time::Instant;

fn median_ns(name: &str, n: usize, reps: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    let skip = |only: String| match only.strip_prefix('=') {
        Some(exact) => name != exact,
        None => !name.contains(&only),
    };
    if std::env::var("KS_ONLY").is_ok_and(skip) {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    if std::env::var_os("KS_ONCE").is_some() {
        f();
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut t: Vec<f64> = (0..15)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..reps {
                f();
            }
            t0.elapsed().as_secs_f64() * 1e9 / (reps * n) as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[7], t[0], t[14])
}

fn options<'a>(
    pos_weight: Option<&'a [f64]>,
    class_weight: Option<&'a [f64]>,
    label_smoothing: f64,
    ignore_index: Option<i128>,
) -> LossOptions<'a> {
    LossOptions {
        pos_weight,
        class_weight,
        label_smoothing,
        ignore_index,
    }
}

fn main() {
    parallel::set_num_threads(1);
    if let Some(name) = std::env::args().nth(1) {
        assert!(
            force_tier(Tier::from_name(&name)),
            "tier {name} not supported"
        );
    }
    let mut seed = 1u64;
    let mut unit = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let ns_per_cycle = if std::env::var_os("KS_ONCE").is_none() {
        let ns = cycle_ns();
        println!("clock: {:.2} GHz (timed dependent-add chain)", 1.0 / ns);
        ns
    } else {
        f64::NAN
    };
    let sizes = match std::env::var("KS_ONCE") {
        Ok(n) => vec![n.parse().expect("KS_ONCE must be a number of elements")],
        Err(_) => vec![4096usize, 10_000_000],
    };
    for &n in &sizes {
        let reps = (20_000_000 / n).max(1);
        let y: Vec<f64> = (0..n).map(|_| (unit() < 0.5) as u8 as f64).collect();
        let p: Vec<f64> = (0..n).map(|_| unit()).collect();
        let z32: Vec<f32> = (0..n).map(|_| (unit() * 16.0 - 8.0) as f32).collect();
        let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect();
        let report = |name: &str, r: (f64, f64, f64)| {
            if r.0.is_nan() {
                return; // skipped (KS_ONLY) or untimed (KS_ONCE)
            }
            println!(
                "{name:<34} n={n:<9} {:.2} ns/elem [{:.2}–{:.2}]  {:.1} cycles/elem",
                r.0,
                r.1,
                r.2,
                r.0 / ns_per_cycle
            )
        };
        report(
            "bce_prob_f64",
            median_ns("bce_prob_f64", n, reps, || {
                black_box(
                    binary::bce_prob(
                        &y,
                        &p,
                        f64::EPSILON,
                        Weights::None,
                        NanPolicy::Propagate,
                        None,
                    )
                    .unwrap(),
                );
            }),
        );
        report(
            "bce_logits_f32",
            median_ns("bce_logits_f32", n, reps, || {
                black_box(
                    binary::bce_logits(&y32, &z32, Weights::None, NanPolicy::Propagate, None)
                        .unwrap(),
                );
            }),
        );
        let c = 100;
        let rows = n / c;
        let labels: Vec<i64> = (0..rows).map(|i| (i * 37 % c) as i64).collect();
        report(
            "sparse_ce_logits_f32 C=100",
            median_ns("sparse_ce_logits_f32 C=100", n, reps, || {
                black_box(
                    categorical::sparse_logits(
                        &labels,
                        &z32[..rows * c],
                        rows,
                        c,
                        Weights::None,
                        NanPolicy::Propagate,
                        None,
                    )
                    .unwrap(),
                );
            }),
        );
        let pos_weight = [2.5];
        let class_weight: Vec<f64> = (0..c).map(|k| 0.5 + (k % 7) as f64 / 4.0).collect();
        let (pw, cw) = (Some(&pos_weight[..]), Some(&class_weight[..]));
        let bce_options = [
            ("bce_logits_f32 +pos_weight", options(pw, None, 0.0, None)),
            ("bce_logits_f32 +smoothing", options(None, None, 0.1, None)),
        ];
        for (name, opts) in &bce_options {
            report(
                name,
                median_ns(name, n, reps, || {
                    black_box(
                        loss_options::bce(
                            (&y32).into(),
                            (&z32).into(),
                            None,
                            opts,
                            Weights::None,
                            NanPolicy::Propagate,
                            None,
                        )
                        .unwrap(),
                    );
                }),
            );
        }
        let sparse_options = [
            (
                "sparse_ce_logits_f32 +class_weight",
                options(None, cw, 0.0, None),
            ),
            (
                "sparse_ce_logits_f32 +ignore_index",
                options(None, None, 0.0, Some(-100)),
            ),
            (
                "sparse_ce_logits_f32 +smoothing",
                options(None, None, 0.1, None),
            ),
            (
                "sparse_ce_logits_f32 +all three",
                options(None, cw, 0.1, Some(-100)),
            ),
        ];
        for (name, opts) in &sparse_options {
            report(
                name,
                median_ns(name, n, reps, || {
                    black_box(
                        loss_options::sparse(
                            (&labels).into(),
                            z32[..rows * c].into(),
                            rows,
                            c,
                            None,
                            opts,
                            Weights::None,
                            NanPolicy::Propagate,
                            None,
                        )
                        .unwrap(),
                    );
                }),
            );
        }
        // One-hot targets over 10 classes, probabilities (the `cce_prob_f64` workload).
        let c10 = 10;
        let rows10 = n / c10;
        let onehot: Vec<f64> = (0..rows10 * c10)
            .map(|i| ((i % c10) == (i / c10 * 7) % c10) as u8 as f64)
            .collect();
        report(
            "cce_prob_f64 C=10",
            median_ns("cce_prob_f64 C=10", n, reps, || {
                black_box(
                    categorical::cce_prob(
                        &onehot,
                        &p[..rows10 * c10],
                        rows10,
                        c10,
                        f64::EPSILON,
                        Weights::None,
                        NanPolicy::Propagate,
                        None,
                    )
                    .unwrap(),
                );
            }),
        );
        let mut out = vec![0.0f64; rows];
        let q: Vec<f64> = p.iter().map(|&v| v / 50.0).collect();
        report(
            "entropy_rows_f64 C=100",
            median_ns("entropy_rows_f64 C=100", n, reps, || {
                entropy::entropy(&q[..rows * c], rows, c, 1.0, &mut out).unwrap();
                black_box(&out);
            }),
        );
    }
}

/// Nanoseconds per CPU cycle, from a chain of dependent integer adds (one cycle each on every
/// x86-64 and aarch64 core in use): the clock the kernels actually ran at, turbo included.
fn cycle_ns() -> f64 {
    const ADDS: u64 = 200_000_000;
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t0 = Instant::now();
        let mut x = black_box(0u64);
        for _ in 0..ADDS / 8 {
            // Eight dependent adds per iteration hide the loop's own (independent) counter.
            x = add8(x);
        }
        black_box(x);
        best = best.min(t0.elapsed().as_secs_f64() * 1e9 / ADDS as f64);
    }
    best
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn add8(mut x: u64) -> u64 {
    // SAFETY: register-only arithmetic, no memory access.
    unsafe {
        std::arch::asm!(
            "add {0}, 1", "add {0}, 1", "add {0}, 1", "add {0}, 1",
            "add {0}, 1", "add {0}, 1", "add {0}, 1", "add {0}, 1",
            inout(reg) x,
            options(pure, nomem, nostack)
        );
    }
    x
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
fn add8(mut x: u64) -> u64 {
    // SAFETY: register-only arithmetic, no memory access.
    unsafe {
        std::arch::asm!(
            "add {0}, {0}, 1", "add {0}, {0}, 1", "add {0}, {0}, 1", "add {0}, {0}, 1",
            "add {0}, {0}, 1", "add {0}, {0}, 1", "add {0}, {0}, 1", "add {0}, {0}, 1",
            inout(reg) x,
            options(pure, nomem, nostack)
        );
    }
    x
}
