//! Accuracy of the float32 path: f32 inputs are widened to f64 lanes, computed with the
//! float32-grade primitives (`Real::exp_v` etc. of `f32`: ≤ 2^-32 relative) and rounded once
//! to f32 on output. 2^-32 relative is at most 2^-8 of an f32 ulp, so every result is within
//! 0.5 + 2^-8 ulp of the exact value: the bound tested here (a correctly rounded result
//! except near rounding ties).
//!
//! The reference is the f64 libm value (error ≤ 1 ulp of f64, again ~10^-9 ulp of f32).
//! Functions: `exp`, `ln`, `ln_1p` through the vector path of the best tier (widen, compute,
//! narrow: what every kernel does with f32 data), and `log_sigmoid` (= −softplus(−z)) through
//! the public elementwise kernel on f32 slices.
//!
//! `random_and_edge_inputs` runs 10^7 random plus edge inputs per function (a few seconds);
//! `exhaustive_sweep` tries every one of the 2^32 f32 bit patterns (about 2 minutes per
//! function on two cores): `cargo test --release -p plogp-core --test math_f32 -- --ignored`.

mod common;
use common::Rng;
use plogp_core::activation::{self, Elementwise};
use plogp_core::simd::{run_on, supported_tiers, Simd, WithSimd, LANES};
use plogp_core::Real;

#[derive(Clone, Copy, Debug)]
enum Fun {
    Exp,
    Ln,
    Ln1p,
    LogSigmoid,
}

const FUNS: [Fun; 4] = [Fun::Exp, Fun::Ln, Fun::Ln1p, Fun::LogSigmoid];

/// 0.5 ulp (correct rounding) plus the f64 errors of the method and of the reference.
const BOUND: f64 = 0.5 + 1.0 / 256.0;

/// f32 `x` → f64 lanes → primitive → f32, on the best tier.
struct Map<'a> {
    f: Fun,
    x: &'a [f32],
    out: &'a mut [f32],
}

impl WithSimd for Map<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        for (xc, oc) in self
            .x
            .chunks_exact(LANES)
            .zip(self.out.chunks_exact_mut(LANES))
        {
            let wide: [f64; LANES] = std::array::from_fn(|i| f64::from(xc[i]));
            let v = s.load(&wide);
            let y = match self.f {
                Fun::Exp => f32::exp_v(s, v),
                Fun::Ln => f32::ln_v(s, v),
                Fun::Ln1p => f32::ln_1p_v(s, v),
                Fun::LogSigmoid => unreachable!("log_sigmoid runs through its kernel"),
            };
            for (o, y) in oc.iter_mut().zip(s.store(y)) {
                *o = y as f32;
            }
        }
    }
}

fn eval(f: Fun, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len() % LANES, 0);
    match f {
        Fun::LogSigmoid => activation::elementwise(Elementwise::LogSigmoid, x, out).unwrap(),
        _ => {
            let best = *supported_tiers().last().unwrap();
            if run_on(best, Map { f, x, out }).is_err() {
                panic!("best tier not runnable");
            }
        }
    }
}

/// The f64 libm value of `f` at `x`.
fn reference(f: Fun, x: f64) -> f64 {
    match f {
        Fun::Exp => x.exp(),
        Fun::Ln => x.ln(),
        Fun::Ln1p => x.ln_1p(),
        // −softplus(−x) = min(x, 0) − ln(1 + e^−|x|)
        Fun::LogSigmoid => x.min(0.0) - (-x.abs()).exp().ln_1p(),
    }
}

/// The spacing of f32 values at magnitude `r` (subnormal spacing below the normal range).
fn ulp_f32(r: f64) -> f64 {
    let a = r.abs();
    if a < f64::from(f32::MIN_POSITIVE) {
        2f64.powi(-149)
    } else {
        2f64.powi(a.log2().floor() as i32 - 23)
    }
}

/// Error of `y` in ulps of f32 against the reference `r`; 0 for agreeing special values.
fn ulp_err(y: f32, r: f64) -> f64 {
    let y = f64::from(y);
    if r.is_nan() || y.is_nan() {
        return if r.is_nan() && y.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let rounded = r as f32;
    if rounded.is_infinite() || y.is_infinite() {
        // Overflow: the result must be the rounded (infinite) value.
        return if f64::from(rounded) == y {
            0.0
        } else {
            f64::INFINITY
        };
    }
    (y - r).abs() / ulp_f32(r)
}

/// Max error over `x`, with the worst input.
fn max_err(f: Fun, x: &[f32]) -> (f64, f32) {
    let mut y = vec![0.0f32; x.len()];
    eval(f, x, &mut y);
    let mut worst = (0.0f64, f32::NAN);
    for (&xi, &yi) in x.iter().zip(&y) {
        let e = ulp_err(yi, reference(f, f64::from(xi)));
        if e.is_nan() || e > worst.0 {
            worst = (e, xi);
        }
    }
    worst
}

/// Edge inputs: zeros, subnormals, the ends of the normal range, values around 1 and −1, the
/// overflow and underflow thresholds of exp, infinities and NaN.
fn edges() -> Vec<f32> {
    let mut v = vec![
        0.0,
        -0.0,
        f32::from_bits(1),
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1.0,
        -1.0,
        88.72284,
        88.72283,
        -87.33654,
        -103.97208,
        -103.97209,
        1e-30,
        -1e-30,
    ];
    for x in [1.0f32, -1.0, 0.5, 2.0, 88.0, -104.0] {
        let b = x.to_bits();
        for d in 1..=40u32 {
            v.push(f32::from_bits(b + d));
            v.push(f32::from_bits(b - d));
        }
    }
    let extra: Vec<f32> = v.iter().map(|x| -x).collect();
    v.extend(extra);
    while v.len() % LANES != 0 {
        v.push(1.0);
    }
    v
}

#[test]
fn random_and_edge_inputs() {
    let mut rng = Rng(0xF32);
    // Random bit patterns cover every binade evenly; uniform values in [−100, 100] cover the
    // ranges where exp and log_sigmoid are neither 0 nor infinite.
    let mut x: Vec<f32> = (0..5_000_000)
        .map(|_| f32::from_bits(rng.next() as u32))
        .collect();
    x.extend(
        (0..5_000_000).map(|_| ((rng.next() >> 11) as f64 / 2f64.powi(53) * 200.0 - 100.0) as f32),
    );
    x.extend(edges());
    for f in FUNS {
        let (e, at) = max_err(f, &x);
        eprintln!("{f:?}: max {e:.9} ulp of f32 at {at:e}");
        assert!(e <= BOUND, "{f:?}: {e} ulp at {at:e}");
    }
}

#[test]
#[ignore = "slow: every f32 bit pattern, about 2 minutes per function on two cores"]
fn exhaustive_sweep() {
    const BLOCK: u64 = 1 << 20;
    for f in FUNS {
        let worst = std::sync::Mutex::new((0.0f64, f32::NAN));
        let next = std::sync::atomic::AtomicU64::new(0);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::thread::scope(|sc| {
            for _ in 0..threads {
                sc.spawn(|| loop {
                    let start = next.fetch_add(BLOCK, std::sync::atomic::Ordering::Relaxed);
                    if start >= 1 << 32 {
                        break;
                    }
                    let x: Vec<f32> = (start..start + BLOCK)
                        .map(|b| f32::from_bits(b as u32))
                        .collect();
                    let w = max_err(f, &x);
                    let mut g = worst.lock().unwrap();
                    if w.0.is_nan() || w.0 > g.0 {
                        *g = w;
                    }
                });
            }
        });
        let (e, at) = worst.into_inner().unwrap();
        eprintln!("{f:?}: all 2^32 inputs, max {e:.9} ulp of f32 at {at:e}");
        assert!(e <= BOUND, "{f:?}: {e} ulp at {at:e}");
    }
}
