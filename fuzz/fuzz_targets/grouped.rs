//! The grouped entry points (`groups=`): binary, categorical, sparse, binary focal and sparse
//! focal, with every option, one group id per item or per row (or per `inner` items), ids of
//! several integer types including negative and huge ones. Every tier and thread count gives
//! the Scalar bits, nothing panics, bad ids are reported by `n_groups` with a real index, and
//! the groups' losses add up to the ungrouped kernel's total (a plain reference: the same
//! kernel without groups) within a few roundings.
#![no_main]

mod common;

use arbitrary::{Result, Unstructured};
use common::*;
use libfuzzer_sys::fuzz_target;
use plogp_core::focal::{self, ClassAlpha, Focus, SparseFocus};
use plogp_core::grouped::{self, GroupIds, GroupTotals};
use plogp_core::input::IntElement;
use plogp_core::{loss_options, Error, LossOptions, NanPolicy, Totals};

/// A group id: usually small, sometimes −1 or huge (rejected by `n_groups`).
fn group_id<G: Int>(u: &mut Unstructured<'_>) -> Result<G> {
    let v = match u.int_in_range(0u8..=31)? {
        0 => -1,
        1 => i128::from(u.arbitrary::<i64>()?),
        2 => i128::from(u.int_in_range(0u32..=1 << 12)?),
        _ => i128::from(u.int_in_range(0u8..=7)?),
    };
    Ok(G::from_i128(v.clamp(G::MIN, G::MAX)))
}

/// Which kernel family runs.
#[derive(Clone, Copy)]
enum Family {
    Binary,
    BinaryFocal,
    Categorical,
    Sparse,
    SparseFocal,
}

fn run<G: IntElement + Int, P: Gen>(u: &mut Unstructured<'_>, family: Family) -> Result<()> {
    let logits = u.arbitrary::<bool>()?;
    let elementwise = matches!(family, Family::Binary | Family::BinaryFocal);
    let (n_items, c) = if elementwise {
        (length(u)?, 1)
    } else {
        shape(u)?
    };
    let n_elems = n_items * c;
    // One id per item, or one per `inner` items (a 1-D groups array over the first axis).
    let k = u.int_in_range(1..=4usize)?;
    let inner = if n_items % k == 0 { k } else { 1 };
    let ids = values(u, n_items / inner, group_id::<G>)?;
    let n_groups = match grouped::n_groups(&ids) {
        Ok(g) => g + u.int_in_range(0..=2usize)?, // more groups than ids name: empty groups
        Err(Error::BadGroup { index, .. }) => {
            assert!(
                index < ids.len(),
                "bad group index {index} of {}",
                ids.len()
            );
            return Ok(());
        }
        Err(e) => panic!("n_groups returned {e:?}"),
    };
    let groups = GroupIds {
        ids: (&ids).into(),
        inner,
    };
    let p = floats::<P>(u, n_elems)?;
    let w = weights(u, n_items)?;
    let nan = nan_policy(u)?;
    let eps = if logits { None } else { Some(eps::<P>(u)?) };
    let pw = pos_weight(u)?;
    let cw = class_weight(u, c)?;
    let label_smoothing = if u.arbitrary::<bool>()? {
        unit(u)?
    } else {
        0.0
    };
    let ignore = ignore_index(u, c)?;
    let g = gamma(u)?;
    let a = if u.arbitrary::<bool>()? {
        Some(unit(u)?)
    } else {
        None
    };
    let threads = threads(u)?;
    // Targets: soft or hard for the binary and dense losses, labels for the sparse ones.
    let soft = floats::<f64>(
        u,
        if elementwise || matches!(family, Family::Categorical) {
            n_elems
        } else {
            0
        },
    )?;
    let labels = values(u, n_items, |u| int::<i64>(u, c))?;

    let opts = LossOptions {
        pos_weight: if elementwise { pw.as_deref() } else { None },
        class_weight: if elementwise { None } else { cw.as_deref() },
        label_smoothing,
        ignore_index: if matches!(family, Family::Sparse) {
            ignore
        } else {
            None
        },
    };
    let focus = Focus { gamma: g, alpha: a };
    let alpha = match a {
        Some(a) => ClassAlpha::All(a),
        None => ClassAlpha::None,
    };
    let sparse_focus = SparseFocus {
        gamma: g,
        alpha,
        ignore,
        smoothing: label_smoothing,
    };
    let shape = (n_items, c);
    let grouped_call = || -> plogp_core::Result<GroupTotals> {
        let (y, p, lab) = ((&soft).into(), (&p).into(), (&labels).into());
        let w = w.view();
        match family {
            Family::Binary => grouped::binary(y, p, eps, &opts, groups, n_groups, w, nan),
            Family::BinaryFocal => {
                grouped::binary_focal(y, p, focus, eps, groups, n_groups, w, nan)
            }
            Family::Categorical => {
                grouped::categorical(y, p, shape, eps, &opts, groups, n_groups, w, nan)
            }
            Family::Sparse => grouped::sparse(lab, p, shape, eps, &opts, groups, n_groups, w, nan),
            Family::SparseFocal => grouped::sparse_focal(
                lab,
                p,
                shape,
                sparse_focus,
                eps,
                groups,
                n_groups,
                w,
                nan,
            ),
        }
    };
    let ungrouped_call = || -> plogp_core::Result<Totals> {
        let (y, p, lab) = ((&soft).into(), (&p).into(), (&labels).into());
        let w = w.view();
        match family {
            Family::Binary => loss_options::bce(y, p, eps, &opts, w, nan, None),
            Family::BinaryFocal => focal::binary_focal(y, p, focus, eps, w, nan, None),
            Family::Categorical => loss_options::cce(y, p, n_items, c, eps, &opts, w, nan, None),
            Family::Sparse => loss_options::sparse(lab, p, n_items, c, eps, &opts, w, nan, None),
            Family::SparseFocal => {
                focal::sparse_focal(lab, p, shape, sparse_focus, eps, w, nan, None)
            }
        }
    };
    let labelled = matches!(family, Family::Sparse | Family::SparseFocal);
    same_everywhere(threads, || {
        let r = grouped_call();
        if let Err(e) = &r {
            check_error(e, n_elems, n_items, labelled.then_some(c));
        }
        Outcome::of(
            r.map(|t| {
                assert_eq!(t.loss.len(), n_groups);
                assert_eq!(t.weight.len(), n_groups);
                t.loss.into_iter().chain(t.weight).collect()
            })
            .map_err(|e| format!("{e:?}")),
        )
    });
    // The reference: the same loss without groups. Losses and weights are non-negative, so
    // the two summation orders agree to a few roundings of the lanes' float type.
    if let (Ok(parts), Ok(total)) = (grouped_call(), ungrouped_call()) {
        let sum: f64 = parts.loss.iter().sum();
        if sum.is_finite() && total.loss.is_finite() {
            let tol = 1e3 * P::EPSILON * total.loss.abs().max(sum.abs()) + 1e-300;
            assert!(
                (sum - total.loss).abs() <= tol,
                "groups sum to {sum:e}, ungrouped total {:e}",
                total.loss
            );
        } else if nan == NanPolicy::Propagate {
            assert_eq!(
                sum.is_nan(),
                total.loss.is_nan(),
                "groups sum to {sum:e}, ungrouped total {:e}",
                total.loss
            );
        }
    }
    Ok(())
}

fn fuzz(u: &mut Unstructured<'_>) -> Result<()> {
    let p64 = u.arbitrary::<bool>()?;
    let family = match u.int_in_range(0u8..=4)? {
        0 => Family::Binary,
        1 => Family::BinaryFocal,
        2 => Family::Categorical,
        3 => Family::Sparse,
        _ => Family::SparseFocal,
    };
    macro_rules! go {
        ($g:ty) => {
            if p64 {
                run::<$g, f64>(u, family)
            } else {
                run::<$g, f32>(u, family)
            }
        };
    }
    match u.int_in_range(0u8..=3)? {
        0 => go!(i64),
        1 => go!(i32),
        2 => go!(u8),
        _ => go!(i16),
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = fuzz(&mut Unstructured::new(data));
});
