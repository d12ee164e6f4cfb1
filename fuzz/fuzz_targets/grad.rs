//! The gradients (and Hessians) of binary cross-entropy and softmax cross-entropy from logits:
//! every tier and thread count gives the Scalar bits, nothing panics, errors name a real
//! index; and for finite logits, targets in [0, 1] and finite weights, the outputs match a
//! plain f64 reference (`g = s·(σ(z) − y)`, `h = s·σ(z)·(1 − σ(z))`; for softmax a row's
//! gradients sum to ~0) within a loose tolerance.
#![no_main]

mod common;

use arbitrary::{Result, Unstructured};
use common::*;
use libfuzzer_sys::fuzz_target;
use plogp_core::input::{Element, IntElement};
use plogp_core::{grad, Ints, Real};

/// Output buffers of `n` values each (the Hessian's only with `hessian`).
fn buffers<P: Real>(n: usize, hessian: bool) -> (Vec<P>, Vec<P>) {
    (out_buf::<P>(n), out_buf::<P>(if hessian { n } else { 0 }))
}

fn outcome<P: Real>(r: plogp_core::Result<()>, g: &[P], h: &[P]) -> Outcome {
    let mut all: Vec<P> = g.to_vec();
    all.extend_from_slice(h);
    unit_outcome(r, &all)
}

/// Relative tolerance of the reference comparison: a few ulp of the output type on each of
/// the few operations, generously.
fn tolerance<P: Real>() -> f64 {
    64.0 * P::EPSILON
}

fn binary<Y: Element + AsF64, P: Gen>(
    u: &mut Unstructured<'_>,
    y_gen: impl FnMut(&mut Unstructured<'_>) -> Result<Y>,
) -> Result<()> {
    let n = length(u)?;
    let y = values(u, n, y_gen)?;
    let z = floats::<P>(u, n)?;
    let w = weights(u, n)?;
    let hessian = u.arbitrary::<bool>()?;
    let threads = threads(u)?;
    let run = |g: &mut Vec<P>, h: &mut Vec<P>| {
        let hh = hessian.then_some((&mut h[..]).into());
        let r = grad::binary_logits(&y, &z, w.view(), &mut g[..], hh);
        if let Err(e) = &r {
            check_error(e, n, n, None);
        }
        r
    };
    same_everywhere(threads, || {
        let (mut g, mut h) = buffers::<P>(n, hessian);
        let r = run(&mut g, &mut h);
        outcome(r, &g, &h)
    });
    let (mut g, mut h) = buffers::<P>(n, hessian);
    if run(&mut g, &mut h).is_ok() {
        for i in 0..n {
            let (zi, yi, si) = (z[i].to_f64(), y[i].as_f64(), w.get(i));
            // Weights up to 2^16 keep every reference value far from overflow in f32.
            if !(zi.is_finite() && (0.0..=65536.0).contains(&si) && (0.0..=1.0).contains(&yi)) {
                continue;
            }
            let sig = 1.0 / (1.0 + (-zi).exp());
            let want = si * (sig - yi);
            let got = g[i].to_f64();
            let scale = si * (sig + yi);
            assert!(
                (got - want).abs() <= tolerance::<P>() * scale + tiny::<P>(),
                "g[{i}] = {got:e}, reference {want:e} (z = {zi:e}, y = {yi}, s = {si:e})"
            );
            if hessian {
                let want = si * sig * (1.0 - sig);
                let got = h[i].to_f64();
                assert!(
                    (got - want).abs() <= tolerance::<P>() * si * 0.25 + tiny::<P>()
                        || (got - want).abs() <= tolerance::<P>() * want.abs(),
                    "h[{i}] = {got:e}, reference {want:e} (z = {zi:e}, s = {si:e})"
                );
            }
        }
    }
    Ok(())
}

fn softmax<L: IntElement + Int, P: Gen>(u: &mut Unstructured<'_>) -> Result<()> {
    let (n_rows, c) = shape(u)?;
    let labels = values(u, n_rows, |u| int::<L>(u, c))?;
    let z = floats::<P>(u, n_rows * c)?;
    let w = weights(u, n_rows)?;
    let hessian = u.arbitrary::<bool>()?;
    let threads = threads(u)?;
    let run = |g: &mut Vec<P>, h: &mut Vec<P>| {
        let hh = hessian.then_some((&mut h[..]).into());
        let r = grad::softmax_logits(&labels, &z, n_rows, c, w.view(), &mut g[..], hh);
        if let Err(e) = &r {
            check_error(e, n_rows * c, n_rows, Some(c));
        }
        r
    };
    same_everywhere(threads, || {
        let (mut g, mut h) = buffers::<P>(n_rows * c, hessian);
        let r = run(&mut g, &mut h);
        outcome(r, &g, &h)
    });
    let (mut g, mut h) = buffers::<P>(n_rows * c, hessian);
    if run(&mut g, &mut h).is_ok() {
        let ints: Ints<'_> = (&labels).into();
        for r in 0..n_rows {
            let row = &z[r * c..(r + 1) * c];
            let s = w.get(r);
            if !((0.0..=65536.0).contains(&s) && row.iter().all(|x| x.to_f64().is_finite())) {
                continue;
            }
            // softmax in f64 from the max-shifted exponentials.
            let m = row
                .iter()
                .map(|x| x.to_f64())
                .fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|x| (x.to_f64() - m).exp()).collect();
            let total: f64 = e.iter().sum();
            let label = ints.get(r) as usize;
            for k in 0..c {
                let p = e[k] / total;
                let want = s * (p - if k == label { 1.0 } else { 0.0 });
                let got = g[r * c + k].to_f64();
                assert!(
                    (got - want).abs() <= tolerance::<P>() * s * (p + 1.0) + tiny::<P>(),
                    "g[{r}, {k}] = {got:e}, reference {want:e} (s = {s:e})"
                );
                if hessian {
                    let want = s * p * (1.0 - p);
                    let got = h[r * c + k].to_f64();
                    assert!(
                        (got - want).abs() <= tolerance::<P>() * s * 0.25 + tiny::<P>(),
                        "h[{r}, {k}] = {got:e}, reference {want:e} (s = {s:e})"
                    );
                }
            }
        }
    }
    Ok(())
}

fn fuzz(u: &mut Unstructured<'_>) -> Result<()> {
    let p64 = u.arbitrary::<bool>()?;
    macro_rules! go {
        ($f:ident :: < $t:ty > $(, $gen:expr)?) => {
            if p64 {
                $f::<$t, f64>(u $(, $gen)?)
            } else {
                $f::<$t, f32>(u $(, $gen)?)
            }
        };
    }
    match u.int_in_range(0u8..=8)? {
        0 => go!(binary::<f64>, f64::gen),
        1 => go!(binary::<f32>, f32::gen),
        2 => go!(binary::<bool>, |u: &mut Unstructured<'_>| int::<bool>(u, 2)),
        3 => go!(binary::<u8>, |u: &mut Unstructured<'_>| int::<u8>(u, 2)),
        4 => go!(softmax::<i64>),
        5 => go!(softmax::<u8>),
        6 => go!(softmax::<i32>),
        7 => go!(softmax::<u16>),
        _ => go!(softmax::<i8>),
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = fuzz(&mut Unstructured::new(data));
});
