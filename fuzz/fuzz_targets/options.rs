//! The loss options (`pos_weight`, `class_weight`, `label_smoothing`, `ignore_index`) of the
//! binary, categorical and sparse cross-entropies, from probabilities and logits, with
//! targets and labels of several types: every tier and thread count gives the Scalar bits,
//! nothing panics, errors name a real index. Without any option set the entry points must
//! equal the plain kernels bit for bit (their documented fast path).
#![no_main]

mod common;

use arbitrary::{Result, Unstructured};
use common::*;
use libfuzzer_sys::fuzz_target;
use plogp_core::input::{Element, IntElement};
use plogp_core::{binary, categorical, loss_options, LossOptions};

fn bce<Y: Element, P: Gen>(
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
    let pw = pos_weight(u)?;
    let label_smoothing = if u.arbitrary::<bool>()? {
        unit(u)?
    } else {
        0.0
    };
    let opts = LossOptions {
        pos_weight: pw.as_deref(),
        label_smoothing,
        ..LossOptions::default()
    };
    let with_out = u.arbitrary::<bool>()?;
    let threads = threads(u)?;
    let run = |opts: &LossOptions<'_>| {
        let mut out = out_buf::<P>(if with_out { n } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let r = loss_options::bce((&y).into(), (&p).into(), eps, opts, w.view(), nan, o);
        if let Err(e) = &r {
            check_error(e, n, n, None);
        }
        loss_outcome(r, &out)
    };
    same_everywhere(threads, || run(&opts));
    if pw.is_none() && label_smoothing == 0.0 {
        let mut out = out_buf::<P>(if with_out { n } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let plain = match eps {
            None => binary::bce_logits(&y, &p, w.view(), nan, o),
            Some(eps) => binary::bce_prob(&y, &p, eps, w.view(), nan, o),
        };
        assert!(
            loss_outcome(plain, &out) == run(&opts),
            "no option set, but not the plain kernel"
        );
    }
    Ok(())
}

fn cce<T: Element, P: Gen>(
    u: &mut Unstructured<'_>,
    t_gen: impl FnMut(&mut Unstructured<'_>) -> Result<T>,
) -> Result<()> {
    let logits = u.arbitrary::<bool>()?;
    let (n_rows, c) = shape(u)?;
    let t = values(u, n_rows * c, t_gen)?;
    let p = floats::<P>(u, n_rows * c)?;
    let w = weights(u, n_rows)?;
    let nan = nan_policy(u)?;
    let eps = if logits { None } else { Some(eps::<P>(u)?) };
    let cw = class_weight(u, c)?;
    let label_smoothing = if u.arbitrary::<bool>()? {
        unit(u)?
    } else {
        0.0
    };
    let opts = LossOptions {
        class_weight: cw.as_deref(),
        label_smoothing,
        ..LossOptions::default()
    };
    let with_out = u.arbitrary::<bool>()?;
    let threads = threads(u)?;
    let run = || {
        let mut out = out_buf::<P>(if with_out { n_rows } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let r = loss_options::cce(
            (&t).into(),
            (&p).into(),
            n_rows,
            c,
            eps,
            &opts,
            w.view(),
            nan,
            o,
        );
        if let Err(e) = &r {
            check_error(e, n_rows * c, n_rows, None);
        }
        loss_outcome(r, &out)
    };
    same_everywhere(threads, run);
    if cw.is_none() && label_smoothing == 0.0 {
        let mut out = out_buf::<P>(if with_out { n_rows } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let plain = match eps {
            None => categorical::cce_logits(&t, &p, n_rows, c, w.view(), nan, o),
            Some(eps) => categorical::cce_prob(&t, &p, n_rows, c, eps, w.view(), nan, o),
        };
        assert!(
            loss_outcome(plain, &out) == run(),
            "no option set, but not the plain kernel"
        );
    }
    Ok(())
}

fn sparse<L: IntElement + Int, P: Gen>(u: &mut Unstructured<'_>) -> Result<()> {
    let logits = u.arbitrary::<bool>()?;
    let (n_rows, c) = shape(u)?;
    let labels = values(u, n_rows, |u| int::<L>(u, c))?;
    let p = floats::<P>(u, n_rows * c)?;
    let w = weights(u, n_rows)?;
    let nan = nan_policy(u)?;
    let eps = if logits { None } else { Some(eps::<P>(u)?) };
    let cw = class_weight(u, c)?;
    let label_smoothing = if u.arbitrary::<bool>()? {
        unit(u)?
    } else {
        0.0
    };
    let ignore = ignore_index(u, c)?;
    let opts = LossOptions {
        class_weight: cw.as_deref(),
        label_smoothing,
        ignore_index: ignore,
        ..LossOptions::default()
    };
    let with_out = u.arbitrary::<bool>()?;
    let threads = threads(u)?;
    let run = || {
        let mut out = out_buf::<P>(if with_out { n_rows } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let r = loss_options::sparse(
            (&labels).into(),
            (&p).into(),
            n_rows,
            c,
            eps,
            &opts,
            w.view(),
            nan,
            o,
        );
        if let Err(e) = &r {
            check_error(e, n_rows * c, n_rows, Some(c));
        }
        loss_outcome(r, &out)
    };
    same_everywhere(threads, run);
    if cw.is_none() && label_smoothing == 0.0 && ignore.is_none() {
        let mut out = out_buf::<P>(if with_out { n_rows } else { 0 });
        let o = with_out.then_some((&mut out[..]).into());
        let plain = match eps {
            None => categorical::sparse_logits(&labels, &p, n_rows, c, w.view(), nan, o),
            Some(eps) => categorical::sparse_prob(&labels, &p, n_rows, c, eps, w.view(), nan, o),
        };
        assert!(
            loss_outcome(plain, &out) == run(),
            "no option set, but not the plain kernel"
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
    match u.int_in_range(0u8..=11)? {
        0 => go!(bce::<f64>, f64::gen),
        1 => go!(bce::<f32>, f32::gen),
        2 => go!(bce::<bool>, |u: &mut Unstructured<'_>| int::<bool>(u, 2)),
        3 => go!(bce::<i8>, |u: &mut Unstructured<'_>| int::<i8>(u, 2)),
        4 => go!(cce::<f64>, f64::gen),
        5 => go!(cce::<f32>, f32::gen),
        6 => go!(cce::<u8>, |u: &mut Unstructured<'_>| int::<u8>(u, 2)),
        7 => go!(sparse::<i64>),
        8 => go!(sparse::<i8>),
        9 => go!(sparse::<u16>),
        10 => go!(sparse::<u64>),
        _ => go!(sparse::<i32>),
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = fuzz(&mut Unstructured::new(data));
});
