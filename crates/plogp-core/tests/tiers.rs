//! Every SIMD tier this machine supports gives the Scalar tier's bits.
//!
//! Three levels: each `Simd` operation on random and special lanes; the math primitives on
//! 10^6 inputs per function (plus the scalar `math::*` functions, which must equal the lanes);
//! and every public kernel (plain losses, loss options, focal losses, gradients, grouped
//! entry points, activations), forced onto each tier with `force_tier`, on lengths 0..=130 and
//! 2^k ± 1, sub-slices at offsets 0..8, and inputs sprinkled with 0, subnormals, 1 − ε, 1,
//! NaN and ±inf. Kernel outputs are compared bit for bit except that any NaN equals any NaN
//! (NaN payloads of arithmetic are not specified); the math primitives are compared exactly,
//! NaN payloads included.
//!
//! `force_tier` is process-wide and tests run in parallel threads, so every test that forces
//! a tier holds `LOCK`.

mod common;
use common::Rng;
use plogp_core::activation::{self, Elementwise, RowMap};
use plogp_core::focal::{self, ClassAlpha, Focus};
use plogp_core::grouped::{self, GroupIds, GroupTotals};
use plogp_core::simd::{force_tier, run_on, supported_tiers, Simd, Tier, WithSimd, LANES};
use plogp_core::{binary, categorical, entropy, grad, loss_options, math, LossOptions};
use plogp_core::{NanPolicy, Totals, Weights};
use std::sync::{Mutex, MutexGuard};

static LOCK: Mutex<()> = Mutex::new(());

/// Holds `LOCK`; restores the default tier when dropped (also on panic).
struct Forced(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Forced {
    fn take() -> Forced {
        Forced(LOCK.lock().unwrap_or_else(|e| e.into_inner()))
    }
    fn set(&self, tier: Tier) {
        assert!(
            force_tier(Some(tier)),
            "{tier:?} is supported but cannot be forced"
        );
    }
}

impl Drop for Forced {
    fn drop(&mut self) {
        force_tier(None);
    }
}

fn other_tiers() -> Vec<Tier> {
    supported_tiers()
        .into_iter()
        .filter(|&t| t != Tier::Scalar)
        .collect()
}

#[test]
fn tiers_are_detected() {
    let tiers = supported_tiers();
    assert_eq!(tiers[0], Tier::Scalar);
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        assert_eq!(tiers.contains(&Tier::Avx2), avx2);
        assert_eq!(
            tiers.contains(&Tier::Avx512),
            avx2 && is_x86_feature_detected!("avx512f")
        );
    }
    assert_eq!(tiers.contains(&Tier::Neon), cfg!(target_arch = "aarch64"));
    eprintln!("supported tiers: {tiers:?}");
    // An unsupported tier cannot be forced and changes nothing.
    if !Tier::Avx512.is_supported() {
        let _g = Forced::take();
        assert!(!force_tier(Some(Tier::Avx512)));
    }
}

// ---------------------------------------------------------------------------------------
// Random inputs.

const SUB: f64 = 5e-324;
const ONE_MINUS_EPS: f64 = 1.0 - f64::EPSILON;
const ONE_MINUS_HALF_EPS: f64 = 1.0 - f64::EPSILON / 2.0;

/// Special probabilities (valid inputs of probability kernels).
const PROB_SPECIALS: [f64; 16] = [
    0.0,
    SUB,
    1e-310,
    f64::MIN_POSITIVE,
    1e-300,
    1e-20,
    1e-8,
    0.1,
    0.25,
    0.5,
    0.75,
    0.9,
    ONE_MINUS_HALF_EPS,
    ONE_MINUS_EPS,
    1.0,
    f64::NAN,
];

/// Special logits (any real).
const LOGIT_SPECIALS: [f64; 27] = [
    0.0,
    -0.0,
    SUB,
    -SUB,
    1e-300,
    1.0,
    -1.0,
    20.0,
    -20.0,
    36.7,
    -36.7,
    700.0,
    -700.0,
    709.9,
    -709.9,
    745.2,
    -745.2,
    800.0,
    -800.0,
    1e300,
    -1e300,
    f64::MAX,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    ONE_MINUS_EPS,
    1e-8,
];

/// A probability: uniform, or a special value with probability 1/8.
fn prob(r: &mut Rng) -> f64 {
    if r.below(8) == 0 {
        r.pick(&PROB_SPECIALS)
    } else {
        r.unit()
    }
}

/// A probability that is never NaN (for inputs where NaN would hide everything else).
fn prob_finite(r: &mut Rng) -> f64 {
    let p = prob(r);
    if p.is_nan() {
        0.5
    } else {
        p
    }
}

fn logit(r: &mut Rng) -> f64 {
    if r.below(8) == 0 {
        r.pick(&LOGIT_SPECIALS)
    } else {
        (r.unit() - 0.5) * 60.0
    }
}

fn logit_finite(r: &mut Rng) -> f64 {
    let z = logit(r);
    if z.is_finite() {
        z
    } else {
        3.0
    }
}

// ---------------------------------------------------------------------------------------
// Level 1: each operation of the trait.

/// Which lane operation to apply (the op is chosen at run time so that one `WithSimd`
/// struct covers them all).
#[derive(Clone, Copy, Debug)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    MulAdd,
    Min,
    Max,
    Abs,
    Neg,
    Lt,
    Le,
    Eq,
    Ne,
    IsNan,
    And,
    Or,
    AnyAll,
    Select,
    Bits,
    Reduce,
    Exp,
    Ln,
    Ln1p,
}

const OPS: [Op; 23] = [
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::MulAdd,
    Op::Min,
    Op::Max,
    Op::Abs,
    Op::Neg,
    Op::Lt,
    Op::Le,
    Op::Eq,
    Op::Ne,
    Op::IsNan,
    Op::And,
    Op::Or,
    Op::AnyAll,
    Op::Select,
    Op::Bits,
    Op::Reduce,
    Op::Exp,
    Op::Ln,
    Op::Ln1p,
];

struct Apply<'a> {
    op: Op,
    a: &'a [f64],
    b: &'a [f64],
    c: &'a [f64],
}

impl WithSimd for Apply<'_> {
    /// Output bit patterns, several per input vector for some ops.
    type Output = Vec<u64>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Vec<u64> {
        let mut out = Vec::new();
        let n = self.a.len() / LANES;
        for i in 0..n {
            let ld = |x: &[f64]| s.load(x[i * LANES..(i + 1) * LANES].try_into().unwrap());
            let (a, b, c) = (ld(self.a), ld(self.b), ld(self.c));
            let one = s.splat(1.0);
            let zero = s.splat(0.0);
            let m = |mask: S::M| s.select(mask, one, zero);
            let mut push = |v: S::V| out.extend(s.store(v).map(f64::to_bits));
            match self.op {
                Op::Add => push(s.add(a, b)),
                Op::Sub => push(s.sub(a, b)),
                Op::Mul => push(s.mul(a, b)),
                Op::Div => push(s.div(a, b)),
                Op::MulAdd => push(s.mul_add(a, b, c)),
                Op::Min => push(s.min(a, b)),
                Op::Max => push(s.max(a, b)),
                Op::Abs => push(s.abs(a)),
                Op::Neg => push(s.neg(a)),
                Op::Lt => push(m(s.lt(a, b))),
                Op::Le => push(m(s.le(a, b))),
                Op::Eq => push(m(s.eq(a, b))),
                Op::Ne => push(m(s.ne(a, b))),
                Op::IsNan => push(m(s.is_nan(a))),
                Op::And => push(m(s.and(s.lt(a, b), s.lt(b, c)))),
                Op::Or => push(m(s.or(s.lt(a, b), s.lt(b, c)))),
                Op::AnyAll => {
                    let k = s.lt(a, b);
                    push(s.splat(s.any(k) as u8 as f64 + 2.0 * s.all(k) as u8 as f64));
                }
                Op::Select => push(s.select(s.lt(a, b), b, c)),
                Op::Bits => {
                    let (ia, ib) = (s.to_bits(a), s.to_bits(b));
                    push(s.from_bits(s.add_bits(ia, ib)));
                    push(s.from_bits(s.sub_bits(ia, ib)));
                    push(s.from_bits(s.and_bits(ia, ib)));
                    push(s.from_bits(s.or_bits(ia, s.splat_bits(0x0123_4567_89AB_CDEF))));
                    push(s.from_bits(s.shl_bits::<52>(ia)));
                    push(s.from_bits(s.shr_bits::<52>(ia)));
                    push(s.from_bits(s.shl_bits::<1>(ia)));
                    push(s.from_bits(s.shr_bits::<63>(ia)));
                }
                Op::Reduce => push(s.splat(s.reduce_sum(a))),
                Op::Exp => push(s.exp(a)),
                Op::Ln => push(s.ln(a)),
                Op::Ln1p => push(s.ln_1p(a)),
            }
            if let Op::Reduce = self.op {
                out.push(s.reduce_max(a).to_bits());
            }
        }
        out
    }
}

fn apply(tier: Tier, op: Op, a: &[f64], b: &[f64], c: &[f64]) -> Vec<u64> {
    match run_on(tier, Apply { op, a, b, c }) {
        Ok(v) => v,
        Err(_) => panic!("{tier:?} not runnable"),
    }
}

/// Bit patterns with every NaN replaced by one canonical NaN.
fn canon(v: &[u64]) -> Vec<u64> {
    v.iter()
        .map(|&b| {
            if f64::from_bits(b).is_nan() {
                f64::NAN.to_bits()
            } else {
                b
            }
        })
        .collect()
}

fn op_inputs(seed: u64, n: usize) -> [Vec<f64>; 3] {
    let mut r = Rng(seed);
    let pool: Vec<f64> = LOGIT_SPECIALS
        .iter()
        .chain(&PROB_SPECIALS)
        .copied()
        .collect();
    let mut gen = || match r.below(4) {
        0 => r.pick(&pool),
        1 => f64::from_bits(r.next()),
        2 => -r.pick(&pool),
        _ => (r.unit() - 0.5) * 10f64.powi(r.below(40) as i32 - 20),
    };
    let a = (0..n).map(|_| gen()).collect();
    let b = (0..n).map(|_| gen()).collect();
    let c = (0..n).map(|_| gen()).collect();
    [a, b, c]
}

#[test]
fn every_operation_matches_scalar() {
    let n = LANES * 20_000;
    let [a, b, c] = op_inputs(1, n);
    // Equal operands too (min/max ties, ±0 pairs): b = a shuffled by sign.
    let a2: Vec<f64> = a.iter().map(|x| -x).collect();
    for tier in other_tiers() {
        for op in OPS {
            for (a, b) in [(&a, &b), (&a, &a2), (&a, &a)] {
                let want = apply(Tier::Scalar, op, a, b, &c);
                let got = apply(tier, op, a, b, &c);
                // Exact bits except where arithmetic makes a NaN: its payload is not specified.
                let exact = matches!(
                    op,
                    Op::Min
                        | Op::Max
                        | Op::Abs
                        | Op::Neg
                        | Op::Select
                        | Op::Bits
                        | Op::Exp
                        | Op::Ln
                        | Op::Ln1p
                );
                let (w, g) = if exact {
                    (want, got)
                } else {
                    (canon(&want), canon(&got))
                };
                if let Some(i) = (0..w.len()).find(|&i| w[i] != g[i]) {
                    let lane = i % (w.len() / (n / LANES)).max(1);
                    panic!(
                        "{tier:?} {op:?}: output {i} is {:e} ({:#x}), Scalar gives {:e} ({:#x}) (lane {lane})",
                        f64::from_bits(g[i]),
                        g[i],
                        f64::from_bits(w[i]),
                        w[i]
                    );
                }
            }
        }
    }
}

#[test]
fn min_max_propagate_nan_and_break_ties_like_scalar() {
    let nan = f64::NAN;
    let a = [
        nan,
        1.0,
        nan,
        -0.0,
        0.0,
        2.0,
        f64::NEG_INFINITY,
        f64::from_bits(0x7FF8_0000_0000_0001),
    ];
    let b = [1.0, nan, nan, 0.0, -0.0, 2.0, f64::NEG_INFINITY, 3.0];
    let want_min = [nan, nan, nan, 0.0, -0.0, 2.0, f64::NEG_INFINITY, nan];
    let want_max = want_min;
    for tier in supported_tiers() {
        let min = apply(tier, Op::Min, &a, &b, &b);
        let max = apply(tier, Op::Max, &a, &b, &b);
        for i in 0..LANES {
            assert_eq!(min[i], want_min[i].to_bits(), "{tier:?} min lane {i}");
            assert_eq!(max[i], want_max[i].to_bits(), "{tier:?} max lane {i}");
        }
    }
}

#[test]
fn horizontal_reductions_break_ties_like_scalar() {
    // Every arrangement of +0 / −0 over the 8 lanes (the tree's tie rule decides the sign of a
    // zero maximum and of a zero sum), and of two equal maxima among −inf, NaN and ordinary lanes.
    let mut a = Vec::new();
    for bits in 0u32..256 {
        a.extend((0..LANES).map(|i| if bits >> i & 1 == 1 { -0.0 } else { 0.0 }));
    }
    for (i, j) in [(0, 4), (1, 2), (3, 7), (5, 6)] {
        let mut v = [f64::NEG_INFINITY; LANES];
        v[i] = 2.5;
        v[j] = 2.5;
        a.extend(v);
        v[(j + 1) % LANES] = f64::NAN;
        a.extend(v);
    }
    let want = apply(Tier::Scalar, Op::Reduce, &a, &a, &a);
    for tier in other_tiers() {
        assert_eq!(apply(tier, Op::Reduce, &a, &a, &a), want, "{tier:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Level 2: the math primitives, lanes and scalar functions.

#[test]
fn math_primitives_match_scalar_and_scalar_functions() {
    let mut r = Rng(7);
    let n = LANES * 125_000;
    let gen: [fn(&mut Rng) -> f64; 6] = [
        |r| f64::from_bits(r.next()),
        |r| (r.unit() - 0.5) * 1500.0,
        |r| r.unit() * 2.0 - 1.0,
        |r| r.unit() * 10f64.powi(r.below(600) as i32 - 300),
        |r| -1.0 + r.unit() * 2f64.powi(-(r.below(60) as i32)),
        |r| r.pick(&LOGIT_SPECIALS),
    ];
    let x: Vec<f64> = (0..n).map(|i| gen[i % gen.len()](&mut r)).collect();
    let scalar_fn: [fn(f64) -> f64; 3] = [math::exp, math::ln, math::ln_1p];
    for (k, op) in [Op::Exp, Op::Ln, Op::Ln1p].into_iter().enumerate() {
        let want = apply(Tier::Scalar, op, &x, &x, &x);
        for (i, &xi) in x.iter().enumerate().step_by(7) {
            assert_eq!(
                scalar_fn[k](xi).to_bits(),
                want[i],
                "{op:?}({xi:e}): scalar function vs lanes"
            );
        }
        for tier in other_tiers() {
            let got = apply(tier, op, &x, &x, &x);
            if let Some(i) = (0..n).find(|&i| got[i] != want[i]) {
                panic!(
                    "{tier:?} {op:?}({:e}) = {:e}, Scalar gives {:e}",
                    x[i],
                    f64::from_bits(got[i]),
                    f64::from_bits(want[i])
                );
            }
        }
    }
}

/// A lane's result does not depend on its neighbours (fast and rare paths agree).
#[test]
fn lanes_are_independent_of_neighbours() {
    let mut r = Rng(11);
    type ScalarFn = fn(f64) -> f64;
    let fns: [(Op, ScalarFn); 3] = [
        (Op::Exp, math::exp),
        (Op::Ln, math::ln),
        (Op::Ln1p, math::ln_1p),
    ];
    for tier in supported_tiers() {
        for (op, f) in fns {
            let mut x = Vec::new();
            for _ in 0..20_000 {
                let mut v = [0.0f64; LANES];
                for l in v.iter_mut() {
                    *l = if r.below(3) == 0 {
                        r.pick(&LOGIT_SPECIALS)
                    } else {
                        (r.unit() - 0.3) * 3.0
                    };
                }
                x.extend(v);
            }
            let y = apply(tier, op, &x, &x, &x);
            for (i, &xi) in x.iter().enumerate() {
                assert_eq!(
                    y[i],
                    f(xi).to_bits(),
                    "{tier:?} {op:?}({xi:e}) depends on its neighbours"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Level 3: every public kernel, forced onto each tier.

/// A kernel's outcome: output bits (NaN canonical) and totals, or the error.
#[derive(Debug, PartialEq)]
enum Outcome {
    Bits(Vec<u64>),
    Err(String),
}

fn bits_f64(xs: &[f64]) -> Vec<u64> {
    canon(&xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
}

fn bits_f32(xs: &[f32]) -> Vec<u64> {
    bits_f64(&xs.iter().map(|&x| x as f64).collect::<Vec<_>>())
}

fn totals(t: plogp_core::Result<Totals>, out: Vec<u64>) -> Outcome {
    match t {
        Ok(t) => {
            let mut v = out;
            v.extend(bits_f64(&[t.loss, t.weight]));
            Outcome::Bits(v)
        }
        Err(e) => Outcome::Err(format!("{e:?}")),
    }
}

fn unit_result(t: plogp_core::Result<()>, out: Vec<u64>) -> Outcome {
    match t {
        Ok(()) => Outcome::Bits(out),
        Err(e) => Outcome::Err(format!("{e:?}")),
    }
}

/// Run `case` on Scalar and on every other tier; all outcomes must be equal.
fn same_on_every_tier(g: &Forced, what: &dyn Fn() -> String, case: &dyn Fn() -> Outcome) {
    g.set(Tier::Scalar);
    let want = case();
    for tier in other_tiers() {
        g.set(tier);
        let got = case();
        if got != want {
            let detail = match (&got, &want) {
                (Outcome::Bits(a), Outcome::Bits(b)) if a.len() == b.len() => {
                    let i = (0..a.len()).find(|&i| a[i] != b[i]).unwrap();
                    format!(
                        "output {i}: {:e} vs Scalar {:e}",
                        f64::from_bits(a[i]),
                        f64::from_bits(b[i])
                    )
                }
                _ => format!("{got:?} vs Scalar {want:?}"),
            };
            panic!("{tier:?} differs from Scalar on {}: {detail}", what());
        }
    }
}

/// Lengths 0..=130 and 2^k ± 1 up to 2^17 + 1 (several chunks; parallel above 2^17).
fn lengths() -> Vec<usize> {
    let mut v: Vec<usize> = (0..=130).collect();
    for k in 8..=17 {
        v.extend([(1 << k) - 1, (1 << k) + 1]);
    }
    v
}

/// Offsets of the sub-slice into its buffer (misalignment): all of 0..8 for short inputs.
fn offsets(len: usize) -> std::ops::Range<usize> {
    if len <= 130 {
        0..8
    } else {
        0..2
    }
}

fn weights_for(r: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| [0.0, 1.0, 0.5, 3.0, 1e-300][r.below(5)])
        .collect()
}

const POLICIES: [NanPolicy; 3] = [NanPolicy::Propagate, NanPolicy::Omit, NanPolicy::Raise];

#[test]
fn binary_kernels_match_scalar() {
    let g = Forced::take();
    if other_tiers().is_empty() {
        return;
    }
    let mut r = Rng(21);
    for n in lengths() {
        let total = n + 8;
        let y_soft: Vec<f64> = (0..total)
            .map(|_| [0.0, 1.0, 0.3, r.unit(), f64::NAN][r.below(5)])
            .collect();
        let y_hard: Vec<u8> = (0..total).map(|_| r.below(2) as u8).collect();
        let p: Vec<f64> = (0..total).map(|_| prob(&mut r)).collect();
        let p32: Vec<f32> = p.iter().map(|&x| x as f32).collect();
        let z: Vec<f64> = (0..total).map(|_| logit(&mut r)).collect();
        let z32: Vec<f32> = z.iter().map(|&x| x as f32).collect();
        let w = weights_for(&mut r, total);
        for off in offsets(n) {
            let s = off..off + n;
            let pol = POLICIES[(n + off) % 3];
            let what = || format!("n={n} off={off} {pol:?}");
            same_on_every_tier(&g, &|| format!("bce_prob soft {}", what()), &|| {
                let mut out = vec![0.0f64; n];
                let t = binary::bce_prob(
                    &y_soft[s.clone()],
                    &p[s.clone()],
                    1e-7,
                    Weights::None,
                    pol,
                    Some((&mut out).into()),
                );
                totals(t, bits_f64(&out))
            });
            same_on_every_tier(
                &g,
                &|| format!("bce_prob hard eps=0 weighted {}", what()),
                &|| {
                    let mut out = vec![0.0f64; n];
                    let t = binary::bce_prob(
                        &y_hard[s.clone()],
                        &p[s.clone()],
                        0.0,
                        Weights::PerItem(&w[s.clone()]),
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(t, bits_f64(&out))
                },
            );
            same_on_every_tier(&g, &|| format!("bce_prob f32 {}", what()), &|| {
                let mut out = vec![0.0f32; n];
                let t = binary::bce_prob(
                    &y_hard[s.clone()],
                    &p32[s.clone()],
                    f32::EPSILON as f64,
                    Weights::None,
                    pol,
                    Some((&mut out).into()),
                );
                totals(t, bits_f32(&out))
            });
            same_on_every_tier(&g, &|| format!("bce_logits {}", what()), &|| {
                let mut out = vec![0.0f64; n];
                let t = binary::bce_logits(
                    &y_soft[s.clone()],
                    &z[s.clone()],
                    Weights::PerItem(&w[s.clone()]),
                    pol,
                    Some((&mut out).into()),
                );
                totals(t, bits_f64(&out))
            });
            same_on_every_tier(&g, &|| format!("bce_logits f32 {}", what()), &|| {
                let t = binary::bce_logits(
                    &y_hard[s.clone()],
                    &z32[s.clone()],
                    Weights::None,
                    pol,
                    None,
                );
                totals(t, Vec::new())
            });
        }
    }
}

/// Row shapes `(n_rows, c)`: every c in 0..=130 with a few rows, and long rows.
fn shapes() -> Vec<(usize, usize)> {
    let mut v: Vec<(usize, usize)> = (0..=130).map(|c| (1 + c % 4, c)).collect();
    v.extend([(0, 5), (37, 3), (9, 10)]);
    for k in [8, 10, 12, 15] {
        v.extend([(2, (1 << k) - 1), (2, (1 << k) + 1)]);
    }
    v
}

#[test]
fn categorical_kernels_match_scalar() {
    let g = Forced::take();
    if other_tiers().is_empty() {
        return;
    }
    let mut r = Rng(31);
    for (rows, c) in shapes() {
        let n = rows * c;
        let total = n + 8;
        let t: Vec<f64> = (0..total)
            .map(|_| [0.0, 0.0, 1.0, 0.25, r.unit()][r.below(5)])
            .collect();
        let p: Vec<f64> = (0..total).map(|_| prob_finite(&mut r)).collect();
        let mut p_nan = p.clone();
        p_nan[r.below(total)] = f64::NAN;
        let z: Vec<f64> = (0..total).map(|_| logit(&mut r)).collect();
        let z_fin: Vec<f64> = (0..total).map(|_| logit_finite(&mut r)).collect();
        let labels: Vec<u32> = (0..rows)
            .map(|_| if c == 0 { 0 } else { r.below(c) as u32 })
            .collect();
        let w = weights_for(&mut r, rows);
        for off in offsets(c) {
            let s = off..off + n;
            let pol = POLICIES[(c + off) % 3];
            let what = || format!("rows={rows} c={c} off={off} {pol:?}");
            for (name, pp) in [("p", &p), ("p with NaN", &p_nan)] {
                same_on_every_tier(&g, &|| format!("cce_prob {name} {}", what()), &|| {
                    let mut out = vec![0.0f64; rows];
                    let res = categorical::cce_prob(
                        &t[s.clone()],
                        &pp[s.clone()],
                        rows,
                        c,
                        1e-12,
                        Weights::PerItem(&w),
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(res, bits_f64(&out))
                });
                same_on_every_tier(&g, &|| format!("sparse_prob {name} {}", what()), &|| {
                    let mut out = vec![0.0f64; rows];
                    let res = categorical::sparse_prob(
                        &labels,
                        &pp[s.clone()],
                        rows,
                        c,
                        0.0,
                        Weights::None,
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(res, bits_f64(&out))
                });
            }
            for (name, zz) in [("z", &z), ("finite z", &z_fin)] {
                same_on_every_tier(&g, &|| format!("cce_logits {name} {}", what()), &|| {
                    let mut out = vec![0.0f64; rows];
                    let res = categorical::cce_logits(
                        &t[s.clone()],
                        &zz[s.clone()],
                        rows,
                        c,
                        Weights::None,
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(res, bits_f64(&out))
                });
                same_on_every_tier(&g, &|| format!("sparse_logits {name} {}", what()), &|| {
                    let mut out = vec![0.0f64; rows];
                    let res = categorical::sparse_logits(
                        &labels,
                        &zz[s.clone()],
                        rows,
                        c,
                        Weights::PerItem(&w),
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(res, bits_f64(&out))
                });
                let z32: Vec<f32> = zz[s.clone()].iter().map(|&x| x as f32).collect();
                same_on_every_tier(
                    &g,
                    &|| format!("sparse_logits f32 {name} {}", what()),
                    &|| {
                        let mut out = vec![0.0f32; rows];
                        let res = categorical::sparse_logits(
                            &labels,
                            &z32,
                            rows,
                            c,
                            Weights::None,
                            pol,
                            Some((&mut out).into()),
                        );
                        totals(res, bits_f32(&out))
                    },
                );
            }
        }
    }
}

#[test]
fn entropy_kernels_match_scalar() {
    let g = Forced::take();
    if other_tiers().is_empty() {
        return;
    }
    let mut r = Rng(41);
    for (rows, c) in shapes() {
        let n = rows * c;
        let total = n + 8;
        let p: Vec<f64> = (0..total).map(|_| prob(&mut r)).collect();
        // q near p half of the time (the ln_1p branch of KL), else independent.
        let q: Vec<f64> = p
            .iter()
            .map(|&x| {
                if r.below(2) == 0 {
                    (x * (1.0 + (r.unit() - 0.5) * 1e-3)).min(1.0)
                } else {
                    prob(&mut r)
                }
            })
            .collect();
        let z: Vec<f64> = (0..total).map(|_| logit(&mut r)).collect();
        let z_fin: Vec<f64> = (0..total).map(|_| logit_finite(&mut r)).collect();
        for off in offsets(c) {
            let s = off..off + n;
            let what = || format!("rows={rows} c={c} off={off}");
            type PairFn =
                fn(&[f64], &[f64], usize, usize, f64, &mut [f64]) -> plogp_core::Result<()>;
            let pairs: [(&str, PairFn); 3] = [
                ("cross_entropy", |p, q, n, c, b, o| {
                    entropy::cross_entropy(p, q, n, c, b, o)
                }),
                ("kl_divergence", |p, q, n, c, b, o| {
                    entropy::kl_divergence(p, q, n, c, b, o)
                }),
                ("js_divergence", |p, q, n, c, b, o| {
                    entropy::js_divergence(p, q, n, c, b, o)
                }),
            ];
            for (name, f) in pairs {
                same_on_every_tier(&g, &|| format!("{name} {}", what()), &|| {
                    let mut out = vec![0.0f64; rows];
                    unit_result(
                        f(&p[s.clone()], &q[s.clone()], rows, c, 1.0, &mut out),
                        bits_f64(&out),
                    )
                });
            }
            same_on_every_tier(&g, &|| format!("entropy {}", what()), &|| {
                let mut out = vec![0.0f64; rows];
                unit_result(
                    entropy::entropy(&p[s.clone()], rows, c, std::f64::consts::LN_2, &mut out),
                    bits_f64(&out),
                )
            });
            let p32: Vec<f32> = p[s.clone()].iter().map(|&x| x as f32).collect();
            same_on_every_tier(&g, &|| format!("entropy f32 {}", what()), &|| {
                let mut out = vec![0.0f32; rows];
                unit_result(
                    entropy::entropy(&p32, rows, c, 1.0, &mut out),
                    bits_f32(&out),
                )
            });
            for (name, zz) in [("z", &z), ("finite z", &z_fin)] {
                same_on_every_tier(
                    &g,
                    &|| format!("entropy_from_logits {name} {}", what()),
                    &|| {
                        let mut out = vec![0.0f64; rows];
                        unit_result(
                            entropy::entropy_from_logits(&zz[s.clone()], rows, c, 1.0, &mut out),
                            bits_f64(&out),
                        )
                    },
                );
            }
        }
    }
}

#[test]
fn activation_kernels_match_scalar() {
    let g = Forced::take();
    if other_tiers().is_empty() {
        return;
    }
    let mut r = Rng(51);
    for (rows, c) in shapes() {
        let n = rows * c;
        let total = n + 8;
        let z: Vec<f64> = (0..total).map(|_| logit(&mut r)).collect();
        let z_fin: Vec<f64> = (0..total).map(|_| logit_finite(&mut r)).collect();
        for off in offsets(c) {
            let s = off..off + n;
            for (name, zz) in [("z", &z), ("finite z", &z_fin)] {
                let what = || format!("{name} rows={rows} c={c} off={off}");
                for kind in [RowMap::Softmax, RowMap::LogSoftmax] {
                    same_on_every_tier(&g, &|| format!("row_map {kind:?} {}", what()), &|| {
                        let mut out = vec![0.0f64; n];
                        activation::row_map(kind, &zz[s.clone()], rows, c, &mut out).unwrap();
                        Outcome::Bits(bits_f64(&out))
                    });
                }
                same_on_every_tier(&g, &|| format!("logsumexp {}", what()), &|| {
                    let mut out = vec![0.0f64; rows];
                    activation::logsumexp(&zz[s.clone()], rows, c, &mut out).unwrap();
                    Outcome::Bits(bits_f64(&out))
                });
                for kind in [Elementwise::Sigmoid, Elementwise::LogSigmoid] {
                    same_on_every_tier(&g, &|| format!("elementwise {kind:?} {}", what()), &|| {
                        let mut out = vec![0.0f64; n];
                        activation::elementwise(kind, &zz[s.clone()], &mut out).unwrap();
                        Outcome::Bits(bits_f64(&out))
                    });
                    let z32: Vec<f32> = zz[s.clone()].iter().map(|&x| x as f32).collect();
                    same_on_every_tier(
                        &g,
                        &|| format!("elementwise f32 {kind:?} {}", what()),
                        &|| {
                            let mut out = vec![0.0f32; n];
                            activation::elementwise(kind, &z32, &mut out).unwrap();
                            Outcome::Bits(bits_f32(&out))
                        },
                    );
                }
            }
        }
    }
}

/// Long elementwise inputs (several chunks, parallel): also identical per tier.
#[test]
fn long_inputs_match_scalar() {
    let g = Forced::take();
    if other_tiers().is_empty() {
        return;
    }
    let mut r = Rng(61);
    let n = (1 << 18) + 3;
    let y: Vec<f64> = (0..n).map(|_| r.unit()).collect();
    let p: Vec<f64> = (0..n).map(|_| prob_finite(&mut r)).collect();
    let z: Vec<f64> = (0..n).map(|_| logit_finite(&mut r)).collect();
    same_on_every_tier(&g, &|| "bce_prob long".into(), &|| {
        let mut out = vec![0.0f64; n];
        totals(
            binary::bce_prob(
                &y,
                &p,
                1e-7,
                Weights::None,
                NanPolicy::Propagate,
                Some((&mut out).into()),
            ),
            bits_f64(&out),
        )
    });
    same_on_every_tier(&g, &|| "bce_logits long".into(), &|| {
        let mut out = vec![0.0f64; n];
        totals(
            binary::bce_logits(
                &y,
                &z,
                Weights::None,
                NanPolicy::Propagate,
                Some((&mut out).into()),
            ),
            bits_f64(&out),
        )
    });
    same_on_every_tier(&g, &|| "log_sigmoid long".into(), &|| {
        let mut out = vec![0.0f64; n];
        activation::elementwise(Elementwise::LogSigmoid, &z, &mut out).unwrap();
        Outcome::Bits(bits_f64(&out))
    });
}

// ---------------------------------------------------------------------------------------
// The loss options, the focal losses, the gradients and the grouped driver (issue 15).

fn group_result(t: plogp_core::Result<GroupTotals>) -> Outcome {
    match t {
        Ok(t) => {
            let mut v = bits_f64(&t.loss);
            v.extend(bits_f64(&t.weight));
            Outcome::Bits(v)
        }
        Err(e) => Outcome::Err(format!("{e:?}")),
    }
}

/// Group ids `0..k` for `n` items, k small (empty groups included).
fn group_ids(r: &mut Rng, n: usize) -> Vec<i64> {
    let k = 1 + r.below(5);
    (0..n).map(|_| r.below(k) as i64).collect()
}

/// The option sets of the binary loss: `pos_weight` scalar / periodic (lengths 3 and 2·LANES+1,
/// so a period straddles lane blocks), label smoothing, both.
fn binary_options(pw: &[f64]) -> Vec<(String, LossOptions<'_>)> {
    let mut v = Vec::new();
    for (name, pos_weight) in [
        ("none", None),
        ("pw scalar", Some(&pw[..1])),
        ("pw 3", Some(&pw[..3])),
        ("pw 2L+1", Some(&pw[..2 * LANES + 1])),
    ] {
        for smoothing in [0.0, 0.1, 1.0] {
            v.push((
                format!("{name} ls={smoothing}"),
                LossOptions {
                    pos_weight,
                    label_smoothing: smoothing,
                    ..LossOptions::default()
                },
            ));
        }
    }
    v
}

#[test]
fn binary_options_and_focal_match_scalar() {
    let g = Forced::take();
    if other_tiers().is_empty() {
        return;
    }
    let mut r = Rng(71);
    let pw: Vec<f64> = (0..2 * LANES + 1)
        .map(|_| [0.0, 1.0, 2.5, 1e-300, 7.0][r.below(5)])
        .collect();
    let options = binary_options(&pw);
    let focuses = [
        Focus {
            gamma: 2.0,
            alpha: Some(0.25),
        },
        Focus {
            gamma: 0.5,
            alpha: None,
        },
        Focus {
            gamma: 0.0,
            alpha: Some(0.75),
        },
        Focus {
            gamma: 0.0,
            alpha: None,
        },
    ];
    for n in lengths() {
        let total = n + 8;
        let y_soft: Vec<f64> = (0..total)
            .map(|_| [0.0, 1.0, 0.3, r.unit(), f64::NAN][r.below(5)])
            .collect();
        let y_hard: Vec<u8> = (0..total).map(|_| r.below(2) as u8).collect();
        let p: Vec<f64> = (0..total).map(|_| prob(&mut r)).collect();
        let p32: Vec<f32> = p.iter().map(|&x| x as f32).collect();
        let z: Vec<f64> = (0..total).map(|_| logit(&mut r)).collect();
        let z32: Vec<f32> = z.iter().map(|&x| x as f32).collect();
        let w = weights_for(&mut r, total);
        for off in offsets(n) {
            let s = off..off + n;
            let pol = POLICIES[(n + off) % 3];
            // Every option set on short inputs; one per length/offset on long ones.
            let picked: Vec<&(String, LossOptions<'_>)> = if n <= 130 {
                options.iter().collect()
            } else {
                vec![&options[(n + off) % options.len()]]
            };
            for (name, opts) in picked {
                let what = || format!("n={n} off={off} {pol:?} {name}");
                same_on_every_tier(&g, &|| format!("options bce_prob {}", what()), &|| {
                    let mut out = vec![0.0f64; n];
                    let t = loss_options::bce(
                        (&y_soft[s.clone()]).into(),
                        (&p[s.clone()]).into(),
                        Some(1e-7),
                        opts,
                        Weights::PerItem(&w[s.clone()]),
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(t, bits_f64(&out))
                });
                same_on_every_tier(&g, &|| format!("options bce_prob f32 {}", what()), &|| {
                    let mut out = vec![0.0f32; n];
                    let t = loss_options::bce(
                        (&y_hard[s.clone()]).into(),
                        (&p32[s.clone()]).into(),
                        Some(0.0),
                        opts,
                        Weights::None,
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(t, bits_f32(&out))
                });
                same_on_every_tier(&g, &|| format!("options bce_logits {}", what()), &|| {
                    let mut out = vec![0.0f64; n];
                    let t = loss_options::bce(
                        (&y_soft[s.clone()]).into(),
                        (&z[s.clone()]).into(),
                        None,
                        opts,
                        Weights::None,
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(t, bits_f64(&out))
                });
                same_on_every_tier(
                    &g,
                    &|| format!("options bce_logits f32 {}", what()),
                    &|| {
                        let t = loss_options::bce(
                            (&y_hard[s.clone()]).into(),
                            (&z32[s.clone()]).into(),
                            None,
                            opts,
                            Weights::PerItem(&w[s.clone()]),
                            pol,
                            None,
                        );
                        totals(t, Vec::new())
                    },
                );
            }
            for focus in focuses {
                let what = || format!("n={n} off={off} {pol:?} {focus:?}");
                same_on_every_tier(&g, &|| format!("focal prob {}", what()), &|| {
                    let mut out = vec![0.0f64; n];
                    let t = focal::binary_focal_prob(
                        &y_soft[s.clone()],
                        &p[s.clone()],
                        focus,
                        1e-7,
                        Weights::PerItem(&w[s.clone()]),
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(t, bits_f64(&out))
                });
                same_on_every_tier(&g, &|| format!("focal prob f32 {}", what()), &|| {
                    let mut out = vec![0.0f32; n];
                    let t = focal::binary_focal_prob(
                        &y_hard[s.clone()],
                        &p32[s.clone()],
                        focus,
                        f32::EPSILON as f64,
                        Weights::None,
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(t, bits_f32(&out))
                });
                same_on_every_tier(&g, &|| format!("focal logits {}", what()), &|| {
                    let mut out = vec![0.0f64; n];
                    let t = focal::binary_focal_logits(
                        &y_soft[s.clone()],
                        &z[s.clone()],
                        focus,
                        Weights::None,
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(t, bits_f64(&out))
                });
                same_on_every_tier(&g, &|| format!("focal logits f32 {}", what()), &|| {
                    let mut out = vec![0.0f32; n];
                    let t = focal::binary_focal_logits(
                        &y_hard[s.clone()],
                        &z32[s.clone()],
                        focus,
                        Weights::PerItem(&w[s.clone()]),
                        pol,
                        Some((&mut out).into()),
                    );
                    totals(t, bits_f32(&out))
                });
            }
        }
    }
}

#[test]
fn categorical_options_and_sparse_focal_match_scalar() {
    let g = Forced::take();
    if other_tiers().is_empty() {
        return;
    }
    let mut r = Rng(81);
    for (rows, c) in shapes() {
        let n = rows * c;
        let total = n + 8;
        let t: Vec<f64> = (0..total)
            .map(|_| [0.0, 0.0, 1.0, 0.25, r.unit()][r.below(5)])
            .collect();
        let p: Vec<f64> = (0..total).map(|_| prob_finite(&mut r)).collect();
        let mut p_nan = p.clone();
        p_nan[r.below(total)] = f64::NAN;
        // Logits with masked classes (−inf, the `smoothed_logits_row` K < C path) and specials.
        let z: Vec<f64> = (0..total)
            .map(|_| {
                if r.below(6) == 0 {
                    f64::NEG_INFINITY
                } else {
                    logit(&mut r)
                }
            })
            .collect();
        let z_fin: Vec<f64> = (0..total).map(|_| logit_finite(&mut r)).collect();
        let labels: Vec<i64> = (0..rows)
            .map(|_| if c == 0 { 0 } else { r.below(c) as i64 })
            .collect();
        let cw: Vec<f64> = (0..c)
            .map(|_| [0.0, 1.0, 0.5, 3.0, 1e-300][r.below(5)])
            .collect();
        let alpha: Vec<f64> = (0..c).map(|_| r.unit()).collect();
        let w = weights_for(&mut r, rows);
        let ignore = if c > 1 { Some(1) } else { Some(-100) };
        let option_sets = [
            ("cw", Some(&cw[..]), 0.0, None),
            ("ls", None, 0.2, None),
            ("cw ls ignore", Some(&cw[..]), 0.1, ignore),
            ("ignore", None, 0.0, ignore),
            ("ls=1", None, 1.0, None),
        ];
        for off in offsets(c) {
            let s = off..off + n;
            let pol = POLICIES[(c + off) % 3];
            for (oname, class_weight, label_smoothing, ignore_index) in option_sets {
                let opts = LossOptions {
                    pos_weight: None,
                    class_weight,
                    label_smoothing,
                    ignore_index,
                };
                let what = || format!("rows={rows} c={c} off={off} {pol:?} {oname}");
                for (name, pp) in [("p", &p), ("p with NaN", &p_nan)] {
                    same_on_every_tier(
                        &g,
                        &|| format!("options cce_prob {name} {}", what()),
                        &|| {
                            let mut out = vec![0.0f64; rows];
                            let res = loss_options::cce(
                                (&t[s.clone()]).into(),
                                (&pp[s.clone()]).into(),
                                rows,
                                c,
                                Some(1e-12),
                                &opts,
                                Weights::PerItem(&w),
                                pol,
                                Some((&mut out).into()),
                            );
                            totals(res, bits_f64(&out))
                        },
                    );
                    same_on_every_tier(
                        &g,
                        &|| format!("options sparse_prob {name} {}", what()),
                        &|| {
                            let mut out = vec![0.0f64; rows];
                            let res = loss_options::sparse(
                                (&labels).into(),
                                (&pp[s.clone()]).into(),
                                rows,
                                c,
                                Some(0.0),
                                &opts,
                                Weights::None,
                                pol,
                                Some((&mut out).into()),
                            );
                            totals(res, bits_f64(&out))
                        },
                    );
                }
                for (name, zz) in [("z", &z), ("finite z", &z_fin)] {
                    same_on_every_tier(
                        &g,
                        &|| format!("options cce_logits {name} {}", what()),
                        &|| {
                            let mut out = vec![0.0f64; rows];
                            let res = loss_options::cce(
                                (&t[s.clone()]).into(),
                                (&zz[s.clone()]).into(),
                                rows,
                                c,
                                None,
                                &opts,
                                Weights::None,
                                pol,
                                Some((&mut out).into()),
                            );
                            totals(res, bits_f64(&out))
                        },
                    );
                    same_on_every_tier(
                        &g,
                        &|| format!("options sparse_logits {name} {}", what()),
                        &|| {
                            let mut out = vec![0.0f64; rows];
                            let res = loss_options::sparse(
                                (&labels).into(),
                                (&zz[s.clone()]).into(),
                                rows,
                                c,
                                None,
                                &opts,
                                Weights::PerItem(&w),
                                pol,
                                Some((&mut out).into()),
                            );
                            totals(res, bits_f64(&out))
                        },
                    );
                    let z32: Vec<f32> = zz[s.clone()].iter().map(|&x| x as f32).collect();
                    same_on_every_tier(
                        &g,
                        &|| format!("options sparse_logits f32 {name} {}", what()),
                        &|| {
                            let mut out = vec![0.0f32; rows];
                            let res = loss_options::sparse(
                                (&labels).into(),
                                (&z32).into(),
                                rows,
                                c,
                                None,
                                &opts,
                                Weights::None,
                                pol,
                                Some((&mut out).into()),
                            );
                            totals(res, bits_f32(&out))
                        },
                    );
                    same_on_every_tier(
                        &g,
                        &|| format!("options cce_logits f32 {name} {}", what()),
                        &|| {
                            let mut out = vec![0.0f32; rows];
                            let res = loss_options::cce(
                                (&t[s.clone()]).into(),
                                (&z32).into(),
                                rows,
                                c,
                                None,
                                &opts,
                                Weights::PerItem(&w),
                                pol,
                                Some((&mut out).into()),
                            );
                            totals(res, bits_f32(&out))
                        },
                    );
                }
            }
            let alphas = [
                ("no alpha", ClassAlpha::None),
                ("alpha 0.25", ClassAlpha::All(0.25)),
                ("alpha per class", ClassAlpha::PerClass(&alpha)),
            ];
            for (aname, a) in alphas {
                let cases = [
                    (2.0, None, 0.0),
                    (0.5, ignore, 0.0),
                    (0.0, None, 0.0),
                    (2.0, ignore, 0.1),
                ];
                for (gamma, ign, smoothing) in cases {
                    let focus = focal::SparseFocus {
                        gamma,
                        alpha: a,
                        ignore: ign,
                        smoothing,
                    };
                    let what = || {
                        format!("rows={rows} c={c} off={off} {pol:?} {aname} γ={gamma} {ign:?} ε={smoothing}")
                    };
                    same_on_every_tier(&g, &|| format!("sparse_focal prob {}", what()), &|| {
                        let mut out = vec![0.0f64; rows];
                        let res = focal::sparse_focal(
                            &labels,
                            &p_nan[s.clone()],
                            (rows, c),
                            focus,
                            Some(1e-7),
                            Weights::PerItem(&w),
                            pol,
                            Some((&mut out).into()),
                        );
                        totals(res, bits_f64(&out))
                    });
                    for (name, zz) in [("z", &z), ("finite z", &z_fin)] {
                        same_on_every_tier(
                            &g,
                            &|| format!("sparse_focal logits {name} {}", what()),
                            &|| {
                                let mut out = vec![0.0f64; rows];
                                let res = focal::sparse_focal(
                                    &labels,
                                    &zz[s.clone()],
                                    (rows, c),
                                    focus,
                                    None,
                                    Weights::None,
                                    pol,
                                    Some((&mut out).into()),
                                );
                                totals(res, bits_f64(&out))
                            },
                        );
                        let z32: Vec<f32> = zz[s.clone()].iter().map(|&x| x as f32).collect();
                        same_on_every_tier(
                            &g,
                            &|| format!("sparse_focal logits f32 {name} {}", what()),
                            &|| {
                                let mut out = vec![0.0f32; rows];
                                let res = focal::sparse_focal(
                                    &labels,
                                    &z32,
                                    (rows, c),
                                    focus,
                                    None,
                                    Weights::PerItem(&w),
                                    pol,
                                    Some((&mut out).into()),
                                );
                                totals(res, bits_f32(&out))
                            },
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn gradients_match_scalar() {
    let g = Forced::take();
    if other_tiers().is_empty() {
        return;
    }
    let mut r = Rng(91);
    for n in lengths() {
        let total = n + 8;
        let y_soft: Vec<f64> = (0..total)
            .map(|_| [0.0, 1.0, 0.3, r.unit(), f64::NAN][r.below(5)])
            .collect();
        let y_hard: Vec<u8> = (0..total).map(|_| r.below(2) as u8).collect();
        let z: Vec<f64> = (0..total).map(|_| logit(&mut r)).collect();
        let z32: Vec<f32> = z.iter().map(|&x| x as f32).collect();
        let w = weights_for(&mut r, total);
        for off in offsets(n) {
            let s = off..off + n;
            let what = || format!("n={n} off={off}");
            same_on_every_tier(&g, &|| format!("grad bce {}", what()), &|| {
                let (mut gr, mut h) = (vec![0.0f64; n], vec![0.0f64; n]);
                let res = grad::binary_logits(
                    &y_soft[s.clone()],
                    &z[s.clone()],
                    Weights::PerItem(&w[s.clone()]),
                    &mut gr,
                    Some((&mut h).into()),
                );
                let mut bits = bits_f64(&gr);
                bits.extend(bits_f64(&h));
                unit_result(res, bits)
            });
            same_on_every_tier(&g, &|| format!("grad bce f32 {}", what()), &|| {
                let mut gr = vec![0.0f32; n];
                let res = grad::binary_logits(
                    &y_hard[s.clone()],
                    &z32[s.clone()],
                    Weights::None,
                    &mut gr,
                    None,
                );
                unit_result(res, bits_f32(&gr))
            });
        }
    }
    for (rows, c) in shapes() {
        let n = rows * c;
        let total = n + 8;
        let z: Vec<f64> = (0..total)
            .map(|_| {
                if r.below(8) == 0 {
                    f64::NEG_INFINITY
                } else {
                    logit(&mut r)
                }
            })
            .collect();
        let z_fin: Vec<f64> = (0..total).map(|_| logit_finite(&mut r)).collect();
        let labels: Vec<u32> = (0..rows)
            .map(|_| if c == 0 { 0 } else { r.below(c) as u32 })
            .collect();
        let w = weights_for(&mut r, rows);
        for off in offsets(c) {
            let s = off..off + n;
            for (name, zz) in [("z", &z), ("finite z", &z_fin)] {
                let what = || format!("{name} rows={rows} c={c} off={off}");
                same_on_every_tier(&g, &|| format!("grad softmax {}", what()), &|| {
                    let (mut gr, mut h) = (vec![0.0f64; n], vec![0.0f64; n]);
                    let res = grad::softmax_logits(
                        &labels,
                        &zz[s.clone()],
                        rows,
                        c,
                        Weights::PerItem(&w),
                        &mut gr,
                        Some((&mut h).into()),
                    );
                    let mut bits = bits_f64(&gr);
                    bits.extend(bits_f64(&h));
                    unit_result(res, bits)
                });
                let z32: Vec<f32> = zz[s.clone()].iter().map(|&x| x as f32).collect();
                same_on_every_tier(&g, &|| format!("grad softmax f32 {}", what()), &|| {
                    let mut gr = vec![0.0f32; n];
                    let res =
                        grad::softmax_logits(&labels, &z32, rows, c, Weights::None, &mut gr, None);
                    unit_result(res, bits_f32(&gr))
                });
            }
        }
    }
}

#[test]
fn grouped_kernels_match_scalar() {
    let g = Forced::take();
    if other_tiers().is_empty() {
        return;
    }
    let mut r = Rng(101);
    let pw: Vec<f64> = (0..2 * LANES + 1).map(|_| r.uniform(0.0, 4.0)).collect();
    for n in lengths() {
        let total = n + 8;
        let y: Vec<f64> = (0..total)
            .map(|_| [0.0, 1.0, 0.3, r.unit(), f64::NAN][r.below(5)])
            .collect();
        let p: Vec<f64> = (0..total).map(|_| prob(&mut r)).collect();
        let z32: Vec<f32> = (0..total).map(|_| logit(&mut r) as f32).collect();
        let w = weights_for(&mut r, total);
        let ids = group_ids(&mut r, total);
        for off in offsets(n) {
            let s = off..off + n;
            let pol = POLICIES[(n + off) % 3];
            let groups = GroupIds {
                ids: (&ids[s.clone()]).into(),
                inner: 1,
            };
            let k = grouped::n_groups(&ids[s.clone()]).unwrap();
            let opts = LossOptions {
                pos_weight: Some(if n % 2 == 0 { &pw[..] } else { &pw[..1] }),
                label_smoothing: 0.1,
                ..LossOptions::default()
            };
            let what = || format!("n={n} off={off} {pol:?} groups={k}");
            same_on_every_tier(&g, &|| format!("grouped binary prob {}", what()), &|| {
                group_result(grouped::binary(
                    (&y[s.clone()]).into(),
                    (&p[s.clone()]).into(),
                    Some(1e-7),
                    &opts,
                    groups,
                    k,
                    Weights::PerItem(&w[s.clone()]),
                    pol,
                ))
            });
            same_on_every_tier(
                &g,
                &|| format!("grouped binary logits f32 {}", what()),
                &|| {
                    group_result(grouped::binary(
                        (&y[s.clone()]).into(),
                        (&z32[s.clone()]).into(),
                        None,
                        &LossOptions::default(),
                        groups,
                        k,
                        Weights::None,
                        pol,
                    ))
                },
            );
            let focus = Focus {
                gamma: 2.0,
                alpha: Some(0.25),
            };
            same_on_every_tier(&g, &|| format!("grouped binary_focal {}", what()), &|| {
                group_result(grouped::binary_focal(
                    (&y[s.clone()]).into(),
                    (&p[s.clone()]).into(),
                    focus,
                    Some(1e-7),
                    groups,
                    k,
                    Weights::PerItem(&w[s.clone()]),
                    pol,
                ))
            });
            same_on_every_tier(
                &g,
                &|| format!("grouped binary_focal logits f32 {}", what()),
                &|| {
                    group_result(grouped::binary_focal(
                        (&y[s.clone()]).into(),
                        (&z32[s.clone()]).into(),
                        focus,
                        None,
                        groups,
                        k,
                        Weights::None,
                        pol,
                    ))
                },
            );
        }
    }
    for (rows, c) in shapes() {
        let n = rows * c;
        let total = n + 8;
        let t: Vec<f64> = (0..total)
            .map(|_| [0.0, 0.0, 1.0, 0.25, r.unit()][r.below(5)])
            .collect();
        let p: Vec<f64> = (0..total).map(|_| prob_finite(&mut r)).collect();
        let z: Vec<f64> = (0..total).map(|_| logit(&mut r)).collect();
        let z32: Vec<f32> = z.iter().map(|&x| x as f32).collect();
        let labels: Vec<i32> = (0..rows)
            .map(|_| if c == 0 { 0 } else { r.below(c) as i32 })
            .collect();
        let cw: Vec<f64> = (0..c).map(|_| [0.0, 1.0, 0.5, 3.0][r.below(4)]).collect();
        let w = weights_for(&mut r, rows);
        let ids = group_ids(&mut r, rows);
        let groups = GroupIds {
            ids: (&ids).into(),
            inner: 1,
        };
        let k = grouped::n_groups(&ids).unwrap();
        let ignore = if c > 1 { Some(1) } else { None };
        let opts = LossOptions {
            class_weight: Some(&cw),
            label_smoothing: 0.1,
            ignore_index: ignore,
            ..LossOptions::default()
        };
        for off in offsets(c) {
            let s = off..off + n;
            let pol = POLICIES[(c + off) % 3];
            let what = || format!("rows={rows} c={c} off={off} {pol:?} groups={k}");
            same_on_every_tier(
                &g,
                &|| format!("grouped categorical prob {}", what()),
                &|| {
                    group_result(grouped::categorical(
                        (&t[s.clone()]).into(),
                        (&p[s.clone()]).into(),
                        (rows, c),
                        Some(1e-12),
                        &opts,
                        groups,
                        k,
                        Weights::PerItem(&w),
                        pol,
                    ))
                },
            );
            same_on_every_tier(
                &g,
                &|| format!("grouped categorical logits {}", what()),
                &|| {
                    group_result(grouped::categorical(
                        (&t[s.clone()]).into(),
                        (&z[s.clone()]).into(),
                        (rows, c),
                        None,
                        &opts,
                        groups,
                        k,
                        Weights::None,
                        pol,
                    ))
                },
            );
            same_on_every_tier(&g, &|| format!("grouped sparse prob {}", what()), &|| {
                group_result(grouped::sparse(
                    (&labels).into(),
                    (&p[s.clone()]).into(),
                    (rows, c),
                    Some(0.0),
                    &opts,
                    groups,
                    k,
                    Weights::None,
                    pol,
                ))
            });
            same_on_every_tier(
                &g,
                &|| format!("grouped sparse logits f32 {}", what()),
                &|| {
                    group_result(grouped::sparse(
                        (&labels).into(),
                        (&z32[s.clone()]).into(),
                        (rows, c),
                        None,
                        &opts,
                        groups,
                        k,
                        Weights::PerItem(&w),
                        pol,
                    ))
                },
            );
            let cases = [
                (2.0, ClassAlpha::All(0.25), 0.0),
                (0.0, ClassAlpha::None, 0.0),
                (2.0, ClassAlpha::None, 0.2),
            ];
            for (gamma, alpha, smoothing) in cases {
                same_on_every_tier(
                    &g,
                    &|| {
                        format!(
                            "grouped sparse_focal logits γ={gamma} ε={smoothing} {}",
                            what()
                        )
                    },
                    &|| {
                        group_result(grouped::sparse_focal(
                            (&labels).into(),
                            (&z[s.clone()]).into(),
                            (rows, c),
                            focal::SparseFocus {
                                gamma,
                                alpha,
                                ignore,
                                smoothing,
                            },
                            None,
                            groups,
                            k,
                            Weights::PerItem(&w),
                            pol,
                        ))
                    },
                );
                same_on_every_tier(
                    &g,
                    &|| {
                        format!(
                            "grouped sparse_focal prob f32 γ={gamma} ε={smoothing} {}",
                            what()
                        )
                    },
                    &|| {
                        let p32: Vec<f32> = p[s.clone()].iter().map(|&x| x as f32).collect();
                        group_result(grouped::sparse_focal(
                            (&labels).into(),
                            (&p32).into(),
                            (rows, c),
                            focal::SparseFocus {
                                gamma,
                                alpha,
                                ignore: None,
                                smoothing,
                            },
                            Some(f32::EPSILON as f64),
                            groups,
                            k,
                            Weights::None,
                            pol,
                        ))
                    },
                );
            }
        }
    }
}

/// `load_head` / `load_head_f32` on every tier: the live values, then `fill`, bit for bit as
/// the Scalar tier's lanes built in memory; the values read only from the slice given (the
/// slices end at a page-sized allocation's last element, so a read past them would fault
/// under a memory checker).
#[test]
fn partial_loads_match_scalar() {
    struct Heads<'a>(&'a [f64], &'a [f32], f64);
    impl WithSimd for Heads<'_> {
        type Output = Vec<u64>;
        fn with_simd<S: Simd>(self, s: S) -> Vec<u64> {
            let mut bits = Vec::new();
            for n in 0..=LANES + 1 {
                let (a, b) = (
                    &self.0[self.0.len() - n.min(self.0.len())..],
                    &self.1[self.1.len() - n.min(self.1.len())..],
                );
                for v in [s.load_head(a, self.2), s.load_head_f32(b, self.2)] {
                    bits.extend(s.store(v).iter().map(|x| x.to_bits()));
                }
            }
            bits
        }
    }
    let _forced = Forced::take();
    let f64s: Vec<f64> = (0..512).map(|i| (i as f64 - 100.5) / 3.0).collect();
    let f32s: Vec<f32> = (0..1024).map(|i| (i as f32 - 100.5) / 3.0).collect();
    for fill in [0.0, -0.0, 0.5, 1.0, f64::NEG_INFINITY, f64::NAN] {
        let run = |tier| run_on(tier, Heads(&f64s, &f32s, fill)).ok().unwrap();
        let want = run(Tier::Scalar);
        // The expected lanes: the slice's values, then `fill`.
        assert_eq!(want[..2 * LANES], vec![fill.to_bits(); 2 * LANES][..]);
        let three = &want[3 * 2 * LANES..3 * 2 * LANES + LANES];
        let tail = f64s[f64s.len() - 3..].iter().map(|x| x.to_bits());
        let lanes: Vec<u64> = tail.chain([fill.to_bits(); LANES - 3]).collect();
        assert_eq!(three, &lanes[..]);
        for tier in other_tiers() {
            assert_eq!(run(tier), want, "{tier:?} fill {fill}");
        }
    }
}

/// `reduce_sum_each` (eight horizontal sums transposed into one vector) gives, lane by lane,
/// the bits of `reduce_sum` of each vector, on every tier: lanes of mixed magnitude and sign
/// (whose sum depends on the order of the adds), signed zeros, infinities and NaN.
#[test]
fn transposed_sums_match_one_by_one() {
    struct Sums<'a>(&'a [f64]);
    impl WithSimd for Sums<'_> {
        type Output = Vec<u64>;
        fn with_simd<S: Simd>(self, s: S) -> Vec<u64> {
            let mut bits = Vec::new();
            for rows in self.0.chunks_exact(LANES * LANES) {
                let v: Vec<S::V> = rows
                    .chunks_exact(LANES)
                    .map(|r| s.load(r.try_into().unwrap()))
                    .collect();
                let each = s.store(s.reduce_sum_each(v.clone().try_into().ok().unwrap()));
                for (j, &x) in v.iter().enumerate() {
                    assert_eq!(each[j].to_bits(), s.reduce_sum(x).to_bits(), "lane {j}");
                }
                bits.extend(each.iter().map(|x| x.to_bits()));
            }
            bits
        }
    }
    let _forced = Forced::take();
    let mut r = Rng(41);
    let specials = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1e300,
        -1e-300,
    ];
    let values: Vec<f64> = (0..LANES * LANES * 64)
        .map(|i| match i % 13 {
            0 => specials[(i / 13) % specials.len()],
            k => (r.unit() - 0.5) * 10f64.powi(k as i32 * 3 - 18),
        })
        .collect();
    let want = run_on(Tier::Scalar, Sums(&values)).ok().unwrap();
    for tier in other_tiers() {
        assert_eq!(run_on(tier, Sums(&values)).ok().unwrap(), want, "{tier:?}");
    }
}
