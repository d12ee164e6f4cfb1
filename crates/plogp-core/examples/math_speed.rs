//! ns/element of the math primitives per SIMD tier, one thread, L1-resident data.
//!
//! `cargo run --release -p plogp-core --example math_speed`
//!
//! Each primitive maps a 2048-element f64 buffer (16 KiB in, 16 KiB out) many times; the
//! figure is the median of 15 timed repetitions of ~20 ms each, with the spread (min–max)
//! as its error. Inputs are ordinary values (fast path); the `exp tail` column puts one −inf
//! in every vector, the worst case for the rare path (e.g. padded row tails). The last row
//! times the single-value functions `math::exp`, `math::ln`, `math::ln_1p` (one call each).

use plogp_core::simd::{run_on, supported_tiers, Simd, Tier, WithSimd, LANES};
use std::hint::black_box;
use std::time::Instant;

#[derive(Clone, Copy)]
enum Fun {
    Exp,
    Ln,
    Ln1p,
}

struct Map<'a> {
    f: Fun,
    x: &'a [f64],
    out: &'a mut [f64],
    reps: usize,
}

impl WithSimd for Map<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        for _ in 0..self.reps {
            for (xc, oc) in self
                .x
                .chunks_exact(LANES)
                .zip(self.out.chunks_exact_mut(LANES))
            {
                let v = s.load(xc.try_into().unwrap());
                let y = match self.f {
                    Fun::Exp => s.exp(v),
                    Fun::Ln => s.ln(v),
                    Fun::Ln1p => s.ln_1p(v),
                };
                oc.copy_from_slice(&s.store(y));
            }
            black_box(&mut *self.out);
        }
    }
}

fn time_ns_per_elem(tier: Tier, f: Fun, x: &[f64]) -> (f64, f64, f64) {
    let mut out = vec![0.0; x.len()];
    let run = |reps: usize, out: &mut Vec<f64>| {
        let t = Instant::now();
        if run_on(
            tier,
            Map {
                f,
                x: black_box(x),
                out,
                reps,
            },
        )
        .is_err()
        {
            panic!("tier {tier:?} not supported");
        }
        t.elapsed().as_secs_f64()
    };
    // Calibrate to ~20 ms per repetition.
    let mut reps = 1;
    while run(reps, &mut out) < 0.02 {
        reps *= 2;
    }
    let mut samples: Vec<f64> = (0..15)
        .map(|_| run(reps, &mut out) * 1e9 / (reps * x.len()) as f64)
        .collect();
    samples.sort_by(f64::total_cmp);
    (samples[7], samples[0], samples[14])
}

/// The single-value functions (`math::exp` etc.), called in a plain loop.
fn time_scalar_fn(f: fn(f64) -> f64, x: &[f64]) -> (f64, f64, f64) {
    let run = |reps: usize| {
        let t = Instant::now();
        for _ in 0..reps {
            for &v in black_box(x) {
                black_box(f(v));
            }
        }
        t.elapsed().as_secs_f64()
    };
    let mut reps = 1;
    while run(reps) < 0.02 {
        reps *= 2;
    }
    let mut samples: Vec<f64> = (0..15)
        .map(|_| run(reps) * 1e9 / (reps * x.len()) as f64)
        .collect();
    samples.sort_by(f64::total_cmp);
    (samples[7], samples[0], samples[14])
}

fn main() {
    let n = 2048;
    let mut seed = 0x1234_5678_9ABC_DEF0u64;
    let mut unit = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let exp_x: Vec<f64> = (0..n).map(|_| -50.0 + 60.0 * unit()).collect();
    let ln_x: Vec<f64> = (0..n)
        .map(|_| (1e-6 + unit()) * 10f64.powf(-5.0 + 10.0 * unit()))
        .collect();
    let ln1p_x: Vec<f64> = (0..n).map(|_| -0.9 + 2.0 * unit()).collect();
    let mut tail_x = exp_x.clone();
    for (i, v) in tail_x.iter_mut().enumerate() {
        if i % LANES == LANES - 1 {
            *v = f64::NEG_INFINITY;
        }
    }
    println!("ns/element, 1 thread, {n} f64 in L1 (median of 15, [min, max])");
    println!(
        "{:<8} {:>22} {:>22} {:>22} {:>22}",
        "tier", "exp", "ln", "ln_1p", "exp tail"
    );
    for tier in supported_tiers() {
        let cell = |f: Fun, x: &[f64]| {
            let (m, lo, hi) = time_ns_per_elem(tier, f, x);
            format!("{m:.3} [{lo:.3}, {hi:.3}]")
        };
        println!(
            "{:<8} {:>22} {:>22} {:>22} {:>22}",
            tier.name(),
            cell(Fun::Exp, &exp_x),
            cell(Fun::Ln, &ln_x),
            cell(Fun::Ln1p, &ln1p_x),
            cell(Fun::Exp, &tail_x)
        );
    }
    let cell = |f: fn(f64) -> f64, x: &[f64]| {
        let (m, lo, hi) = time_scalar_fn(f, x);
        format!("{m:.3} [{lo:.3}, {hi:.3}]")
    };
    println!(
        "{:<8} {:>22} {:>22} {:>22}",
        "math::*",
        cell(plogp_core::math::exp, &exp_x),
        cell(plogp_core::math::ln, &ln_x),
        cell(plogp_core::math::ln_1p, &ln1p_x)
    );
}
