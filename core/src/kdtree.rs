//! A k-d tree over the neurons' feature vectors (points in Rⁿ), for the two
//! metrics that compare neurons pairwise: the clusters (connected components
//! of the graph joining points closer than a threshold) and the spread (the
//! largest distance between two points). Comparing every pair costs O(m²n)
//! per record, minutes at m = 10⁵; with the tree a record costs
//! O(n·m log m) to build it plus the pairs the tree cannot rule out.
//!
//! Both answers are exactly those of comparing every pair, bit for bit:
//! every distance is [`distance`], and a box is ruled out only by bounds
//! computed from the same coordinates with the same operations in the same
//! order. Rounding is monotone, so a box's computed distance bound never
//! passes the computed distance of a point in it.
//!
//! Cost (distance evaluations, each O(n)): the clusters visit each point
//! once, plus for each point the nearby points still unvisited (already
//! joined points are pruned with their subtree), about O(m log m) for
//! points in a few dimensions, whether spread out or collapsed into one
//! cluster. The spread starts from a farthest-point double sweep (2m
//! evaluations) and then compares only pairs of boxes whose farthest
//! corners could beat it, typically O(m log m). Both stay O(m²) in the
//! worst case (e.g. points evenly spread in many dimensions, where boxes
//! separate nothing), as every exact method in high dimension does.

/// Points per leaf: below this, comparing the points costs less than more
/// boxes would.
const LEAF: usize = 8;

/// The Euclidean distance between two points, the one every comparison uses.
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// `count` points of one dimension, stored one after another in one slice:
/// the neurons' feature vectors without a vector each.
#[derive(Clone, Copy, Debug)]
pub struct Points<'a> {
    coords: &'a [f64],
    count: usize,
    dim: usize,
}

impl<'a> Points<'a> {
    /// The `count` points whose coordinates fill `coords`, each
    /// `coords.len() / count` long (at least one coordinate).
    pub fn new(coords: &'a [f64], count: usize) -> Self {
        let dim = coords.len().checked_div(count).unwrap_or(0);
        assert_eq!(
            dim * count,
            coords.len(),
            "{count} points of unequal length"
        );
        assert!(count == 0 || dim > 0, "{count} points without coordinates");
        Self { coords, count, dim }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Point `i`'s coordinates.
    pub fn get(&self, i: usize) -> &'a [f64] {
        &self.coords[i * self.dim..][..self.dim]
    }

    /// The points' coordinates in order (none for no points: `dim` is 0
    /// only then, and a chunk size must not be).
    pub fn iter(&self) -> std::slice::ChunksExact<'a, f64> {
        self.coords.chunks_exact(self.dim.max(1))
    }

    /// The first `count` points.
    fn first(&self, count: usize) -> Self {
        Self {
            coords: &self.coords[..count * self.dim],
            count,
            dim: self.dim,
        }
    }
}

struct Node {
    /// The node's points are `order[lo..hi]`.
    lo: usize,
    hi: usize,
    children: Option<(usize, usize)>,
    parent: usize,
}

pub struct KdTree<'a> {
    points: Points<'a>,
    dim: usize,
    /// Point indices, each node's a contiguous range.
    order: Vec<usize>,
    nodes: Vec<Node>,
    /// Node i's bounding box: `bounds[2·dim·i ..][..dim]` its lower corner,
    /// the next `dim` values its upper corner.
    bounds: Vec<f64>,
}

impl<'a> KdTree<'a> {
    /// The tree of `points` (all of one dimension), split at the median of
    /// the widest coordinate until leaves hold at most `LEAF` points.
    pub fn new(points: Points<'a>) -> Self {
        let dim = points.dim;
        let mut tree = Self {
            points,
            dim,
            order: (0..points.len()).collect(),
            nodes: Vec::new(),
            bounds: Vec::new(),
        };
        if !points.is_empty() {
            tree.build(0, points.len(), 0);
        }
        tree
    }

    fn build(&mut self, lo: usize, hi: usize, parent: usize) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node {
            lo,
            hi,
            children: None,
            parent,
        });
        let (dim, points) = (self.dim, self.points);
        let mut lower = vec![f64::INFINITY; dim];
        let mut upper = vec![f64::NEG_INFINITY; dim];
        for &p in &self.order[lo..hi] {
            for (k, &v) in points.get(p).iter().enumerate() {
                lower[k] = lower[k].min(v);
                upper[k] = upper[k].max(v);
            }
        }
        self.bounds.extend(&lower);
        self.bounds.extend(&upper);
        if hi - lo > LEAF {
            let widest = (0..dim)
                .max_by(|&a, &b| (upper[a] - lower[a]).total_cmp(&(upper[b] - lower[b])))
                .unwrap_or(0);
            let mid = lo + (hi - lo) / 2;
            self.order[lo..hi].select_nth_unstable_by(mid - lo, |&a, &b| {
                points.get(a)[widest].total_cmp(&points.get(b)[widest])
            });
            let left = self.build(lo, mid, id);
            let right = self.build(mid, hi, id);
            self.nodes[id].children = Some((left, right));
        }
        id
    }

    fn lower(&self, node: usize) -> &[f64] {
        &self.bounds[2 * self.dim * node..][..self.dim]
    }

    fn upper(&self, node: usize) -> &[f64] {
        &self.bounds[2 * self.dim * node + self.dim..][..self.dim]
    }

    /// A lower bound of [`distance`]`(c, p)` for every point p in `node`.
    fn min_distance(&self, c: &[f64], node: usize) -> f64 {
        c.iter()
            .zip(self.lower(node).iter().zip(self.upper(node)))
            .map(|(&x, (&lo, &hi))| {
                if x < lo {
                    (lo - x).powi(2)
                } else if x > hi {
                    (x - hi).powi(2)
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            .sqrt()
    }

    /// An upper bound of [`distance`]`(p, q)` for p in `a` and q in `b`.
    fn max_distance(&self, a: usize, b: usize) -> f64 {
        let (la, ua, lb, ub) = (self.lower(a), self.upper(a), self.lower(b), self.upper(b));
        (0..self.dim)
            .map(|k| (ua[k] - lb[k]).abs().max((ub[k] - la[k]).abs()).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    fn len(&self, node: usize) -> usize {
        self.nodes[node].hi - self.nodes[node].lo
    }

    /// The number of connected components of the graph joining points at
    /// [`distance`] at most `threshold` (single-linkage clusters), and the
    /// distances evaluated. A breadth-first search: each point, once
    /// reached, leaves the tree, and subtrees with no point left are skipped.
    pub fn components(&self, threshold: f64) -> (u32, u64) {
        let m = self.points.len();
        let mut alive = vec![true; m];
        let mut remaining: Vec<usize> = (0..self.nodes.len()).map(|i| self.len(i)).collect();
        let mut leaf_of = vec![0; m];
        for (i, node) in self.nodes.iter().enumerate() {
            if node.children.is_none() {
                for &p in &self.order[node.lo..node.hi] {
                    leaf_of[p] = i;
                }
            }
        }
        // Takes point p out: it and every node above it hold one fewer.
        let remove = |p: usize, alive: &mut [bool], remaining: &mut [usize]| {
            alive[p] = false;
            let mut node = leaf_of[p];
            loop {
                remaining[node] -= 1;
                if node == 0 {
                    break;
                }
                node = self.nodes[node].parent;
            }
        };
        let (mut count, mut evaluations) = (0u32, 0u64);
        let (mut queue, mut stack) = (Vec::new(), Vec::new());
        for start in 0..m {
            if !alive[start] {
                continue;
            }
            count += 1;
            remove(start, &mut alive, &mut remaining);
            queue.push(start);
            while let Some(c) = queue.pop() {
                let centre = self.points.get(c);
                stack.push(0);
                while let Some(node) = stack.pop() {
                    if remaining[node] == 0 || self.min_distance(centre, node) > threshold {
                        continue;
                    }
                    let Node {
                        lo, hi, children, ..
                    } = self.nodes[node];
                    if let Some((l, r)) = children {
                        stack.extend([l, r]);
                        continue;
                    }
                    for &p in &self.order[lo..hi] {
                        if alive[p] {
                            evaluations += 1;
                            if distance(centre, self.points.get(p)) <= threshold {
                                remove(p, &mut alive, &mut remaining);
                                queue.push(p);
                            }
                        }
                    }
                }
            }
        }
        (count, evaluations)
    }

    /// The largest [`distance`] between two points (0 for fewer than two),
    /// and the distances evaluated. A farthest-point double sweep gives a
    /// first candidate; then pairs of nodes are compared only while the
    /// farthest corners of their boxes could beat the best so far.
    pub fn diameter(&self) -> (f64, u64) {
        let m = self.points.len();
        if m < 2 {
            return (0.0, 0);
        }
        let mut evaluations = 0u64;
        let mut farthest = |from: usize| {
            evaluations += m as u64;
            (0..m)
                .map(|p| (distance(self.points.get(from), self.points.get(p)), p))
                .fold((0.0, from), |a, b| if b.0 > a.0 { b } else { a })
        };
        let (_, a) = farthest(0);
        let (mut best, _) = farthest(a);
        let mut stack = vec![(0, 0)];
        while let Some((a, b)) = stack.pop() {
            if self.max_distance(a, b) <= best {
                continue;
            }
            match (self.nodes[a].children, self.nodes[b].children) {
                (None, None) => {
                    let (na, nb) = (&self.nodes[a], &self.nodes[b]);
                    for (i, &p) in self.order[na.lo..na.hi].iter().enumerate() {
                        // Within one leaf, each pair once.
                        let from = if a == b { na.lo + i + 1 } else { nb.lo };
                        for &q in &self.order[from..nb.hi] {
                            evaluations += 1;
                            best = best.max(distance(self.points.get(p), self.points.get(q)));
                        }
                    }
                }
                (Some((l, r)), _) if a == b => stack.extend([(l, l), (r, r), (l, r)]),
                (Some((l, r)), None) => stack.extend([(l, b), (r, b)]),
                (Some((l, r)), Some(_)) if self.len(a) >= self.len(b) => {
                    stack.extend([(l, b), (r, b)]);
                }
                (_, Some((l, r))) => stack.extend([(a, l), (a, r)]),
            }
        }
        (best, evaluations)
    }
}

/// Up to this many points, [`spread_and_components`] compares every pair:
/// fewer operations than building and walking a tree (at m = 10, \[G24\]'s
/// setting, about a tenth of the instructions).
pub const PAIRS_UP_TO: usize = 64;

/// The spread ([`KdTree::diameter`]) and the number of clusters at
/// `threshold` ([`KdTree::components`]) of `points`: by comparing every
/// pair for a few points, else with the tree. The answers are the same
/// either way, bit for bit: the largest distance and the connected
/// components do not depend on the order pairs are compared in.
pub fn spread_and_components(points: Points, threshold: f64) -> (f64, u32) {
    if points.len() <= PAIRS_UP_TO {
        return by_pairs(points, threshold);
    }
    let tree = KdTree::new(points);
    (tree.diameter().0, tree.components(threshold).0)
}

/// The definitions, comparing every pair once: the largest [`distance`],
/// and the components joined by union–find.
fn by_pairs(points: Points, threshold: f64) -> (f64, u32) {
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..points.len()).collect();
    let (mut spread, mut count) = (0.0f64, points.len() as u32);
    for (j, pj) in points.iter().enumerate() {
        for (k, pk) in points.first(j).iter().enumerate() {
            let d = distance(pj, pk);
            // f64::max without its NaN rules: a distance is a sum of
            // squares' root, never below +0, and a NaN never replaces
            // the spread either way.
            if d > spread {
                spread = d;
            }
            if d <= threshold {
                let (a, b) = (root(&mut parent, j), root(&mut parent, k));
                if a != b {
                    parent[a] = b;
                    count -= 1;
                }
            }
        }
    }
    (spread, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// m points in `dim` dimensions: `centres` Gaussian clusters of width
    /// `width` (or one isotropic cloud with `centres = 0`).
    fn cloud(seed: u64, m: usize, dim: usize, centres: usize, width: f64) -> Vec<Vec<f64>> {
        let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
        let c: Vec<Vec<f64>> = (0..centres)
            .map(|_| (0..dim).map(|_| rng::normal(&mut r)).collect())
            .collect();
        (0..m)
            .map(|j| {
                (0..dim)
                    .map(|k| {
                        let base = if centres > 0 { c[j % centres][k] } else { 0.0 };
                        base + width * rng::normal(&mut r)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_tree_gives_exactly_the_pairwise_answers_on_random_points() {
        for seed in 0..40u64 {
            let m = [1, 2, 3, 9, 17, 60, 250][seed as usize % 7];
            let dim = [1, 2, 3, 5, 10][seed as usize % 5];
            let centres = (seed % 4) as usize;
            let width = [1.0, 0.05, 1e-3, 0.0][(seed / 4) as usize % 4];
            let mut points = cloud(seed, m, dim, centres, width);
            if seed % 5 == 0 && m > 3 {
                // Exact duplicates and a point far away.
                points[1] = points[0].clone();
                points[2] = points[0].iter().map(|v| v * 1e6).collect();
            }
            let coords = points.concat();
            let points = Points::new(&coords, m);
            let tree = KdTree::new(points);
            let (spread, _) = tree.diameter();
            assert_eq!(
                spread.to_bits(),
                by_pairs(points, 0.0).0.to_bits(),
                "seed {seed}"
            );
            for t in [0.0, 1e-3, 0.02, 0.3, 1.0, 3.0, spread, f64::INFINITY] {
                assert_eq!(
                    tree.components(t).0,
                    by_pairs(points, t).1,
                    "seed {seed}, threshold {t}"
                );
            }
        }
    }

    #[test]
    fn both_sides_of_the_pairs_limit_give_the_tree_answers_on_degenerate_points() {
        for m in [PAIRS_UP_TO - 1, PAIRS_UP_TO, PAIRS_UP_TO + 1] {
            let spread_out = cloud(m as u64, m, 3, 0, 1.0);
            let identical = vec![vec![0.25, -1.0, 3.0]; m];
            let zeros = vec![vec![0.0; 3]; m];
            // Two exact copies of each of a few points, on a line.
            let pairs: Vec<Vec<f64>> = (0..m).map(|j| vec![(j / 2 % 5) as f64, 0.0, 0.0]).collect();
            let tight = cloud(1, m, 3, 3, 1e-9);
            for points in [spread_out, identical, zeros, pairs, tight] {
                let coords = points.concat();
                let points = Points::new(&coords, m);
                let tree = KdTree::new(points);
                let spread = tree.diameter().0;
                for t in [0.0, 1e-9, 1.0, 1.5, spread] {
                    let (s, c) = spread_and_components(points, t);
                    assert_eq!(s.to_bits(), spread.to_bits(), "m {m}");
                    assert_eq!(c, tree.components(t).0, "m {m}, threshold {t}");
                }
            }
        }
    }

    #[test]
    fn work_grows_about_linearly_in_m_not_quadratically() {
        // Distance evaluations (each O(n)) at m and 16m, for an isotropic
        // cloud, a few tight clusters, and one collapsed cluster, in the
        // n = 3 of [G24]'s setting. Pairwise comparison does m²/2: 16² = 256
        // times more at 16m; the tree stays within a log factor of 16.
        for (centres, width, threshold) in [(0, 1.0, 0.01), (4, 1e-3, 0.02), (1, 1e-4, 0.01)] {
            let work = |m: usize| {
                let coords = cloud(7, m, 3, centres, width).concat();
                let tree = KdTree::new(Points::new(&coords, m));
                (tree.components(threshold).1, tree.diameter().1)
            };
            let (small, large) = (work(2_000), work(32_000));
            for (what, s, l) in [("clusters", small.0, large.0), ("spread", small.1, large.1)] {
                assert!(
                    l <= 40 * s.max(2_000),
                    "{what} ({centres} centres): {s} → {l} evaluations"
                );
                assert!(
                    l < 32_000 * 32_000 / 200,
                    "{what} ({centres} centres): {l} evaluations at m = 32000"
                );
            }
        }
    }
}
