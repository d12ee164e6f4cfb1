//! ULP error of the math primitives `exp`, `ln`, `ln_1p` against a double-double reference.
//!
//! The reference (below) carries ~104 bits: exp by reduction modulo ln 2, division by 2^8,
//! a Taylor series and 8 squarings in double-double; ln and ln_1p by one Newton step on
//! that exp from the f64 libm value, or by the series of ln(1 + t) when |t| < 2^-6 (where
//! the Newton step's absolute error would matter). Its error is far below 10^-3 ulp, so the
//! measured maximum is the primitive's own error.
//!
//! Each function is evaluated through the vector path on the best tier of this machine
//! (`tests/tiers.rs` checks that every tier and the scalar functions give the same bits),
//! on 10^7 random inputs spread over ranges that stress each method, plus special values.

mod common;
use common::Rng;
use plogp_core::math;
use plogp_core::simd::{run_on, supported_tiers, Simd, WithSimd, LANES};

// ---------------------------------------------------------------------------------------
// Double-double arithmetic: a value is hi + lo with |lo| ≤ ulp(hi)/2.

#[derive(Clone, Copy, Debug)]
struct Dd {
    hi: f64,
    lo: f64,
}

fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    Dd {
        hi: s,
        lo: (a - (s - bb)) + (b - bb),
    }
}

fn fast_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    Dd {
        hi: s,
        lo: b - (s - a),
    }
}

fn two_prod(a: f64, b: f64) -> Dd {
    let p = a * b;
    Dd {
        hi: p,
        lo: a.mul_add(b, -p),
    }
}

impl Dd {
    fn from(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }
    fn add(self, o: Dd) -> Dd {
        let s = two_sum(self.hi, o.hi);
        let t = two_sum(self.lo, o.lo);
        let s = fast_two_sum(s.hi, s.lo + t.hi);
        fast_two_sum(s.hi, s.lo + t.lo)
    }
    fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
    fn sub(self, o: Dd) -> Dd {
        self.add(o.neg())
    }
    fn mul(self, o: Dd) -> Dd {
        let p = two_prod(self.hi, o.hi);
        fast_two_sum(p.hi, p.lo + (self.hi * o.lo + self.lo * o.hi))
    }
    fn mul_f(self, b: f64) -> Dd {
        let p = two_prod(self.hi, b);
        fast_two_sum(p.hi, p.lo + self.lo * b)
    }
    fn div_f(self, b: f64) -> Dd {
        let q1 = self.hi / b;
        let r = self.sub(two_prod(q1, b));
        let q2 = r.hi / b;
        let r = r.sub(two_prod(q2, b));
        let q3 = r.hi / b;
        fast_two_sum(q1, q2).add(Dd::from(q3))
    }
}

/// ln 2 to ~160 bits as three doubles.
const LN2: [f64; 3] = [
    f64::from_bits(0x3FE6_2E42_FEFA_39EF),
    f64::from_bits(0x3C7A_BC9E_3B39_803F),
    f64::from_bits(0x3907_B57A_079A_1934),
];

/// `2^e` for any integer e in the normal or subnormal range (by repeated scaling).
fn pow2(e: i32) -> f64 {
    ldexp(1.0, e)
}

/// `x·2^e`, exact whenever the result is a normal number.
fn ldexp(x: f64, e: i32) -> f64 {
    let mut x = x;
    let mut e = e;
    while e > 1000 {
        x *= f64::from_bits(0x7E70_0000_0000_0000); // 2^1000
        e -= 1000;
    }
    while e < -1000 {
        x *= f64::from_bits(0x0170_0000_0000_0000); // 2^-1000
        e += 1000;
    }
    x * f64::from_bits(((e + 1023) as u64) << 52)
}

/// 1/n! for n = 0..=11 as double-doubles.
fn inv_factorials() -> &'static [Dd; 12] {
    static T: std::sync::OnceLock<[Dd; 12]> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut t = [Dd::from(1.0); 12];
        for n in 1..12 {
            t[n] = t[n - 1].div_f(n as f64);
        }
        t
    })
}

/// `e^x = m·2^k` with m as a double-double in about [0.7, 1.5], for |x| ≤ 1100.
fn exp_dd(x: Dd) -> (Dd, i32) {
    let k = (x.hi / LN2[0]).round();
    // r = x − k·ln2, with k·ln2 to ~150 bits.
    let kl = two_prod(k, LN2[0])
        .add(two_prod(k, LN2[1]))
        .add(Dd::from(k * LN2[2]));
    let r = x.sub(kl);
    let r = Dd {
        hi: r.hi / 256.0,
        lo: r.lo / 256.0,
    };
    // e^r − 1 by its Taylor series to degree 11, |r| ≤ 1.4e-3: truncation below 2^-140.
    let c = inv_factorials();
    let mut sum = c[11];
    for n in (1..11).rev() {
        sum = sum.mul(r).add(c[n]);
    }
    sum = sum.mul(r);
    // (1 + sum)^(2^8) via (1 + s)² = 1 + (2s + s²), keeping the small part separate.
    for _ in 0..8 {
        sum = sum.mul_f(2.0).add(sum.mul(sum));
    }
    (Dd::from(1.0).add(sum), k as i32)
}

/// ln(1 + t) for |t| < 2^-6 by its series (t may be subnormal).
fn ln_1p_series(t: Dd) -> Dd {
    let mut power = t;
    let mut sum = t;
    for n in 2..=24 {
        power = power.mul(t);
        let term = power.div_f(n as f64);
        sum = if n % 2 == 0 {
            sum.sub(term)
        } else {
            sum.add(term)
        };
    }
    sum
}

/// Exact split of a positive finite x: x = m·2^e with m in [1, 2).
fn frexp(x: f64) -> (f64, i32) {
    let mut e = 0;
    let mut m = x;
    if m < f64::MIN_POSITIVE {
        m *= 2f64.powi(64);
        e -= 64;
    }
    let bits = m.to_bits();
    let be = ((bits >> 52) & 0x7FF) as i32 - 1023;
    (
        f64::from_bits((bits & !(0x7FFu64 << 52)) | (1023u64 << 52)),
        e + be,
    )
}

/// ln(u) for a positive finite double-double u = m·2^e (m a double-double near [1, 2)):
/// one Newton step y1 = y0 + u·e^-y0 − 1 from y0 ≈ ln u, or the series near u = 1.
fn ln_dd_scaled(m: Dd, e: i32, y0: f64) -> Dd {
    if e == 0 && (m.hi - 1.0).abs() < 1.0 / 64.0 {
        return ln_1p_series(m.sub(Dd::from(1.0)));
    }
    let (em, ek) = exp_dd(Dd::from(-y0));
    // u·e^-y0 = m·em·2^(e + ek), with e + ek small.
    let prod = m.mul(em);
    let sc = pow2(e + ek);
    let prod = Dd {
        hi: prod.hi * sc,
        lo: prod.lo * sc,
    };
    Dd::from(y0).add(prod.sub(Dd::from(1.0)))
}

fn ln_ref(x: f64) -> Dd {
    let (m, e) = frexp(x);
    let (m, e) = if m > 1.5 { (m / 2.0, e + 1) } else { (m, e) };
    ln_dd_scaled(Dd::from(m), e, x.ln())
}

fn ln_1p_ref(x: f64) -> Dd {
    if x.abs() < 1.0 / 64.0 {
        return ln_1p_series(Dd::from(x));
    }
    let u = two_sum(1.0, x);
    let (m, e) = frexp(u.hi);
    let scale = pow2(-e);
    let mut mm = Dd {
        hi: m,
        lo: u.lo * scale,
    };
    let mut e = e;
    if m > 1.5 {
        mm = Dd {
            hi: mm.hi / 2.0,
            lo: mm.lo / 2.0,
        };
        e += 1;
    }
    ln_dd_scaled(mm, e, x.ln_1p())
}

/// Error of `y` in ulps of the reference value `m·2^k` (the ulp of a subnormal is 2^-1074).
fn ulp_err(y: f64, m: Dd, k: i32) -> f64 {
    let v = m.hi + m.lo;
    if v == 0.0 {
        return if y == 0.0 { 0.0 } else { f64::INFINITY };
    }
    let (_, ev) = frexp(v.abs());
    let e = ev + k; // exponent of the reference
    let ulp_e = (e - 52).max(-1074);
    if e > 1023 {
        // The reference overflows: +inf is right when it is beyond MAX + ulp/2.
        return if y.is_infinite() { 0.0 } else { f64::INFINITY };
    }
    if !y.is_finite() {
        // Only right if the reference is within half an ulp of overflowing.
        return f64::INFINITY;
    }
    // Compare in the scaled domain: y·2^-k against m.
    let ys = ldexp(y, -k);
    let diff = Dd::from(ys).sub(m);
    ((diff.hi + diff.lo) / pow2(ulp_e - k)).abs()
}

// ---------------------------------------------------------------------------------------
// Inputs.

type Gen = fn(&mut Rng) -> f64;

// ---------------------------------------------------------------------------------------
// Evaluation through the vector path.

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
            let v = s.load(xc.try_into().unwrap());
            let y = match self.f {
                Fun::Exp => s.exp(v),
                Fun::Ln => s.ln(v),
                Fun::Ln1p => s.ln_1p(v),
            };
            oc.copy_from_slice(&s.store(y));
        }
    }
}

fn eval(f: Fun, x: &[f64]) -> Vec<f64> {
    assert_eq!(x.len() % LANES, 0);
    let mut out = vec![0.0; x.len()];
    let best = *supported_tiers().last().unwrap();
    if run_on(
        best,
        Map {
            f,
            x,
            out: &mut out,
        },
    )
    .is_err()
    {
        panic!("best tier not runnable");
    }
    out
}

fn reference(f: Fun, x: f64) -> (Dd, i32) {
    match f {
        Fun::Exp => exp_dd(Dd::from(x)),
        Fun::Ln => (ln_ref(x), 0),
        Fun::Ln1p => (ln_1p_ref(x), 0),
    }
}

/// Max ulp error of `f` over `n` inputs from each generator (two threads), with the worst
/// input. Inputs where the reference is not finite are skipped (special values are tested
/// separately).
fn max_ulp(f: Fun, gens: &[(&str, Gen)], n: usize) -> (f64, f64) {
    let mut worst = (0.0f64, f64::NAN);
    for (gi, (name, g)) in gens.iter().enumerate() {
        let mut rng = Rng(0x5EED ^ (gi as u64) << 32);
        let x: Vec<f64> = (0..n).map(|_| g(&mut rng)).collect();
        let y = eval(f, &x);
        let half = x.len() / 2;
        let part = |xs: &[f64], ys: &[f64]| {
            let mut w = (0.0f64, f64::NAN);
            for (&xi, &yi) in xs.iter().zip(ys) {
                let (m, k) = reference(f, xi);
                let e = ulp_err(yi, m, k);
                if e.is_nan() || e > w.0 {
                    w = (e, xi);
                }
            }
            w
        };
        let (a, b) = std::thread::scope(|sc| {
            let h = sc.spawn(|| part(&x[..half], &y[..half]));
            let b = part(&x[half..], &y[half..]);
            (h.join().unwrap(), b)
        });
        for w in [a, b] {
            eprintln!("{name}: max {:.4} ulp at {:e}", w.0, w.1);
            if w.0.is_nan() || w.0 > worst.0 {
                worst = w;
            }
        }
    }
    worst
}

/// Per generator; 8 generators per function × 1.25·10^6 = 10^7 inputs.
const N: usize = 1_250_000;

/// The bound each primitive is documented with: the measured maximum (exp 0.5306, ln 0.6255,
/// ln_1p 0.6240 ulp with these seeds), rounded up.
const EXP_BOUND: f64 = 0.54;
const LN_BOUND: f64 = 0.64;
const LN_1P_BOUND: f64 = 0.64;

#[test]
fn exp_ulp() {
    let gens: [(&str, Gen); 8] = [
        ("full range", |r| r.uniform(-745.2, 709.79)),
        ("|x| ≤ 1", |r| r.uniform(-1.0, 1.0)),
        ("|x| ≤ ln2/2", |r| r.uniform(-0.3466, 0.3466)),
        ("tiny", |r| r.sign() * r.log_uniform(-80.0, 0.0)),
        ("subnormal results", |r| r.uniform(-745.2, -708.3)),
        ("near overflow", |r| r.uniform(700.0, 709.7827)),
        ("half-integer multiples of ln2", |r| {
            let k = (r.next() % 2048) as f64 - 1024.0;
            k * 0.5 * std::f64::consts::LN_2 * (1.0 + r.uniform(-1e-12, 1e-12))
        }),
        ("|x| ≤ 30", |r| r.uniform(-30.0, 30.0)),
    ];
    let (e, x) = max_ulp(Fun::Exp, &gens, N);
    eprintln!("exp: max {e:.4} ulp at x = {x:e}");
    assert!(e <= EXP_BOUND, "exp: {e} ulp at x = {x:e}");
}

#[test]
fn ln_ulp() {
    let gens: [(&str, Gen); 8] = [
        ("all positive finite bit patterns", |r| loop {
            let x = f64::from_bits(r.next() >> 1);
            if x.is_finite() && x > 0.0 {
                break x;
            }
        }),
        ("[0.5, 2]", |r| r.uniform(0.5, 2.0)),
        ("1 ± tiny", |r| 1.0 + r.sign() * r.log_uniform(-60.0, -3.0)),
        ("near √2/2 and √2", |r| {
            let b = if r.next() & 1 == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                std::f64::consts::SQRT_2
            };
            b * (1.0 + r.uniform(-1e-6, 1e-6))
        }),
        ("[0, 1]", |r| r.unit()),
        ("subnormal", |r| {
            f64::from_bits(r.next() % (1 << 52)).max(f64::from_bits(1))
        }),
        ("log-uniform", |r| r.log_uniform(-1070.0, 1023.0)),
        ("[1, 1e6]", |r| r.uniform(1.0, 1e6)),
    ];
    let (e, x) = max_ulp(Fun::Ln, &gens, N);
    eprintln!("ln: max {e:.4} ulp at x = {x:e}");
    assert!(e <= LN_BOUND, "ln: {e} ulp at x = {x:e}");
}

#[test]
fn ln_1p_ulp() {
    let gens: [(&str, Gen); 8] = [
        ("log-uniform positive", |r| r.log_uniform(-1074.0, 1023.0)),
        ("log-uniform in (-1, 0)", |r| {
            -r.log_uniform(-1074.0, -1e-12)
        }),
        ("[-1, 1]", |r| {
            r.uniform(-1.0, 1.0).max(-1.0 + f64::EPSILON / 2.0)
        }),
        ("-1 + tiny", |r| -1.0 + r.log_uniform(-53.0, -1.0)),
        ("tiny", |r| r.sign() * r.log_uniform(-80.0, -6.0)),
        ("[-0.5, 1]", |r| r.uniform(-0.5, 1.0)),
        ("1 + x near √2/2 and √2", |r| {
            let b = if r.next() & 1 == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                std::f64::consts::SQRT_2
            };
            b * (1.0 + r.uniform(-1e-6, 1e-6)) - 1.0
        }),
        ("[1, 2^60]", |r| r.log_uniform(0.0, 60.0)),
    ];
    let (e, x) = max_ulp(Fun::Ln1p, &gens, N);
    eprintln!("ln_1p: max {e:.4} ulp at x = {x:e}");
    assert!(e <= LN_1P_BOUND, "ln_1p: {e} ulp at x = {x:e}");
}

/// The reference itself, on values known to many digits.
#[test]
fn reference_is_accurate() {
    let (m, k) = exp_dd(Dd::from(1.0));
    assert_eq!(k, 1);
    let e = m.mul_f(2.0);
    assert_eq!(e.hi, std::f64::consts::E);
    // e = 2.718281828459045 + 1.4456468917292502e-16 (lo part of e as a double-double).
    assert!((e.lo - 1.4456468917292502e-16).abs() < 1e-31, "{:e}", e.lo);
    let l = ln_ref(2.0);
    assert_eq!(l.hi, LN2[0]);
    assert!((l.lo - LN2[1]).abs() < 1e-31);
    let l = ln_ref(10.0);
    assert_eq!(l.hi, std::f64::consts::LN_10);
    // ln 10 = 2.302585092994046 − 2.1707562233822494e-16.
    assert!((l.lo + 2.1707562233822494e-16).abs() < 1e-31, "{:e}", l.lo);
    let l = ln_1p_ref(1e-300);
    assert_eq!(l.hi, 1e-300);
}

fn bits_eq(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn special_values() {
    let inf = f64::INFINITY;
    let nan = f64::NAN;
    let tiny = f64::from_bits(1);
    let cases_exp = [
        (0.0, 1.0),
        (-0.0, 1.0),
        (tiny, 1.0),
        (-tiny, 1.0),
        (inf, inf),
        (-inf, 0.0),
        (709.8, inf),
        (1e300, inf),
        (f64::MAX, inf),
        (-745.2, 0.0),
        (-1e300, 0.0),
        (-f64::MAX, 0.0),
        (nan, nan),
        (1.0, std::f64::consts::E),
    ];
    for (x, want) in cases_exp {
        let got = math::exp(x);
        assert!(bits_eq(got, want), "exp({x:e}) = {got:e}, want {want:e}");
    }
    // Largest finite result and the smallest subnormal.
    assert_eq!(math::exp(709.782712893384), 1.7976931348622732e308);
    assert_eq!(math::exp(-745.1332191019411), 5e-324);
    assert_eq!(math::exp(-744.4400719213812), 5e-324);

    let cases_ln = [
        (1.0, 0.0),
        (0.0, -inf),
        (-0.0, -inf),
        (-tiny, nan),
        (-1.0, nan),
        (-inf, nan),
        (inf, inf),
        (nan, nan),
        (tiny, -744.4400719213812),
        (f64::MIN_POSITIVE, -708.3964185322641),
        (f64::MAX, 709.782712893384),
        (2.0, std::f64::consts::LN_2),
        (std::f64::consts::E, 1.0),
    ];
    for (x, want) in cases_ln {
        let got = math::ln(x);
        assert!(bits_eq(got, want), "ln({x:e}) = {got:e}, want {want:e}");
    }

    let cases_ln_1p = [
        (0.0, 0.0),
        (-0.0, -0.0),
        (tiny, tiny),
        (-tiny, -tiny),
        (1e-300, 1e-300),
        (-1.0, -inf),
        (-1.0 - f64::EPSILON, nan),
        (-inf, nan),
        (inf, inf),
        (nan, nan),
        (f64::MAX, 709.782712893384),
        (1.0, std::f64::consts::LN_2),
        (-0.5, -std::f64::consts::LN_2),
    ];
    for (x, want) in cases_ln_1p {
        let got = math::ln_1p(x);
        assert!(bits_eq(got, want), "ln_1p({x:e}) = {got:e}, want {want:e}");
    }
    // NaN payloads pass through (quieted); the sign of a NaN input is kept.
    let payload = f64::from_bits(0x7FF8_0000_0000_1234);
    assert_eq!(math::exp(payload).to_bits(), payload.to_bits());
    assert_eq!(math::ln(-payload).to_bits(), (-payload).to_bits());
    assert_eq!(math::ln_1p(payload).to_bits(), payload.to_bits());
}

/// Monotonic around the points where the methods switch (reduction boundaries, fast/rare
/// path limits): a drop there would reveal a seam.
#[test]
fn monotonic_at_seams() {
    let step = |x: f64, up: bool| {
        if up {
            f64::from_bits(
                x.to_bits()
                    .wrapping_add(if x >= 0.0 { 1 } else { u64::MAX }),
            )
        } else {
            f64::from_bits(x.to_bits().wrapping_add(if x > 0.0 { u64::MAX } else { 1 }))
        }
    };
    let check = |name: &str, f: fn(f64) -> f64, centre: f64| {
        let mut x = centre;
        for _ in 0..2000 {
            x = step(x, false);
        }
        let mut prev = f(x);
        for _ in 0..4000 {
            x = step(x, true);
            let y = f(x);
            assert!(
                y >= prev,
                "{name} not monotonic at {x:e}: {prev:e} then {y:e}"
            );
            prev = y;
        }
    };
    for c in [
        700.0,
        -700.0,
        0.5 * std::f64::consts::LN_2,
        -0.5 * std::f64::consts::LN_2,
        -708.39641853226,
        709.78,
    ] {
        check("exp", math::exp, c);
    }
    for c in [
        std::f64::consts::FRAC_1_SQRT_2,
        std::f64::consts::SQRT_2,
        1.0,
        f64::MIN_POSITIVE,
    ] {
        check("ln", math::ln, c);
    }
    for c in [
        std::f64::consts::SQRT_2 - 1.0,
        std::f64::consts::FRAC_1_SQRT_2 - 1.0,
        0.0,
        2f64.powi(53),
        2f64.powi(1000),
    ] {
        check("ln_1p", math::ln_1p, c);
    }
}
