//! A latency histogram that several load processes can merge: `instances` runs one process per
//! server instance, and the p50/p99 of the whole run cannot be computed from each process's
//! percentiles. Each process prints its histogram (a few hundred buckets, not millions of
//! samples) and `bench/merge_parts.py` adds them up.
//!
//! Buckets are log-linear in microseconds: exact below 128 µs, then 64 buckets per power of
//! two (under 1.6 % relative width), up to `u32::MAX` µs. A bucket reports its lower bound.

/// The nearest-rank percentile `p` (0–1) of ascending `sorted`; `None` when it is empty. Every
/// percentile this tool prints goes through here, whatever the unit.
pub fn nearest_rank<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Exact buckets below this; from here on, `SUB` buckets per power of two.
const LINEAR: u32 = 128;
const SUB_BITS: u32 = 6;
const SUB: u32 = 1 << SUB_BITS;

/// The bucket index of `us`.
pub fn bucket(us: u32) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let exp = 31 - us.leading_zeros(); // ≥ 7
    let sub = (us >> (exp - SUB_BITS)) & (SUB - 1);
    (LINEAR + (exp - 7) * SUB + sub) as usize
}

/// The smallest value in bucket `b`.
pub fn lower(b: usize) -> u32 {
    let b = b as u32;
    if b < LINEAR {
        return b;
    }
    let exp = (b - LINEAR) / SUB + 7;
    let sub = (b - LINEAR) % SUB;
    (1 << exp) | (sub << (exp - SUB_BITS))
}

/// Counts per bucket.
#[derive(Default)]
pub struct Hist {
    counts: Vec<u64>,
}

impl Hist {
    pub fn add(&mut self, us: u32) {
        let b = bucket(us);
        if self.counts.len() <= b {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
    }

    /// `[[lower_us, count], …]` for the non-empty buckets, as JSON.
    pub fn to_json(&self) -> String {
        let cells: Vec<String> = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(b, c)| format!("[{},{c}]", lower(b)))
            .collect();
        format!("[{}]", cells.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_narrow() {
        let mut prev = 0;
        for us in (0..2_000_000u32).step_by(7).chain([u32::MAX - 1, u32::MAX]) {
            let b = bucket(us);
            assert!(b >= prev, "monotonic at {us}");
            prev = b;
            let lo = lower(b);
            assert!(lo <= us, "{us} in a bucket starting at {lo}");
            if us >= LINEAR {
                assert!(
                    (us - lo) as f64 / us as f64 <= 1.0 / SUB as f64,
                    "{us} vs {lo}"
                );
            } else {
                assert_eq!(lo, us);
            }
            assert_eq!(bucket(lo), b, "a bucket's lower bound lies in it");
        }
    }

    #[test]
    fn json_lists_non_empty_buckets() {
        let mut h = Hist::default();
        for us in [5, 5, 1000] {
            h.add(us);
        }
        assert_eq!(h.to_json(), "[[5,2],[1000,1]]");
    }
}
