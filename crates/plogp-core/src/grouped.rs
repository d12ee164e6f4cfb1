//! Per-group totals of a loss in one pass (`groups=`).
//!
//! Every item (element of a binary loss, row of a categorical one) carries an integer group
//! id `g ≥ 0`; the result is, for each group, `Σ s_i·l_i` and `Σ s_i` over its items.
//!
//! Method: the items are cut into windows of [`WINDOW_CHUNKS`] fixed chunks. The chunks of a
//! window are evaluated in parallel by an existing kernel entry (`bce_prob`, `cce_logits`, …)
//! called on the chunk's sub-slices, unweighted, writing each item's loss into a window-sized
//! buffer. When groups are few enough that merging per-group sums costs at most an eighth of
//! a run of a few chunks (a task, see [`task_items`]), each task then adds its items, in item
//! order, to compensated [`Sum`]s of its own, and the tasks' sums are merged in task order;
//! with more groups the calling thread adds the window's items, in item order, to one set of
//! sums. No N-sized temporary is made, and the order of every addition
//! depends only on the items' positions and the number of groups: results are bitwise
//! identical for any thread count and SIMD tier.
//! Weights and `nan_policy` are applied here, item by item, exactly as the ungrouped drivers
//! do (`s_i·l_i`, NaN items raised or dropped from both sums).

use std::ops::Range;

use crate::driver::{add_label, check_weight, ClassTargets, NanPolicy, Tally, Totals, Weights};
use crate::error::{Error, Result};
use crate::focal::{self, ClassAlpha, Focus, SparseFocus};
use crate::input::{Floats, FloatsMut, Ints, Targets, BLOCK};
use crate::loss_options::{self, LossOptions};
use crate::parallel::map_chunks;
use crate::parallel::{rows_per_chunk, CHUNK_ELEMS};
use crate::reduce::{Sum, Sums};
use crate::value::Real;

/// Chunks evaluated (in parallel) per window: bounds the per-item buffer to
/// `WINDOW_CHUNKS × chunk` items (4 MiB of f64 for elementwise losses).
pub const WINDOW_CHUNKS: usize = 16;

/// The largest number of groups (`max(groups) + 1`) a call accepts: 2^24, i.e. 512 MiB of
/// per-group sums at most; larger ids are a ValueError rather than an allocation failure.
pub const MAX_GROUPS: usize = 1 << 24;

/// Group ids of the items: item `i` belongs to group `ids[i / inner]` (`inner = 1` for one id
/// per item; `inner > 1` broadcasts a 1-D array of ids along the first axis).
#[derive(Debug, Clone, Copy)]
pub struct GroupIds<'a> {
    pub ids: Ints<'a>,
    pub inner: usize,
}

/// `Σ s_i·l_i` and `Σ s_i` of every group `0..n_groups` (0 and 0 for an empty group), and
/// what a streaming metric needs besides: the items of each group, those kept by
/// `nan_policy`, and the sums of the targets of the items kept.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTotals {
    pub loss: Vec<f64>,
    pub weight: Vec<f64>,
    pub items: Vec<u64>,
    /// Items not dropped by `nan_policy` (nor, when the class masses are summed, ignored by
    /// `ignore_index`).
    pub kept: Vec<u64>,
    /// `Σ s_i·y_i` of the binary losses when a [`Tally`] asks for it (else empty).
    pub positive: Vec<f64>,
    /// `Σ s_r·t_{r,c}` of the categorical losses when a [`Tally`] asks for it, row-major
    /// `n_groups × c` (else empty).
    pub class_mass: Vec<f64>,
}

impl GroupTotals {
    /// `Σ s·l / Σ s` of every group; NaN for a group of zero total weight (e.g. empty).
    pub fn means(&self) -> Vec<f64> {
        self.loss
            .iter()
            .zip(&self.weight)
            .map(|(&l, &w)| if w > 0.0 { l / w } else { f64::NAN })
            .collect()
    }
}

/// The number of groups, `max(ids) + 1` (0 without ids); an error for a negative id or one
/// of at least [`MAX_GROUPS`] (the first bad flat index of `ids`).
pub fn n_groups<'a>(ids: impl Into<Ints<'a>>) -> Result<usize> {
    let ids = ids.into();
    let mut max = -1i64;
    let mut buf = [0i64; BLOCK];
    for b in (0..ids.len()).step_by(BLOCK) {
        let block = &mut buf[..(ids.len() - b).min(BLOCK)];
        ids.decode_i64(b, block);
        for (k, &g) in block.iter().enumerate() {
            if g < 0 || g >= MAX_GROUPS as i64 {
                let index = b + k;
                return Err(Error::BadGroup {
                    index,
                    value: ids.get(index),
                    max_groups: MAX_GROUPS,
                });
            }
            max = max.max(g);
        }
    }
    Ok((max + 1) as usize)
}

/// Item `i`'s factor in `Σ s_i` (the sparse loss's `w_{y_i}`, 0 on ignored rows).
type Factor<'a> = Option<&'a (dyn Fn(usize) -> f64 + Sync)>;

/// A task (a run of whole kernel chunks) keeps its own per-group sums, merged afterwards in
/// task order, when merging them costs at most `1 / MERGE_SHARE` of the task's elements
/// (each group's sums: loss, weight, and one per class of the class masses).
const MERGE_SHARE: usize = 8;

/// The largest task, in elements (4 MiB of float32): bounds a task's sums (at most two
/// bytes per element of the task, by [`MERGE_SHARE`]).
const MAX_TASK_ELEMS: usize = 1 << 20;

/// The largest window of tasks, in items (4 MiB of per-item f64 losses), as the 16 chunks of
/// an elementwise loss.
const MAX_WINDOW_ITEMS: usize = WINDOW_CHUNKS * CHUNK_ELEMS;

/// How the items are cut: `Some(task_items)` when tasks of whole chunks keep their own sums,
/// `None` when the groups are too many for that and the calling thread adds the items.
/// Depends only on the shapes and the number of groups, never on the threads.
///
/// Without class masses a task is one chunk, used when it has at least [`MERGE_SHARE`] items
/// per group: the calling thread's pass is one addition per item, and tasks of several chunks
/// measured slower than it (dense 10^6 × 100 float32, 50 groups: 200–220 ms against 160–190,
/// alternating processes, 2 threads). With class masses (C additions per row) a task is the
/// smallest run of chunks whose elements pay for the merge: 10^6 × 100 one-hot rows in 50
/// groups update in 280 ms instead of 310.
fn task_items(
    n_groups: usize,
    mass_classes: usize,
    chunk_items: usize,
    elems_per_item: usize,
) -> Option<usize> {
    if mass_classes == 0 {
        return (n_groups.saturating_mul(MERGE_SHARE) <= chunk_items).then_some(chunk_items);
    }
    let chunk_elems = chunk_items.saturating_mul(elems_per_item.max(1));
    let merge = n_groups.saturating_mul(2 + mass_classes);
    let chunks = merge
        .saturating_mul(MERGE_SHARE)
        .div_ceil(chunk_elems)
        .max(1);
    let task = chunks.saturating_mul(chunk_items);
    // At least two tasks per window, so that a window keeps two threads busy.
    let fits = chunks.saturating_mul(chunk_elems) <= MAX_TASK_ELEMS.max(chunk_elems);
    (fits && task.saturating_mul(2) <= MAX_WINDOW_ITEMS.max(2 * chunk_items)).then_some(task)
}

/// One group's sums: 64 bytes, one cache line.
#[derive(Debug, Clone, Copy, Default)]
struct GroupSum {
    loss: Sum,
    weight: Sum,
    positive: Sum,
    items: u64,
    kept: u64,
}

impl GroupSum {
    fn merge(&mut self, other: &GroupSum) {
        self.loss.merge(other.loss);
        self.weight.merge(other.weight);
        self.positive.merge(other.positive);
        self.items += other.items;
        self.kept += other.kept;
    }
}

/// What the per-item pass reads besides the losses: ids, weights, policy and targets.
struct ItemSums<'a> {
    groups: GroupIds<'a>,
    w: Weights<'a>,
    nan: NanPolicy,
    factor: Factor<'a>,
    targets: Option<Targets<'a>>,
    classes: Option<ClassTargets<'a>>,
}

impl ItemSums<'_> {
    /// Per-group class sums, `n_groups × c` (empty without class targets).
    fn class_sums(&self, n_groups: usize) -> Sums {
        Sums::new(self.classes.map_or(0, |t| n_groups * t.classes()))
    }

    /// Whether `Σ s_i` is the number of items kept (no weights, no factor): it is then not
    /// summed but read from the count.
    fn counts_weight(&self) -> bool {
        !self.w.is_weighted() && self.factor.is_none()
    }

    /// Add the items `first..first + losses.len()` (their unweighted losses) to `sums` (and
    /// their class targets to `mass`), in item order, applying weights and `nan_policy` as
    /// the ungrouped drivers do.
    ///
    /// `integral` says that every `Σ s·y` of `sums` has only had 0/1 terms so far, so holds
    /// an integer: while unweighted blocks of 0/1 targets keep it so, their targets are added
    /// with one plain add, exact and bit for bit the compensated sum's result (its error term
    /// would be 0). The first other block clears it for good.
    fn add<O: Real>(
        &self,
        first: usize,
        losses: &[O],
        (sums, mass, integral): (&mut [GroupSum], &mut Sums, &mut bool),
    ) -> Result<()> {
        let weighted = self.w.is_weighted();
        let counts_weight = self.counts_weight();
        let (inner, n_ids) = (self.groups.inner.max(1), self.groups.ids.len());
        // Ids and targets decoded a block of items at a time: `ids[k]` is the id at index
        // `id0 + k` of the ids, `ys[k]` the target of the block's item `k`.
        let (mut ids, mut ys) = ([0i64; BLOCK], [0.0f64; BLOCK]);
        // Dense class targets are read a row at a time (decoded into `buf`), labels a block
        // at a time (into `labels`).
        let mut buf = match self.classes {
            Some(ClassTargets::Dense { .. }) => Some([0.0f64; BLOCK]),
            _ => None,
        };
        let mut labels = [0i64; BLOCK];
        for (b, block) in losses.chunks(BLOCK).enumerate() {
            let i0 = first + b * BLOCK;
            let id0 = i0 / inner;
            let id_end = ((i0 + block.len() - 1) / inner + 1).min(n_ids);
            if id0 < id_end {
                self.groups.ids.decode_i64(id0, &mut ids[..id_end - id0]);
            }
            if let Some(y) = self.targets {
                let ys = &mut ys[..block.len()];
                y.decode(i0, ys);
                // Branch-free (a short-circuit test of random 0/1 labels mispredicts).
                let binary = ys.iter().fold(true, |a, &y| a & ((y == 0.0) | (y == 1.0)));
                *integral &= !weighted & binary;
            }
            if let Some(ClassTargets::Labels { labels: l, .. }) = self.classes {
                l.decode_i64(i0, &mut labels[..block.len()]);
            }
            let counts_positive = *integral;
            // Item i's id index, i / inner, stepped without a division.
            let (mut next_id, mut run) = (id0, i0 % inner);
            for (k, &l) in block.iter().enumerate() {
                let (i, gi) = (i0 + k, next_id);
                run += 1;
                if run == inner {
                    (run, next_id) = (0, next_id + 1);
                }
                let l = l.to_f64();
                let s = self.w.get(i);
                if !check_weight(s) {
                    return Err(crate::driver::bad_weight(&self.w, i));
                }
                let omit = l.is_nan() && self.nan != NanPolicy::Propagate;
                if omit && self.nan == NanPolicy::Raise {
                    return Err(Error::NanLoss { index: i });
                }
                if gi >= id_end {
                    continue; // unreachable: the caller checked the shapes
                }
                let g = ids[gi - id0] as usize;
                let Some(sum) = sums.get_mut(g) else {
                    return Err(Error::BadGroup {
                        index: gi,
                        value: self.groups.ids.get(gi),
                        max_groups: sums.len(),
                    });
                };
                sum.items += 1;
                if omit {
                    continue;
                }
                // An ignored row (weight 0 through its factor) adds no class mass and is not
                // counted as kept.
                let counted = match (self.classes, buf.as_mut()) {
                    (Some(ClassTargets::Labels { c, ignore, .. }), _) => {
                        let s_r = weighted.then_some(s);
                        add_label(labels[k] as i128, c, ignore, s_r, mass, g * c)
                    }
                    (Some(t), Some(buf)) => {
                        add_class_row(t, i, weighted.then_some(s), g, mass, buf)
                    }
                    _ => true,
                };
                sum.kept += u64::from(counted);
                // As the ungrouped drivers: no product when unweighted (keeps −0 and NaN bits).
                sum.loss.add(if weighted { s * l } else { l });
                if !counts_weight {
                    sum.weight.add(match self.factor {
                        Some(f) => s * f(i),
                        None => s,
                    });
                }
                if self.targets.is_some() {
                    if counts_positive {
                        sum.positive.add_exact(ys[k]);
                    } else {
                        sum.positive.add(s * ys[k]);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Row `r`'s class targets, times `s`, added to group `g`'s class sums in `mass`; false for
/// an ignored row. Out of line, so that the item loop of the losses without class targets
/// stays as small as it was.
#[inline(never)]
fn add_class_row(
    t: ClassTargets<'_>,
    r: usize,
    s: Option<f64>,
    g: usize,
    mass: &mut Sums,
    buf: &mut [f64; BLOCK],
) -> bool {
    t.add_row(r, s, mass, g * t.classes(), buf)
}

/// Per-group totals of a loss over `n_items` items, the driver of the entry points below.
///
/// `kernel(range, out)` must write the unweighted loss of items `range` (global item indices)
/// to `out` (`range.len()` values) with `NanPolicy::Propagate`, as the kernel entries do with
/// `Weights::None`; its errors carry indices relative to `range.start` (items) and
/// `range.start × elems_per_item` (elements), and are shifted back here. `chunk_items` is the
/// kernel's chunk size in items (`CHUNK_ELEMS` or `rows_per_chunk(c)`). `n_groups` must be at
/// least `n_groups(ids.ids)` (checked by the caller with [`n_groups`]). With `factor`, item `i`
/// counts `s_i·factor(i)` in its group's weight (as the sparse loss with `class_weight` or
/// `ignore_index` does without groups). With `targets` (one per item), each group also sums
/// `s_i·y_i` over its items kept.
///
/// Errors come in chunk order: a chunk's kernel error before the errors of its items.
#[allow(clippy::too_many_arguments)]
fn grouped<O: Real>(
    (n_items, chunk_items, elems_per_item): (usize, usize, usize),
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    nan: NanPolicy,
    factor: Factor<'_>,
    (targets, classes): (Option<Targets<'_>>, Option<ClassTargets<'_>>),
    kernel: impl Fn(Range<usize>, &mut [O]) -> Result<Totals> + Sync,
) -> Result<GroupTotals> {
    let chunk_items = chunk_items.max(1);
    let mass_classes = classes.map_or(0, |t| t.classes());
    let tasks = task_items(n_groups, mass_classes, chunk_items, elems_per_item);
    let per_chunk = tasks.is_some();
    // Tasks of whole chunks: up to WINDOW_CHUNKS of them per window, within MAX_WINDOW_ITEMS
    // (a kernel chunk is at most CHUNK_ELEMS items, so without tasks a window is always
    // WINDOW_CHUNKS chunks).
    let chunk_items = tasks.unwrap_or(chunk_items);
    let per_window = (MAX_WINDOW_ITEMS / chunk_items).clamp(1, WINDOW_CHUNKS);
    let window = chunk_items.saturating_mul(per_window);
    let pass = ItemSums {
        groups,
        w,
        nan,
        factor,
        targets,
        classes,
    };
    let mut sums = vec![GroupSum::default(); n_groups];
    let mut mass = pass.class_sums(n_groups);
    let mut integral = true; // see ItemSums::add
    let mut buffer = vec![O::from_f64(0.0); window.min(n_items)];
    let mut start = 0;
    while start < n_items {
        let len = window.min(n_items - start);
        let out = &mut buffer[..len];
        let work = len.saturating_mul(elems_per_item.max(1));
        let parts = map_chunks(len, chunk_items, work, Some(out), 1, |range, out| {
            let items = start + range.start..start + range.end;
            let Some(out) = out else {
                return Ok(None); // unreachable: map_chunks hands every chunk its slice
            };
            kernel(items.clone(), out)
                .map_err(|e| shifted(e, items.start, items.start * elems_per_item))?;
            if !per_chunk {
                return Ok(None);
            }
            let mut chunk = (
                vec![GroupSum::default(); n_groups],
                pass.class_sums(n_groups),
            );
            pass.add(items.start, out, (&mut chunk.0, &mut chunk.1, &mut true))?;
            Ok(Some(chunk))
        });
        for (c, part) in parts.into_iter().enumerate() {
            match part? {
                Some((chunk, chunk_mass)) => {
                    sums.iter_mut().zip(&chunk).for_each(|(s, x)| s.merge(x));
                    mass.merge(&chunk_mass);
                }
                None => {
                    let first = c * chunk_items;
                    let last = (first + chunk_items).min(len);
                    let items = &buffer[first..last];
                    pass.add(start + first, items, (&mut sums, &mut mass, &mut integral))?;
                }
            }
        }
        start += len;
    }
    let column = |f: fn(&GroupSum) -> f64| sums.iter().map(f).collect();
    Ok(GroupTotals {
        loss: column(|s| s.loss.value()),
        weight: if pass.counts_weight() {
            column(|s| s.kept as f64)
        } else {
            column(|s| s.weight.value())
        },
        items: sums.iter().map(|s| s.items).collect(),
        kept: sums.iter().map(|s| s.kept).collect(),
        positive: if targets.is_some() {
            column(|s| s.positive.value())
        } else {
            Vec::new()
        },
        class_mass: mass.values(),
    })
}

/// Per-group binary cross-entropy with options (items = elements; `eps` is `None` for
/// logits). Per-item losses go to an f64 window buffer, so float32 losses are summed unrounded.
#[allow(clippy::too_many_arguments)]
pub fn binary(
    y: Targets<'_>,
    p: Floats<'_>,
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: impl Into<Tally>,
) -> Result<GroupTotals> {
    let shape = (p.len(), CHUNK_ELEMS, 1);
    let tally = tally.into();
    match p {
        Floats::F32(p) => binary_typed(y, p, eps, opts, shape, groups, n_groups, w, tally),
        Floats::F64(p) => binary_typed(y, p, eps, opts, shape, groups, n_groups, w, tally),
    }
}

#[allow(clippy::too_many_arguments)]
fn binary_typed<P: Real>(
    y: Targets<'_>,
    p: &[P],
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    shape: (usize, usize, usize),
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: Tally,
) -> Result<GroupTotals> {
    grouped(
        shape,
        groups,
        n_groups,
        w,
        tally.nan,
        None,
        (tally.positives.then_some(y), None),
        |r, out: &mut [f64]| {
            // `pos_weight` repeats with its period from element 0: rotate it to start at r.start.
            let rotated: Vec<f64>;
            let mut opts = *opts;
            if let Some(pw) = opts.pos_weight.filter(|pw| pw.len() > 1) {
                rotated = (0..pw.len())
                    .map(|k| pw[(r.start + k) % pw.len()])
                    .collect();
                opts.pos_weight = Some(&rotated);
            }
            let (y, p) = (y.slice(r.clone()), &p[r]);
            loss_options::bce_typed(
                y,
                p,
                eps,
                &opts,
                Weights::None,
                NanPolicy::Propagate.into(),
                Some(out),
            )
        },
    )
}

/// Per-group categorical cross-entropy with options of `n × c` targets and predictions
/// (items = rows).
#[allow(clippy::too_many_arguments)]
pub fn categorical(
    t: Targets<'_>,
    p: Floats<'_>,
    (n, c): (usize, usize),
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: impl Into<Tally>,
) -> Result<GroupTotals> {
    let tally: Tally = tally.into();
    let shape = (n, rows_per_chunk(c), c);
    match p {
        Floats::F32(p) => categorical_typed(t, p, c, eps, opts, shape, groups, n_groups, w, tally),
        Floats::F64(p) => categorical_typed(t, p, c, eps, opts, shape, groups, n_groups, w, tally),
    }
}

#[allow(clippy::too_many_arguments)]
fn categorical_typed<P: Real>(
    t: Targets<'_>,
    p: &[P],
    c: usize,
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    shape: (usize, usize, usize),
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: Tally,
) -> Result<GroupTotals> {
    grouped(
        shape,
        groups,
        n_groups,
        w,
        tally.nan,
        None,
        (
            None,
            tally.positives.then_some(ClassTargets::Dense { t, c }),
        ),
        |r, out: &mut [f64]| {
            let elems = r.start * c..r.end * c;
            let (t, p) = (t.slice(elems.clone()), &p[elems]);
            let (none, keep) = (Weights::None, NanPolicy::Propagate);
            loss_options::cce_typed(t, p, (r.len(), c), eps, opts, none, keep, Some(out))
        },
    )
}

/// Per-group sparse categorical cross-entropy with options of `n` labels and `n × c`
/// predictions; with `class_weight` or `ignore_index` a group's weight is `Σ s_i·w_{y_i}`
/// over its rows not ignored, as the "mean" of the ungrouped loss.
#[allow(clippy::too_many_arguments)]
pub fn sparse(
    labels: Ints<'_>,
    p: Floats<'_>,
    (n, c): (usize, usize),
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: impl Into<Tally>,
) -> Result<GroupTotals> {
    let tally: Tally = tally.into();
    let shape = (n, rows_per_chunk(c), c);
    match p {
        Floats::F32(p) => sparse_typed(labels, p, c, eps, opts, shape, groups, n_groups, w, tally),
        Floats::F64(p) => sparse_typed(labels, p, c, eps, opts, shape, groups, n_groups, w, tally),
    }
}

#[allow(clippy::too_many_arguments)]
fn sparse_typed<P: Real>(
    labels: Ints<'_>,
    p: &[P],
    c: usize,
    eps: Option<f64>,
    opts: &LossOptions<'_>,
    shape: (usize, usize, usize),
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: Tally,
) -> Result<GroupTotals> {
    let (cw, ignore) = (opts.class_weight, opts.ignore_index);
    let factor = |r| loss_options::sparse_row_factor(labels, cw, ignore, r);
    let scaled = cw.is_some() || ignore.is_some();
    let factor: Factor<'_> = if scaled { Some(&factor) } else { None };
    let classes = tally
        .positives
        .then_some(ClassTargets::Labels { labels, c, ignore });
    grouped(
        shape,
        groups,
        n_groups,
        w,
        tally.nan,
        factor,
        (None, classes),
        |r, out: &mut [f64]| {
            let (y, p) = (labels.slice(r.clone()), &p[r.start * c..r.end * c]);
            let (none, keep) = (Weights::None, NanPolicy::Propagate);
            loss_options::sparse_typed(y, p, (r.len(), c), eps, opts, none, keep, Some(out))
        },
    )
}

/// Per-group binary focal cross-entropy (items = elements; `eps` is `None` for logits).
#[allow(clippy::too_many_arguments)]
pub fn binary_focal(
    y: Targets<'_>,
    p: Floats<'_>,
    focus: Focus,
    eps: Option<f64>,
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: impl Into<Tally>,
) -> Result<GroupTotals> {
    let shape = (p.len(), CHUNK_ELEMS, 1);
    let (none, keep) = (Weights::None, NanPolicy::Propagate.into());
    let tally: Tally = tally.into();
    let (nan, targets) = (tally.nan, tally.positives.then_some(y));
    match p {
        Floats::F32(p) => grouped(
            shape,
            groups,
            n_groups,
            w,
            nan,
            None,
            (targets, None),
            |r, out| {
                let (y, p) = (y.slice(r.clone()), &p[r]);
                focal::binary_focal_typed::<_, f64>(y, p, focus, eps, none, keep, Some(out))
            },
        ),
        Floats::F64(p) => grouped(
            shape,
            groups,
            n_groups,
            w,
            nan,
            None,
            (targets, None),
            |r, out| {
                let (y, p) = (y.slice(r.clone()), &p[r]);
                focal::binary_focal_typed::<_, f64>(y, p, focus, eps, none, keep, Some(out))
            },
        ),
    }
}

/// Per-group categorical focal cross-entropy (items = rows; `eps` is `None` for logits).
#[allow(clippy::too_many_arguments)]
pub fn categorical_focal(
    t: Targets<'_>,
    p: Floats<'_>,
    (n, c): (usize, usize),
    focus: (f64, ClassAlpha<'_>),
    smoothing: f64,
    eps: Option<f64>,
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: impl Into<Tally>,
) -> Result<GroupTotals> {
    let tally: Tally = tally.into();
    let shape = (n, rows_per_chunk(c), c);
    let focal = (focus, smoothing, eps);
    match p {
        Floats::F32(p) => {
            categorical_focal_typed(t, p, c, focal, shape, groups, n_groups, w, tally)
        }
        Floats::F64(p) => {
            categorical_focal_typed(t, p, c, focal, shape, groups, n_groups, w, tally)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn categorical_focal_typed<P: Real>(
    t: Targets<'_>,
    p: &[P],
    c: usize,
    (focus, smoothing, eps): ((f64, ClassAlpha<'_>), f64, Option<f64>),
    shape: (usize, usize, usize),
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: Tally,
) -> Result<GroupTotals> {
    grouped(
        shape,
        groups,
        n_groups,
        w,
        tally.nan,
        None,
        (
            None,
            tally.positives.then_some(ClassTargets::Dense { t, c }),
        ),
        |r, out: &mut [f64]| {
            let elems = r.start * c..r.end * c;
            let (t, p) = (t.slice(elems.clone()), &p[elems]);
            let (none, keep) = (Weights::None, NanPolicy::Propagate);
            let rc = (r.len(), c);
            focal::categorical_focal_typed(t, p, rc, focus, smoothing, eps, none, keep, Some(out))
        },
    )
}

/// Per-group sparse categorical focal cross-entropy (items = rows); a row whose label is
/// `ignore` has weight 0 in its group, as without groups.
#[allow(clippy::too_many_arguments)]
pub fn sparse_focal(
    labels: Ints<'_>,
    p: Floats<'_>,
    (n, c): (usize, usize),
    focus: SparseFocus<'_>,
    eps: Option<f64>,
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: impl Into<Tally>,
) -> Result<GroupTotals> {
    let tally: Tally = tally.into();
    let shape = (n, rows_per_chunk(c), c);
    match p {
        Floats::F32(p) => {
            sparse_focal_typed(labels, p, c, focus, eps, shape, groups, n_groups, w, tally)
        }
        Floats::F64(p) => {
            sparse_focal_typed(labels, p, c, focus, eps, shape, groups, n_groups, w, tally)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn sparse_focal_typed<P: Real>(
    labels: Ints<'_>,
    p: &[P],
    c: usize,
    focus: SparseFocus<'_>,
    eps: Option<f64>,
    shape: (usize, usize, usize),
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
    tally: Tally,
) -> Result<GroupTotals> {
    let ignore = focus.ignore;
    let factor = |r| loss_options::sparse_row_factor(labels, None, ignore, r);
    let factor: Factor<'_> = if ignore.is_some() {
        Some(&factor)
    } else {
        None
    };
    let classes = tally
        .positives
        .then_some(ClassTargets::Labels { labels, c, ignore });
    grouped(
        shape,
        groups,
        n_groups,
        w,
        tally.nan,
        factor,
        (None, classes),
        |r, out: &mut [f64]| {
            let (y, p) = (labels.slice(r.clone()), &p[r.start * c..r.end * c]);
            let (none, keep) = (Weights::None, NanPolicy::Propagate);
            let rc = (r.len(), c);
            focal::sparse_focal_typed(y, p, rc, focus, eps, none, keep, Some(out))
        },
    )
}

/// Per-group entropy of `n` rows of `c` probabilities (each divided by `ln_base`): a group's
/// `Σ s_r·H(p_r)` and `Σ s_r`, for the streaming `Entropy` metric. NaN rows propagate.
pub fn entropy(
    p: Floats<'_>,
    (n, c): (usize, usize),
    ln_base: f64,
    groups: GroupIds<'_>,
    n_groups: usize,
    w: Weights<'_>,
) -> Result<GroupTotals> {
    let shape = (n, rows_per_chunk(c), c);
    let keep = NanPolicy::Propagate;
    grouped(
        shape,
        groups,
        n_groups,
        w,
        keep,
        None,
        (None, None),
        |r, out| {
            let p = p.slice(r.start * c..r.end * c);
            crate::entropy::entropy(p, r.len(), c, ln_base, FloatsMut::F64(out))?;
            Ok(Totals::default())
        },
    )
}

/// An error of a kernel run on items `item0..` (elements `elem0..`), with its indices made
/// global again.
fn shifted(e: Error, item0: usize, elem0: usize) -> Error {
    match e {
        Error::OutOfRange {
            arg,
            index,
            value,
            lo,
            hi,
        } => Error::OutOfRange {
            arg,
            index: index + elem0,
            value,
            lo,
            hi,
        },
        Error::LabelOutOfRange {
            arg,
            index,
            value,
            n_classes,
        } => Error::LabelOutOfRange {
            arg,
            index: index + item0,
            value,
            n_classes,
        },
        Error::NanLoss { index } => Error::NanLoss {
            index: index + item0,
        },
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::bce_prob;
    use crate::categorical::sparse_logits;
    use crate::parallel::{rows_per_chunk, set_num_threads, CHUNK_ELEMS};

    fn bce_grouped(
        y: &[f64],
        p: &[f64],
        ids: &[i64],
        w: Weights<'_>,
        nan: NanPolicy,
    ) -> Result<GroupTotals> {
        let g = n_groups(ids)?;
        grouped(
            (p.len(), CHUNK_ELEMS, 1),
            GroupIds {
                ids: ids.into(),
                inner: 1,
            },
            g,
            w,
            nan,
            None,
            (Some(y.into()), None),
            |r, out: &mut [f64]| {
                bce_prob(
                    &y[r.clone()],
                    &p[r],
                    0.0,
                    Weights::None,
                    NanPolicy::Propagate,
                    Some(out.into()),
                )
            },
        )
    }

    #[test]
    fn one_group_equals_the_ungrouped_total() {
        let n = 3 * CHUNK_ELEMS * WINDOW_CHUNKS / 2 + 17; // several windows, a partial one
        let y: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let p: Vec<f64> = (0..n).map(|i| (i % 997 + 1) as f64 / 999.0).collect();
        let w: Vec<f64> = (0..n).map(|i| (i % 5) as f64 * 0.25).collect();
        let ids = vec![0i64; n];
        let g = bce_grouped(&y, &p, &ids, Weights::PerItem(&w), NanPolicy::Propagate).unwrap();
        let t = bce_prob(
            &y,
            &p,
            0.0,
            Weights::PerItem(&w),
            NanPolicy::Propagate,
            None,
        )
        .unwrap();
        assert!((g.loss[0] - t.loss).abs() <= 2.0 * f64::EPSILON * t.loss);
        assert!((g.weight[0] - t.weight).abs() <= 2.0 * f64::EPSILON * t.weight);
    }

    #[test]
    fn groups_partition_the_total_and_empty_groups_are_zero() {
        let n = 1000;
        let y: Vec<f64> = (0..n).map(|i| (i % 3 == 0) as u8 as f64).collect();
        let p: Vec<f64> = (0..n).map(|i| (i % 89 + 1) as f64 / 91.0).collect();
        let ids: Vec<i64> = (0..n).map(|i| [0, 2, 5][i % 3]).collect();
        let g = bce_grouped(&y, &p, &ids, Weights::None, NanPolicy::Propagate).unwrap();
        assert_eq!(g.loss.len(), 6);
        for k in [1, 3, 4] {
            assert_eq!((g.loss[k], g.weight[k]), (0.0, 0.0));
            assert!(g.means()[k].is_nan());
        }
        for k in [0, 2, 5] {
            let c = [0, 2, 5].iter().position(|&x| x == k).unwrap();
            let (mut l, mut s) = (Sum::ZERO, 0.0);
            for i in (c..n).step_by(3) {
                let v = bce_prob(
                    &y[i..i + 1],
                    &p[i..i + 1],
                    0.0,
                    Weights::None,
                    NanPolicy::Propagate,
                    None,
                )
                .unwrap();
                l.add(v.loss);
                s += 1.0;
            }
            assert_eq!(g.loss[k], l.value());
            assert_eq!(g.weight[k], s);
        }
    }

    #[test]
    fn errors_carry_global_indices() {
        let n = 2 * CHUNK_ELEMS + 10;
        let y = vec![0.0f64; n];
        let mut p = vec![0.5; n];
        p[CHUNK_ELEMS + 7] = 1.5;
        let ids = vec![0i64; n];
        let e = bce_grouped(&y, &p, &ids, Weights::None, NanPolicy::Propagate).unwrap_err();
        assert!(matches!(e, Error::OutOfRange { index, .. } if index == CHUNK_ELEMS + 7));
        p[CHUNK_ELEMS + 7] = f64::NAN;
        let e = bce_grouped(&y, &p, &ids, Weights::None, NanPolicy::Raise).unwrap_err();
        assert_eq!(
            e,
            Error::NanLoss {
                index: CHUNK_ELEMS + 7
            }
        );
        let mut w = vec![1.0; n];
        w[n - 1] = -1.0;
        let e = bce_grouped(&y, &p, &ids, Weights::PerItem(&w), NanPolicy::Omit).unwrap_err();
        assert!(matches!(e, Error::BadWeight { index, .. } if index == n - 1));
        let mut bad_ids = ids.clone();
        bad_ids[3] = -2;
        assert!(matches!(
            n_groups(&bad_ids),
            Err(Error::BadGroup {
                index: 3,
                value: -2,
                ..
            })
        ));
        bad_ids[3] = MAX_GROUPS as i64;
        assert!(n_groups(&bad_ids).is_err());
    }

    #[test]
    fn omit_drops_nan_items_from_both_sums() {
        let y = vec![1.0, 0.0, 1.0, 1.0];
        let p = vec![0.5, f64::NAN, 0.25, 0.5];
        let ids = vec![0i64, 0, 1, 1];
        let g = bce_grouped(&y, &p, &ids, Weights::None, NanPolicy::Omit).unwrap();
        assert_eq!(g.weight, vec![1.0, 2.0]);
        assert_eq!(g.loss[0], -(0.5f64.ln()));
        // The metric's tallies: every item seen, the NaN one not kept nor in Σ s·y.
        assert_eq!((g.items, g.kept), (vec![2, 2], vec![1, 2]));
        assert_eq!(g.positive, vec![1.0, 2.0]);
        let g = bce_grouped(&y, &p, &ids, Weights::None, NanPolicy::Propagate).unwrap();
        assert!(g.loss[0].is_nan() && !g.loss[1].is_nan());
    }

    #[test]
    fn many_groups_add_on_the_calling_thread_and_agree_with_few() {
        // 50,000 groups are too many for sums per chunk (CHUNK_ELEMS / 8 = 4096); 5 are not.
        let n = 3 * CHUNK_ELEMS + 5;
        assert_eq!(task_items(50_000, 0, CHUNK_ELEMS, 1), None);
        assert_eq!(task_items(5, 0, CHUNK_ELEMS, 1), Some(CHUNK_ELEMS));
        let y: Vec<f64> = (0..n).map(|i| (i % 3 == 0) as u8 as f64).collect();
        let mut p: Vec<f64> = (0..n).map(|i| (i % 89 + 1) as f64 / 91.0).collect();
        let w: Vec<f64> = (0..n).map(|i| (i % 4) as f64 * 0.5).collect();
        let many: Vec<i64> = (0..n as i64).map(|i| i % 50_000).collect();
        let few: Vec<i64> = many.iter().map(|g| g % 5).collect();
        let run = |ids: &[i64], p: &[f64], nan| bce_grouped(&y, p, ids, Weights::PerItem(&w), nan);
        set_num_threads(1);
        let one = run(&many, &p, NanPolicy::Propagate).unwrap();
        set_num_threads(3);
        let (m, f) = (
            run(&many, &p, NanPolicy::Propagate).unwrap(),
            run(&few, &p, NanPolicy::Propagate).unwrap(),
        );
        set_num_threads(1);
        assert_eq!(one, m);
        for k in 0..5 {
            let fold = |v: &[f64]| v.iter().skip(k).step_by(5).sum::<f64>();
            assert!((fold(&m.loss) - f.loss[k]).abs() <= 1e-12 * f.loss[k]);
            assert!((fold(&m.weight) - f.weight[k]).abs() <= 1e-12 * f.weight[k]);
            assert!((fold(&m.positive) - f.positive[k]).abs() <= 1e-12 * f.positive[k]);
            let count = |v: &[u64]| v.iter().skip(k).step_by(5).sum::<u64>();
            assert_eq!((count(&m.items), count(&m.kept)), (f.items[k], f.kept[k]));
        }
        // The first error in item order, whichever thread adds the items: a NaN in the second
        // chunk is raised before an out-of-range value in the third.
        p[CHUNK_ELEMS + 3] = f64::NAN;
        p[2 * CHUNK_ELEMS + 1] = 2.0;
        for ids in [&many, &few] {
            let e = run(ids, &p, NanPolicy::Raise).unwrap_err();
            assert_eq!(
                e,
                Error::NanLoss {
                    index: CHUNK_ELEMS + 3
                }
            );
            let e = run(ids, &p, NanPolicy::Omit).unwrap_err();
            assert!(matches!(e, Error::OutOfRange { index, .. } if index == 2 * CHUNK_ELEMS + 1));
        }
    }

    /// `run()` on one thread and on three, which must agree bitwise; the one-thread result.
    fn same_on_one_and_three_threads(run: impl Fn() -> GroupTotals) -> GroupTotals {
        set_num_threads(1);
        let one = run();
        set_num_threads(3);
        let three = run();
        set_num_threads(1);
        assert_eq!(one, three);
        one
    }

    #[test]
    fn class_masses_of_many_groups_in_tasks_of_several_chunks() {
        // 100 classes, 50 groups: merging a task's sums (50 × (2 + 100)) is paid for by two
        // chunks of rows, not one; results are the same for any thread count, and the class
        // masses of the groups add up to those of the whole batch.
        let (n, c, groups) = (5_000, 100, 50);
        let chunk = rows_per_chunk(c);
        assert_eq!(task_items(groups, c, chunk, c), Some(2 * chunk));
        let t: Vec<f32> = (0..n * c)
            .map(|i| ((i % c == i / c % c) as u8) as f32)
            .collect();
        let z: Vec<f32> = (0..n * c)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 9.0)
            .collect();
        let ids: Vec<u16> = (0..n).map(|i| (i * 7 % groups) as u16).collect();
        let w: Vec<f64> = (0..n).map(|i| (i % 4) as f64 * 0.5).collect();
        let run = || {
            let ids = GroupIds {
                ids: (&ids).into(),
                inner: 1,
            };
            let opts = LossOptions::default();
            let tally = Tally {
                nan: NanPolicy::Propagate,
                positives: true,
            };
            let (t, z) = (Targets::from(&t[..]), Floats::from(&z[..]));
            categorical(
                t,
                z,
                (n, c),
                None,
                &opts,
                ids,
                groups,
                Weights::PerItem(&w),
                tally,
            )
            .unwrap()
        };
        let one = same_on_one_and_three_threads(run);
        for k in 0..c {
            let got: f64 = (0..groups).map(|g| one.class_mass[g * c + k]).sum();
            let want: f64 = (k..n).step_by(c).map(|r| w[r]).sum();
            assert!((got - want).abs() <= 1e-12 * want.max(1.0), "class {k}");
        }
    }

    #[test]
    fn rows_and_thread_counts_agree_bitwise() {
        let (n, c) = (20_000, 7);
        let z: Vec<f32> = (0..n * c)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 9.0)
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i * 13 % c) as u8).collect();
        let ids: Vec<u16> = (0..n).map(|i| (i * 7 % 11) as u16).collect();
        let run = || {
            grouped(
                (n, rows_per_chunk(c), c),
                GroupIds {
                    ids: (&ids).into(),
                    inner: 1,
                },
                n_groups(&ids).unwrap(),
                Weights::None,
                NanPolicy::Propagate,
                None,
                (None, None),
                |r, out: &mut [f32]| {
                    sparse_logits(
                        &labels[r.clone()],
                        &z[r.start * c..r.end * c],
                        r.len(),
                        c,
                        Weights::None,
                        NanPolicy::Propagate,
                        Some(out.into()),
                    )
                },
            )
            .unwrap()
        };
        let one = same_on_one_and_three_threads(run);
        assert_eq!(one.weight.iter().sum::<f64>(), n as f64);
    }
}
