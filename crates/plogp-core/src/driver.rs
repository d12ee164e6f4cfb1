//! The loop shapes every kernel shares, so each kernel file holds only its formula.
//!
//! Reductions (losses, entropies):
//! - [`elementwise`]: one term per element (binary losses), with optional per-element output.
//! - [`rows`]: one value per row of `row_len` contiguous elements (categorical losses,
//!   entropies, logsumexp), with optional per-row output.
//!
//! Maps (activations, gradients), written in place with no reduction:
//! - [`map_elements`]: up to two output elements per input element.
//! - [`map_rows`]: up to two output rows per input row.
//!
//! All cut the work into fixed chunks ([`crate::parallel`]), run each chunk on the active SIMD
//! tier and validate values in the same pass (first bad flat index wins, in chunk order). The
//! reductions return compensated totals merged in chunk order; every output element of a map is
//! written by exactly one chunk. So results are bitwise identical for any thread count.

use std::num::NonZeroUsize;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::input::{Ints, Targets, BLOCK};
use crate::parallel::{map_chunks, rows_per_chunk, CHUNK_ELEMS};
use crate::reduce::{merge_in_order, Sum, Sums, VecSum};
use crate::simd::{dispatch, Simd, WithSimd, LANES};
use crate::value::{lanes, Real};

/// Non-negative sample weights, validated by the kernel as it reads them.
#[derive(Debug, Clone, Copy)]
pub enum Weights<'a> {
    /// Every item has weight 1.
    None,
    /// One weight per item (element for binary losses, row for categorical ones).
    PerItem(&'a [f64]),
    /// One weight per group of `inner` consecutive items: a 1-D `sample_weight` of length N
    /// broadcast along the first axis of an `(N, …)` input, or a scalar covering every item.
    /// `inner` is non-zero, so dividing by it needs no zero check: LLVM used to hoist that
    /// check out of loops, branching on the unwritten payload bytes of `None`, which memcheck
    /// reported.
    PerGroup { w: &'a [f64], inner: NonZeroUsize },
    /// As `PerGroup`, with the weights taken again from the first when they run out: item `i`
    /// has weight `w[(i / inner) % len]` with `len = w.len()` — a weight broadcast by NumPy's
    /// rules over trailing axes (`(C,)` over `(N, C)`). `len` is non-zero for the same reason
    /// as `inner`: the remainder needs no zero check.
    Tiled {
        w: &'a [f64],
        inner: NonZeroUsize,
        len: NonZeroUsize,
    },
}

impl Weights<'_> {
    #[inline(always)]
    pub(crate) fn get(&self, item: usize) -> f64 {
        match *self {
            Weights::None => 1.0,
            Weights::PerItem(w) => w[item],
            Weights::PerGroup { w, inner } => w[item / inner],
            Weights::Tiled { w, inner, len } => w[(item / inner) % len],
        }
    }

    pub(crate) fn is_weighted(&self) -> bool {
        !matches!(self, Weights::None)
    }

    /// Index of the weight array that holds item `item`'s weight (for error messages).
    fn source_index(&self, item: usize) -> usize {
        match *self {
            Weights::PerGroup { inner, .. } => item / inner,
            Weights::Tiled { inner, len, .. } => (item / inner) % len,
            _ => item,
        }
    }
}

/// What to do with items whose loss is NaN (a NaN input, or an undefined value such as
/// `inf − inf` of infinite logits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NanPolicy {
    /// The NaN reaches the sum (and the result).
    #[default]
    Propagate,
    /// The first such item is an error.
    Raise,
    /// Such items are dropped from both `Σ s_i·l_i` and `Σ s_i`; their per-item output is NaN.
    Omit,
}

/// What a reduction counts besides the loss: the NaN policy, and whether it also sums its
/// targets (the base rates a streaming metric needs, in the same pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub nan: NanPolicy,
    /// Sum the targets of the items kept: `s_i·y_i` into [`Totals::positive`] (elementwise
    /// losses), `s_r·t_{r,c}` of every class into [`Totals::class_mass`] (categorical losses,
    /// by [`RowOp::class_targets`]).
    pub positives: bool,
}

impl From<NanPolicy> for Tally {
    fn from(nan: NanPolicy) -> Tally {
        Tally {
            nan,
            positives: false,
        }
    }
}

/// `Σ s_i·l_i` and `Σ s_i` of a call, as compensated sums, and what else it counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub loss: f64,
    pub weight: f64,
    /// Items left out by [`NanPolicy::Omit`].
    pub dropped: usize,
    /// `Σ s_i·y_i` over the items kept, when [`Tally::positives`] asked for it (else 0).
    pub positive: f64,
    /// Per class `c`, `Σ s_r·t_{r,c}` over the rows kept and not ignored, when
    /// [`Tally::positives`] asked for it of a categorical loss (else empty).
    pub class_mass: Vec<f64>,
    /// Rows whose label is the sparse losses' `ignore_index`, when `class_mass` is summed.
    pub ignored: usize,
}

/// The targets of a row reduction whose class masses a [`Tally`] sums.
#[derive(Debug, Clone, Copy)]
pub enum ClassTargets<'a> {
    /// `c` targets per row (one-hot or soft): row `r` adds `s_r·t_{r,k}` to class `k`.
    Dense { t: Targets<'a>, c: usize },
    /// One label per row: row `r` adds `s_r` to class `labels[r]`, except when that label is
    /// `ignore` (the row is counted as ignored instead). Labels are checked by the loss
    /// before they are summed here.
    Labels {
        labels: Ints<'a>,
        c: usize,
        ignore: Option<i128>,
    },
}

impl<'a> ClassTargets<'a> {
    pub(crate) fn classes(&self) -> usize {
        match *self {
            ClassTargets::Dense { c, .. } | ClassTargets::Labels { c, .. } => c,
        }
    }

    /// Add row `r`'s targets, times `s` (`None`: unweighted), to `sums[at..at + c]`; false
    /// (nothing added) for an ignored row. `buf` holds decoded integer targets.
    #[inline(always)]
    pub(crate) fn add_row(
        &self,
        r: usize,
        s: Option<f64>,
        sums: &mut Sums,
        at: usize,
        buf: &mut [f64; BLOCK],
    ) -> bool {
        match *self {
            ClassTargets::Dense { t, c } => {
                dense_row(t, r, c, buf, |k, row| sums.add_row(at + k, s, row, |x| x));
                true
            }
            ClassTargets::Labels { .. } => self.add_label(r, s, sums, at),
        }
    }

    /// [`ClassTargets::add_row`] of a label: `s` added to its class.
    #[inline(always)]
    fn add_label(&self, r: usize, s: Option<f64>, sums: &mut Sums, at: usize) -> bool {
        let ClassTargets::Labels { labels, c, ignore } = *self else {
            return true;
        };
        add_label(labels.get(r), c, ignore, s, sums, at)
    }
}

/// `s` (1 when `None`) added to sum `at + label` of `c`; false (nothing added) when `label` is
/// `ignore`. Labels outside `0..c` were rejected by the loss and add nothing.
#[inline(always)]
pub(crate) fn add_label(
    label: i128,
    c: usize,
    ignore: Option<i128>,
    s: Option<f64>,
    sums: &mut Sums,
    at: usize,
) -> bool {
    if Some(label) == ignore {
        return false;
    }
    if (0..c as i128).contains(&label) {
        sums.add(at + label as usize, s.unwrap_or(1.0));
    }
    true
}

/// Row `r` of `c` dense targets, as f64 pieces `f(offset, values)` of at most [`BLOCK`]
/// values: f64 targets in place, others widened into `buf`.
#[inline(always)]
fn dense_row(
    t: Targets<'_>,
    r: usize,
    c: usize,
    buf: &mut [f64; BLOCK],
    mut f: impl FnMut(usize, &[f64]),
) {
    for k in (0..c).step_by(BLOCK) {
        let len = (c - k).min(BLOCK);
        let start = r * c + k;
        match t {
            Targets::F64(v) => f(k, &v[start..start + len]),
            Targets::F32(v) => {
                for (o, &x) in buf.iter_mut().zip(&v[start..start + len]) {
                    *o = x as f64;
                }
                f(k, &buf[..len])
            }
            Targets::Int(_) => f(k, t.block(start, len, buf)),
        }
    }
}

/// `acc[k] += s·f(row[k])` (`f(row[k])` when `s` is `None`).
#[inline(always)]
fn add_scaled<T: Copy>(acc: &mut [f64], row: &[T], s: Option<f64>, f: impl Fn(T) -> f64) {
    match s {
        None => acc.iter_mut().zip(row).for_each(|(a, &x)| *a += f(x)),
        Some(s) => acc.iter_mut().zip(row).for_each(|(a, &x)| *a += s * f(x)),
    }
}

/// Rows of dense targets summed per class with plain adds into a block of [`MASS_BLOCK_ROWS`]
/// rows, then each class's block total into its compensated sum: the rounding inside a block
/// is that of `MASS_BLOCK_ROWS` terms, as [`VecSum`]'s, and does not grow with the rows.
/// Labels go straight to their class's sum. The blocks depend only on the rows kept, in
/// order, so the sums do not depend on the thread count or the tier.
struct ClassMass<'a> {
    targets: ClassTargets<'a>,
    sums: Sums,
    block: Vec<f64>,
    rows: usize,
    ignored: usize,
}

/// Rows per plain-add block of [`ClassMass`].
const MASS_BLOCK_ROWS: usize = 8;

impl<'a> ClassMass<'a> {
    fn new(targets: ClassTargets<'a>) -> Self {
        let c = targets.classes();
        let dense = matches!(targets, ClassTargets::Dense { .. });
        ClassMass {
            targets,
            sums: Sums::new(c),
            block: vec![0.0; if dense { c } else { 0 }],
            rows: 0,
            ignored: 0,
        }
    }

    /// Add row `r` (kept by the loss) with weight `s` (`None`: unweighted).
    #[inline(always)]
    fn add(&mut self, r: usize, s: Option<f64>, buf: &mut [f64; BLOCK]) {
        let ClassTargets::Dense { t, c } = self.targets else {
            if !self.targets.add_label(r, s, &mut self.sums, 0) {
                self.ignored += 1;
            }
            return;
        };
        let block = &mut self.block;
        match t {
            // float32 targets widened as they are added (no copy through `buf`).
            Targets::F32(v) => add_scaled(block, &v[r * c..(r + 1) * c], s, |x| x as f64),
            _ => dense_row(t, r, c, buf, |k, row| {
                add_scaled(&mut block[k..k + row.len()], row, s, |x| x)
            }),
        }
        self.rows += 1;
        if self.rows == MASS_BLOCK_ROWS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.sums.add_row(0, None, &self.block, |x| x);
        self.block.fill(0.0);
        self.rows = 0;
    }

    fn finish(mut self) -> (Sums, usize) {
        if self.rows > 0 {
            self.flush();
        }
        (self.sums, self.ignored)
    }
}

impl Totals {
    /// `Σ s_i·l_i / Σ s_i`; an error when the total weight is zero.
    pub fn mean(&self) -> Result<f64> {
        if self.weight > 0.0 {
            Ok(self.loss / self.weight)
        } else {
            Err(Error::ZeroTotalWeight)
        }
    }
}

#[inline(always)]
pub(crate) fn check_weight(w: f64) -> bool {
    (0.0..=f64::MAX).contains(&w)
}

pub(crate) fn bad_weight(w: &Weights<'_>, item: usize) -> Error {
    Error::BadWeight {
        arg: "sample_weight",
        index: w.source_index(item),
        value: w.get(item),
    }
}

/// An elementwise loss term `l(y, p)` on lane vectors.
pub(crate) trait ElementLoss: Copy + Send + Sync {
    /// Whether `p` must lie in `[0, 1]` (probabilities) or may be any real (logits).
    const P_IS_PROBABILITY: bool;
    fn term<S: Simd, P: Real>(self, s: S, y: S::V, p: S::V) -> S::V;
    /// The term of the lanes starting at flat element `index` (for per-position options such
    /// as `pos_weight`); defaults to [`ElementLoss::term`].
    #[inline(always)]
    fn term_at<S: Simd, P: Real>(self, s: S, y: S::V, p: S::V, index: usize) -> S::V {
        let _ = index;
        self.term::<S, P>(s, y, p)
    }
}

/// `Σ s_i·l(y_i, p_i)` over all elements, writing `s_i·l_i` to `out` when given.
pub(crate) fn elementwise<L: ElementLoss, P: Real, O: Real>(
    loss: L,
    y: Targets<'_>,
    p: &[P],
    w: Weights<'_>,
    tally: Tally,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    debug_assert_eq!(y.len(), p.len());
    let n = p.len();
    let parts = map_chunks(n, CHUNK_ELEMS, n, out, 1, |range, out| {
        dispatch(ElementChunk {
            loss,
            y: y.slice(range.clone()),
            p: &p[range.clone()],
            w,
            tally,
            start: range.start,
            out,
        })
    });
    let (mut total, mut dropped) = ([Sum::ZERO; 3], 0);
    for part in parts {
        let (part, d) = part?;
        total = merge_in_order([total, part]);
        dropped += d;
    }
    let weight = if w.is_weighted() || tally.nan == NanPolicy::Omit {
        total[1].value()
    } else {
        n as f64
    };
    Ok(Totals {
        loss: total[0].value(),
        weight,
        dropped,
        positive: total[2].value(),
        ..Totals::default()
    })
}

struct ElementChunk<'a, L, P, O> {
    loss: L,
    y: Targets<'a>,
    p: &'a [P],
    w: Weights<'a>,
    tally: Tally,
    start: usize,
    out: Option<&'a mut [O]>,
}

impl<L: ElementLoss, P: Real, O: Real> WithSimd for ElementChunk<'_, L, P, O> {
    /// `[Σ s·l, Σ s, Σ s·y]` and the number of items dropped.
    type Output = Result<([Sum; 3], usize)>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Self::Output {
        let ElementChunk {
            loss,
            y,
            p,
            w,
            tally,
            start,
            mut out,
        } = self;
        let (nan, positives) = (tally.nan, tally.positives);
        let n = p.len();
        let zero = s.splat(0.0);
        let weighted = w.is_weighted();
        // `Σ s_i` is needed only when weighted or when NaN items are omitted; otherwise the
        // caller counts the items. Separate sums for loss and weight give the same bits as one
        // two-lane sum, and leave the weight sum out of the loop when it is not needed.
        let track_weight = weighted || nan == NanPolicy::Omit;
        let mut acc_loss = VecSum::<S, 1>::new(s);
        let mut acc_weight = VecSum::<S, 1>::new(s);
        let mut acc_positive = VecSum::<S, 1>::new(s);
        let mut dropped = 0;
        // Targets are decoded a block at a time (f64 targets are read in place); the vectors
        // run over the block exactly as over the whole chunk, so the sums are unchanged.
        let mut buf = [0.0f64; BLOCK];
        for b in (0..n).step_by(BLOCK) {
            let len = (n - b).min(BLOCK);
            let (yb, pb) = (y.block(b, len, &mut buf), &p[b..b + len]);
            let mut j = 0;
            while j < len {
                let i = b + j;
                let yv = s.load(&lanes(yb, j, 0.0, |x| x));
                let pv = P::load(s, pb, j, 0.5);
                let live = (n - i).min(LANES);
                let wv = weight_lanes(s, &w, start, i, live);
                let mut bad = outside_unit_lanes(s, yv);
                if L::P_IS_PROBABILITY {
                    bad = s.or(bad, outside_unit_lanes(s, pv));
                }
                if s.any(bad) || (weighted && !s.all(weight_ok(s, wv))) {
                    let p_arg = L::P_IS_PROBABILITY.then_some("y_pred");
                    return Err(first_bad_element(yb, pb, p_arg, &w, start + b, j));
                }
                let mut term = loss.term_at::<S, P>(s, yv, pv, start + i);
                let (mut wv, mut yk) = (wv, yv);
                let mut shown = None;
                if nan != NanPolicy::Propagate {
                    let is_nan = s.is_nan(term);
                    if s.any(is_nan) {
                        if nan == NanPolicy::Raise {
                            let k = s.store(term).iter().position(|x| x.is_nan()).unwrap_or(0);
                            return Err(Error::NanLoss {
                                index: start + i + k,
                            });
                        }
                        shown = Some(s.select(is_nan, term, s.mul(wv, term)));
                        term = s.select(is_nan, zero, term);
                        wv = s.select(is_nan, zero, wv);
                        yk = s.select(is_nan, zero, yk);
                        // Padding lanes (y 0, p ½) never give NaN: every set bit is an item.
                        dropped += s.bits(is_nan).count_ones() as usize;
                    }
                }
                // Unweighted full vectors skip the product by 1 (same bits); the last, partial
                // vector keeps it, because its weight lanes are 0 past the end.
                let l = if weighted || live < LANES {
                    s.mul(wv, term)
                } else {
                    term
                };
                if let Some(out) = out.as_deref_mut() {
                    store_lanes(s, out, i, shown.unwrap_or(l));
                }
                acc_loss.push([l]);
                if track_weight {
                    acc_weight.push([wv]);
                }
                if positives {
                    acc_positive.push([s.mul(wv, yk)]);
                }
                j += LANES;
            }
        }
        let [loss] = acc_loss.finish();
        let [weight] = acc_weight.finish();
        let [positive] = acc_positive.finish();
        Ok(([loss, weight, positive], dropped))
    }
}

/// Weights of elements `start + i ..` (`live` of them; padding lanes get 0).
#[inline(always)]
pub(crate) fn weight_lanes<S: Simd>(
    s: S,
    w: &Weights<'_>,
    start: usize,
    i: usize,
    live: usize,
) -> S::V {
    match *w {
        Weights::None if live == LANES => s.splat(1.0),
        Weights::PerItem(ws) => s.load(&lanes(&ws[start..start + (i + live)], i, 0.0, |x| x)),
        _ => {
            let mut wl = [0.0f64; LANES];
            for (k, wk) in wl.iter_mut().enumerate().take(live) {
                *wk = w.get(start + i + k);
            }
            s.load(&wl)
        }
    }
}

/// The first bad value of the vector at `from` (block offset `start`): a target outside
/// `[0, 1]`, a prediction outside it when `p_arg` names one that must be a probability, or a
/// bad weight.
#[cold]
fn first_bad_element<P: Real>(
    y: &[f64],
    p: &[P],
    p_arg: Option<&'static str>,
    w: &Weights<'_>,
    start: usize,
    from: usize,
) -> Error {
    for k in from..p.len().min(from + LANES) {
        let (yk, pk) = (y[k], p[k].to_f64());
        if yk < 0.0 || yk > 1.0 {
            return Error::OutOfRange {
                arg: "y_true",
                index: start + k,
                value: yk,
                lo: 0.0,
                hi: 1.0,
            };
        }
        if let Some(arg) = p_arg.filter(|_| pk < 0.0 || pk > 1.0) {
            return Error::OutOfRange {
                arg,
                index: start + k,
                value: pk,
                lo: 0.0,
                hi: 1.0,
            };
        }
        if !check_weight(w.get(start + k)) {
            return bad_weight(w, start + k);
        }
    }
    unreachable_error()
}

/// Returned only if a vector check and its scalar re-check disagree, which would be a bug;
/// an error is still better than a panic inside a user's process.
#[cold]
pub(crate) fn unreachable_error() -> Error {
    Error::OutOfRange {
        arg: "internal",
        index: 0,
        value: f64::NAN,
        lo: 0.0,
        hi: 1.0,
    }
}

/// A per-row computation: row `r` of the op's inputs → one f64 value.
pub(crate) trait RowOp: Sync {
    /// Whether row `r` counts `s_r·row_weight(r)` (not `s_r`) in the denominator of "mean".
    const SCALED_WEIGHT: bool = false;
    /// `scratch` is a per-chunk buffer for decoding targets ([`Targets::block`]).
    fn row<S: Simd>(&self, s: S, r: usize, scratch: &mut [f64; BLOCK]) -> Result<f64>;
    /// The values of rows `first .. first + vals.len()` into `vals`, in one go: kernels whose
    /// rows are short override it to stream the block of rows as one flat run of elements.
    /// On an error, gives the number of rows before the failing one (all computed) and the
    /// error that [`RowOp::row`] would return for the failing row.
    #[inline(always)]
    fn rows_into<S: Simd>(
        &self,
        s: S,
        first: usize,
        vals: &mut [f64],
        scratch: &mut [f64; BLOCK],
    ) -> std::result::Result<(), (usize, Error)> {
        row_by_row(self, s, first, vals, scratch, 0)
    }
    /// The targets whose class masses a [`Tally`] with `positives` sums (categorical losses);
    /// `None` for an op without class targets.
    fn class_targets(&self) -> Option<ClassTargets<'_>> {
        None
    }
    /// The factor of row `r` in the denominator (read only when `SCALED_WEIGHT`, after `row`
    /// succeeded for that row).
    #[inline(always)]
    fn row_weight(&self, r: usize) -> f64 {
        let _ = r;
        1.0
    }
}

/// [`RowOp::rows_into`] by [`RowOp::row`], for `vals[from..]` (rows `first + from ..`).
#[inline(always)]
pub(crate) fn row_by_row<Op: RowOp + ?Sized, S: Simd>(
    op: &Op,
    s: S,
    first: usize,
    vals: &mut [f64],
    scratch: &mut [f64; BLOCK],
    from: usize,
) -> std::result::Result<(), (usize, Error)> {
    for (k, v) in vals.iter_mut().enumerate().skip(from) {
        *v = op.row(s, first + k, scratch).map_err(|e| (k, e))?;
    }
    Ok(())
}

/// Rows computed per [`RowOp::rows_into`] call (a stack buffer of their values).
const ROWS_AT_ONCE: usize = 256;

/// Apply `op` to `n_rows` rows of `row_len` elements; write `s_r·v_r` to `out` when given and
/// return `Σ s_r·v_r`, `Σ s_r` (and the class masses when `tally` asks for them).
pub(crate) fn rows<Op: RowOp, O: Real>(
    op: &Op,
    n_rows: usize,
    row_len: usize,
    w: Weights<'_>,
    tally: impl Into<Tally>,
    out: Option<&mut [O]>,
) -> Result<Totals> {
    let tally = tally.into();
    let nan = tally.nan;
    let classes = op.class_targets().filter(|_| tally.positives);
    let work = n_rows.saturating_mul(row_len.max(1));
    let parts = map_chunks(
        n_rows,
        rows_per_chunk(row_len),
        work,
        out,
        1,
        |range, out| {
            dispatch(RowChunk {
                op,
                w,
                nan,
                classes,
                rows: range,
                out,
            })
        },
    );
    let (mut total, mut dropped) = ([Sum::ZERO; 2], 0);
    let mut mass = Sums::new(classes.map_or(0, |t| t.classes()));
    let mut ignored = 0;
    for part in parts {
        let part = part?;
        total = merge_in_order([total, part.sums]);
        dropped += part.dropped;
        mass.merge(&part.mass);
        ignored += part.ignored;
    }
    let weight = if w.is_weighted() || nan == NanPolicy::Omit || Op::SCALED_WEIGHT {
        total[1].value()
    } else {
        n_rows as f64
    };
    Ok(Totals {
        loss: total[0].value(),
        weight,
        dropped,
        positive: 0.0,
        class_mass: mass.values(),
        ignored,
    })
}

struct RowChunk<'a, Op, O> {
    op: &'a Op,
    w: Weights<'a>,
    nan: NanPolicy,
    classes: Option<ClassTargets<'a>>,
    rows: std::ops::Range<usize>,
    out: Option<&'a mut [O]>,
}

/// What a chunk of rows sums: `[Σ s·v, Σ s]`, the rows dropped, and the class masses (with the
/// rows ignored) when asked for.
struct RowPart {
    sums: [Sum; 2],
    dropped: usize,
    mass: Sums,
    ignored: usize,
}

impl<Op: RowOp, O: Real> WithSimd for RowChunk<'_, Op, O> {
    type Output = Result<RowPart>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Self::Output {
        let RowChunk {
            op,
            w,
            nan,
            classes,
            rows,
            out,
        } = self;
        // One loop per case, so that a loss without class masses pays nothing for them.
        let ((sums, dropped), (mass, ignored)) = match classes {
            None => (
                row_loop(s, op, w, nan, rows, out, &mut ())?,
                Default::default(),
            ),
            Some(t) => {
                let mut mass = ClassMass::new(t);
                let part = row_loop(s, op, w, nan, rows, out, &mut mass)?;
                (part, mass.finish())
            }
        };
        Ok(RowPart {
            sums,
            dropped,
            mass,
            ignored,
        })
    }
}

/// Where the rows of a chunk that a reduction keeps also go: nowhere (`()`), or the class
/// masses of a [`Tally`].
trait RowSink {
    fn keep(&mut self, r: usize, s: Option<f64>, buf: &mut [f64; BLOCK]);
}

impl RowSink for () {
    #[inline(always)]
    fn keep(&mut self, _: usize, _: Option<f64>, _: &mut [f64; BLOCK]) {}
}

impl RowSink for ClassMass<'_> {
    #[inline(always)]
    fn keep(&mut self, r: usize, s: Option<f64>, buf: &mut [f64; BLOCK]) {
        self.add(r, s, buf);
    }
}

/// The rows `rows` of `op`: `[Σ s·v, Σ s]` and the number of rows dropped; each row kept also
/// goes to `sink`.
#[inline(always)]
fn row_loop<S: Simd, Op: RowOp, O: Real>(
    s: S,
    op: &Op,
    w: Weights<'_>,
    nan: NanPolicy,
    rows: Range<usize>,
    mut out: Option<&mut [O]>,
    sink: &mut impl RowSink,
) -> Result<([Sum; 2], usize)> {
    let (mut loss, mut weight, mut dropped) = (Sum::ZERO, Sum::ZERO, 0);
    let mut scratch = [0.0f64; BLOCK];
    let mut vals = [0.0f64; ROWS_AT_ONCE];
    for first in rows.clone().step_by(ROWS_AT_ONCE) {
        let n = (rows.end - first).min(ROWS_AT_ONCE);
        // Rows before a failing one still go through the checks below first, so that the
        // first error in row order wins (a bad weight of an earlier row included).
        let (done, failed) = match op.rows_into(s, first, &mut vals[..n], &mut scratch) {
            Ok(()) => (n, None),
            Err((done, e)) => (done, Some(e)),
        };
        for (j, &v) in vals[..done].iter().enumerate() {
            let r = first + j;
            let k = r - rows.start;
            let wr = w.get(r);
            if !check_weight(wr) {
                return Err(bad_weight(&w, r));
            }
            if v.is_nan() && nan != NanPolicy::Propagate {
                if nan == NanPolicy::Raise {
                    return Err(Error::NanLoss { index: r });
                }
                if let Some(out) = out.as_deref_mut() {
                    out[k] = O::from_f64(f64::NAN);
                }
                dropped += 1;
                continue;
            }
            // Skip the product when unweighted so that 1·v never turns a −0 into +0 or similar.
            let wv = if w.is_weighted() { wr * v } else { v };
            if let Some(out) = out.as_deref_mut() {
                out[k] = O::from_f64(wv);
            }
            loss.add(wv);
            weight.add(if Op::SCALED_WEIGHT {
                wr * op.row_weight(r)
            } else {
                wr
            });
            sink.keep(r, w.is_weighted().then_some(wr), &mut scratch);
        }
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(([loss, weight], dropped))
}

/// Lanes that hold a value outside `[0, 1]`. NaN is not outside (it propagates; it is not an
/// error): both comparisons are false for it.
#[inline(always)]
pub(crate) fn outside_unit_lanes<S: Simd>(s: S, v: S::V) -> S::M {
    s.or(s.lt(v, s.splat(0.0)), s.lt(s.splat(1.0), v))
}

/// Lanes that hold a valid sample weight: finite and non-negative.
#[inline(always)]
fn weight_ok<S: Simd>(s: S, w: S::V) -> S::M {
    s.and(s.le(s.splat(0.0), w), s.le(w, s.splat(f64::MAX)))
}

/// The first value of `xs` outside `[0, 1]`, as an error at flat index `base + k`.
#[cold]
pub(crate) fn outside_unit<T: Copy>(
    arg: &'static str,
    xs: &[T],
    base: usize,
    f: impl Fn(T) -> f64,
) -> Error {
    for (k, &x) in xs.iter().enumerate() {
        let v = f(x);
        if v < 0.0 || v > 1.0 {
            return Error::OutOfRange {
                arg,
                index: base + k,
                value: v,
                lo: 0.0,
                hi: 1.0,
            };
        }
    }
    unreachable_error()
}

/// Check that every lane of `v`, read from `row` (flat offset `base`), is a probability.
#[inline(always)]
pub(crate) fn check_unit<S: Simd, T: Copy>(
    s: S,
    v: S::V,
    arg: &'static str,
    row: &[T],
    base: usize,
    f: impl Fn(T) -> f64,
) -> Result<()> {
    if !s.any(outside_unit_lanes(s, v)) {
        Ok(())
    } else {
        Err(outside_unit(arg, row, base, f))
    }
}

/// Write the live lanes of `v`, those of `out[at..]` (at most [`LANES`]), to `out`.
#[inline(always)]
pub(crate) fn store_lanes<S: Simd, O: Real>(s: S, out: &mut [O], at: usize, v: S::V) {
    let v = s.store(v);
    // A whole vector: a fixed-length copy (unrolled, no per-lane bounds); the tail: the rest.
    let dst = match out.get_mut(at..at + LANES) {
        Some(dst) => dst,
        None => &mut out[at..],
    };
    for (o, &x) in dst.iter_mut().zip(&v) {
        *o = O::from_f64(x);
    }
}

// ------------------------------------------------------------------------------------- maps

/// The outputs of a map: the first (a value, a gradient) and optionally a second (a Hessian),
/// both in the same layout.
pub(crate) struct Outs<'a, O> {
    pub first: &'a mut [O],
    pub second: Option<&'a mut [O]>,
}

/// Run `f(items, outs)` on chunks of `chunk_items` items, each owning `per_item` elements of
/// each output; the first error in chunk order wins. `per_item` may be 0 (empty rows): the
/// chunks then get empty outputs.
fn map_outputs<O, F>(
    n_items: usize,
    chunk_items: usize,
    per_item: usize,
    outs: Outs<'_, O>,
    f: F,
) -> Result<()>
where
    O: Send,
    F: Fn(Range<usize>, Outs<'_, O>) -> Result<()> + Sync,
{
    let chunk_items = chunk_items.max(1);
    let n_chunks = n_items.div_ceil(chunk_items);
    let len = (chunk_items * per_item).max(1);
    let mut firsts = outs.first.chunks_mut(len);
    let mut seconds = outs.second.map(|o| o.chunks_mut(len));
    let mut tasks: Vec<Outs<'_, O>> = (0..n_chunks)
        .map(|_| Outs {
            first: firsts.next().unwrap_or_default(),
            second: seconds.as_mut().map(|o| o.next().unwrap_or_default()),
        })
        .collect();
    let work = n_items.saturating_mul(per_item.max(1));
    // One task per "item" of `map_chunks`, so that each chunk takes its outputs by value.
    let results = map_chunks(n_chunks, 1, work, Some(&mut tasks), 1, |range, task| {
        let c = range.start;
        let items = c * chunk_items..((c + 1) * chunk_items).min(n_items);
        match task {
            Some([outs]) => f(
                items,
                Outs {
                    first: &mut *outs.first,
                    second: outs.second.as_deref_mut(),
                },
            ),
            _ => Ok(()),
        }
    });
    results.into_iter().collect()
}

/// An elementwise map on lane vectors: `z` (with targets `y` and weights `w` when the map has
/// targets; 0 and 1 otherwise) → the first output and, when `second` is set, the second.
pub(crate) trait ElementMap: Copy + Send + Sync {
    fn map<S: Simd, P: Real>(self, s: S, y: S::V, z: S::V, w: S::V, second: bool) -> [S::V; 2];
}

/// Apply `map` to every element of `z` (and of the targets `y`, when given: each in `[0, 1]`
/// or NaN, checked with the weights in the same pass), writing `outs` in `z`'s float type.
pub(crate) fn map_elements<M: ElementMap, P: Real>(
    map: M,
    y: Option<Targets<'_>>,
    z: &[P],
    w: Weights<'_>,
    outs: Outs<'_, P>,
) -> Result<()> {
    debug_assert!(y.is_none_or(|y| y.len() == z.len()) && outs.first.len() == z.len());
    map_outputs(z.len(), CHUNK_ELEMS, 1, outs, |range, outs| {
        dispatch(ElementMapChunk {
            map,
            y: y.map(|y| y.slice(range.clone())),
            z: &z[range.clone()],
            w,
            start: range.start,
            outs,
        })
    })
}

struct ElementMapChunk<'a, M, P> {
    map: M,
    y: Option<Targets<'a>>,
    z: &'a [P],
    w: Weights<'a>,
    start: usize,
    outs: Outs<'a, P>,
}

impl<M: ElementMap, P: Real> WithSimd for ElementMapChunk<'_, M, P> {
    type Output = Result<()>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Result<()> {
        let ElementMapChunk {
            map,
            y,
            z,
            w,
            start,
            outs: Outs { first, mut second },
        } = self;
        let n = z.len();
        let (zero, one) = (s.splat(0.0), s.splat(1.0));
        let want_second = second.is_some();
        let Some(y) = y else {
            // No targets: nothing to decode or check.
            for i in (0..n).step_by(LANES) {
                let zv = P::load(s, z, i, 0.0);
                let v = map.map::<S, P>(s, zero, zv, one, want_second);
                store_outs(s, first, second.as_deref_mut(), i, v);
            }
            return Ok(());
        };
        let mut buf = [0.0f64; BLOCK];
        for b in (0..n).step_by(BLOCK) {
            let len = (n - b).min(BLOCK);
            let yb = y.block(b, len, &mut buf);
            for j in (0..len).step_by(LANES) {
                let i = b + j;
                let zv = P::load(s, z, i, 0.0);
                let yv = s.load(&lanes(yb, j, 0.0, |x| x));
                let wv = weight_lanes(s, &w, start, i, (n - i).min(LANES));
                if s.any(outside_unit_lanes(s, yv)) || !s.all(weight_ok(s, wv)) {
                    let zb = &z[b..b + len];
                    return Err(first_bad_element(yb, zb, None, &w, start + b, j));
                }
                let v = map.map::<S, P>(s, yv, zv, wv, want_second);
                store_outs(s, first, second.as_deref_mut(), i, v);
            }
        }
        Ok(())
    }
}

/// Store the two output vectors of a map at element `i`.
#[inline(always)]
fn store_outs<S: Simd, O: Real>(
    s: S,
    first: &mut [O],
    second: Option<&mut [O]>,
    i: usize,
    [v1, v2]: [S::V; 2],
) {
    store_lanes(s, first, i, v1);
    if let Some(second) = second {
        store_lanes(s, second, i, v2);
    }
}

/// A per-row map: row `r` of the op's inputs → its `row_len` elements of each output.
pub(crate) trait RowMapOp: Sync {
    type Out: Real;
    fn row<S: Simd>(
        &self,
        s: S,
        r: usize,
        first: &mut [Self::Out],
        second: Option<&mut [Self::Out]>,
    ) -> Result<()>;
}

/// Apply `op` to `n_rows` rows of `row_len` elements, writing `outs` (`n_rows × row_len`).
pub(crate) fn map_rows<Op: RowMapOp>(
    op: &Op,
    n_rows: usize,
    row_len: usize,
    outs: Outs<'_, Op::Out>,
) -> Result<()> {
    debug_assert_eq!(outs.first.len(), n_rows * row_len);
    map_outputs(
        n_rows,
        rows_per_chunk(row_len),
        row_len,
        outs,
        |rows, outs| {
            dispatch(RowMapChunk {
                op,
                rows,
                row_len,
                outs,
            })
        },
    )
}

struct RowMapChunk<'a, Op: RowMapOp> {
    op: &'a Op,
    rows: Range<usize>,
    row_len: usize,
    outs: Outs<'a, Op::Out>,
}

impl<Op: RowMapOp> WithSimd for RowMapChunk<'_, Op> {
    type Output = Result<()>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Result<()> {
        let RowMapChunk {
            op,
            rows,
            row_len: c,
            outs: Outs { first, mut second },
        } = self;
        for (k, r) in rows.enumerate() {
            let span = k * c..(k + 1) * c;
            let second = second.as_deref_mut().map(|o| &mut o[span.clone()]);
            op.row(s, r, &mut first[span], second)?;
        }
        Ok(())
    }
}
