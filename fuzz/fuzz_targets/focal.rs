//! The binary focal loss (probabilities, logits; γ, α) and the sparse focal loss (α none /
//! scalar / per class, `ignore_index`): every tier and thread count gives the Scalar bits,
//! nothing panics, errors name a real index; γ = 0 without α is plain cross-entropy, bit for
//! bit (the documented reduction), and an ignored row's output is exactly 0.
#![no_main]

mod common;

use arbitrary::{Result, Unstructured};
use common::*;
use libfuzzer_sys::fuzz_target;
use plogp_core::focal::{self, ClassAlpha, Focus, SparseFocus};
use plogp_core::input::{Element, IntElement};
use plogp_core::{binary, categorical, NanPolicy};

fn binary_focal<Y: Element, P: Gen>(
    u: &mut Unstructured<'_>,
    y_gen: impl FnMut(&mut Unstructured<'_>) -> Result<Y>,
) -> Result<()> {
    let logits = u.arbitrary::<bool>()?;
    let n = length(u)?;
    let y = values(u, n, y_gen)?;
    let p = floats::<P>(u, n)?;
    let w = weights(u, n)?;
    let nan = nan_policy(u)?;
    let eps = if logits { None } else { Some(eps::<P>(u)?) };
    let focus = Focus {
        gamma: gamma(u)?,
        alpha: if u.arbitrary::<bool>()? {
            Some(unit(u)?)
        } else {
            None
        },
    };
    let with_out = u.arbitrary::<bool>()?;
    let threads = threads(u)?;
    let run = || {
        let mut out = out_buf::<P>(if with_out { n } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let r = focal::binary_focal((&y).into(), (&p).into(), focus, eps, w.view(), nan, o);
        if let Err(e) = &r {
            check_error(e, n, n, None);
        }
        loss_outcome(r, &out)
    };
    same_everywhere(threads, run);
    if focus.gamma == 0.0 && focus.alpha.is_none() {
        let mut out = out_buf::<P>(if with_out { n } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let plain = match eps {
            None => binary::bce_logits(&y, &p, w.view(), nan, o),
            Some(eps) => binary::bce_prob(&y, &p, eps, w.view(), nan, o),
        };
        assert!(
            loss_outcome(plain, &out) == run(),
            "γ = 0: not cross-entropy"
        );
    }
    Ok(())
}

fn sparse_focal<L: IntElement + Int, P: Gen>(u: &mut Unstructured<'_>) -> Result<()> {
    let logits = u.arbitrary::<bool>()?;
    let (n_rows, c) = shape(u)?;
    let labels = values(u, n_rows, |u| int::<L>(u, c))?;
    let p = floats::<P>(u, n_rows * c)?;
    let w = weights(u, n_rows)?;
    let nan = nan_policy(u)?;
    let eps = if logits { None } else { Some(eps::<P>(u)?) };
    let g = gamma(u)?;
    let per_class = values(u, c, unit)?;
    let alpha = match u.int_in_range(0u8..=2)? {
        0 => ClassAlpha::None,
        1 => ClassAlpha::All(unit(u)?),
        _ => ClassAlpha::PerClass(&per_class),
    };
    let ignore = ignore_index(u, c)?;
    let smoothing = if u.arbitrary::<bool>()? { unit(u)? } else { 0.0 };
    let focus = SparseFocus {
        gamma: g,
        alpha,
        ignore,
        smoothing,
    };
    let with_out = u.arbitrary::<bool>()?;
    let threads = threads(u)?;
    let run = |out: &mut Vec<P>| {
        let o = with_out.then_some((&mut out[..]).into());
        let r = focal::sparse_focal(
            &labels,
            &p,
            (n_rows, c),
            focus,
            eps,
            w.view(),
            nan,
            o,
        );
        if let Err(e) = &r {
            check_error(e, n_rows * c, n_rows, Some(c));
        }
        r
    };
    same_everywhere(threads, || {
        let mut out = out_buf::<P>(if with_out { n_rows } else { 0 });
        let r = run(&mut out);
        loss_outcome(r, &out)
    });
    let mut out = out_buf::<P>(if with_out { n_rows } else { 0 });
    let r = run(&mut out);
    if with_out && r.is_ok() {
        if let Some(ignore) = ignore {
            let ints: plogp_core::Ints<'_> = (&labels).into();
            for (k, o) in out.iter().enumerate() {
                if ints.get(k) == ignore && nan != NanPolicy::Raise {
                    assert!(
                        o.to_f64() == 0.0,
                        "ignored row {k} has loss {:e}",
                        o.to_f64()
                    );
                }
            }
        }
    }
    if g == 0.0 && matches!(alpha, ClassAlpha::None) && ignore.is_none() && smoothing == 0.0 {
        let mut plain_out = out_buf::<P>(if with_out { n_rows } else { 0 });
        let o = with_out.then_some((&mut plain_out[..]).into());
        let plain = match eps {
            None => categorical::sparse_logits(&labels, &p, n_rows, c, w.view(), nan, o),
            Some(eps) => categorical::sparse_prob(&labels, &p, n_rows, c, eps, w.view(), nan, o),
        };
        assert!(
            loss_outcome(plain, &plain_out) == loss_outcome(r, &out),
            "γ = 0: not cross-entropy"
        );
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
        0 => go!(binary_focal::<f64>, f64::gen),
        1 => go!(binary_focal::<f32>, f32::gen),
        2 => go!(
            binary_focal::<bool>,
            |u: &mut Unstructured<'_>| int::<bool>(u, 2)
        ),
        3 => go!(binary_focal::<i64>, |u: &mut Unstructured<'_>| int::<i64>(
            u, 2
        )),
        4 => go!(sparse_focal::<i64>),
        5 => go!(sparse_focal::<u8>),
        6 => go!(sparse_focal::<i16>),
        7 => go!(sparse_focal::<u32>),
        _ => go!(sparse_focal::<i8>),
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = fuzz(&mut Unstructured::new(data));
});
