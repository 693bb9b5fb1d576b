//! Delta debugging (Zeller and Hildebrandt's ddmin): the smallest subset
//! of a list, one element less of which no longer passes `test`, found by
//! trying chunks and their complements at a growing granularity.

/// Why the search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Nothing more can be taken out one chunk at a time: 1-minimal.
    Minimal,
    /// The budget ran out first; the result is the smallest found so far.
    Budget,
}

/// Shrinks `items` (for which `test` holds) while `test` keeps holding.
/// `test` returns `None` once the budget is spent.
pub fn ddmin<T: Clone>(
    mut items: Vec<T>,
    mut test: impl FnMut(&[T]) -> Option<bool>,
) -> (Vec<T>, Ended) {
    let mut n = 2usize;
    // Nothing at all may already do.
    match test(&[]) {
        Some(true) => return (Vec::new(), Ended::Minimal),
        Some(false) => {}
        None => return (items, Ended::Budget),
    }
    while items.len() >= 2 {
        let chunks = split(&items, n);
        let mut moved = false;
        for (i, chunk) in chunks.iter().enumerate() {
            match test(chunk) {
                Some(true) => {
                    items = chunk.clone();
                    n = 2;
                    moved = true;
                    break;
                }
                Some(false) => {}
                None => return (items, Ended::Budget),
            }
            // With two chunks the complement is the other chunk.
            if chunks.len() == 2 {
                continue;
            }
            let rest: Vec<T> = chunks
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, c)| c.iter().cloned())
                .collect();
            match test(&rest) {
                Some(true) => {
                    items = rest;
                    n = (n - 1).max(2);
                    moved = true;
                    break;
                }
                Some(false) => {}
                None => return (items, Ended::Budget),
            }
        }
        if !moved {
            if n >= items.len() {
                break;
            }
            n = (2 * n).min(items.len());
        }
    }
    if items.len() == 1 {
        match test(&[]) {
            Some(true) => items.clear(),
            Some(false) => {}
            None => return (items, Ended::Budget),
        }
    }
    (items, Ended::Minimal)
}

/// `items` in `n` chunks as even as can be.
fn split<T: Clone>(items: &[T], n: usize) -> Vec<Vec<T>> {
    let n = n.min(items.len()).max(1);
    let mut chunks = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let end = items.len() * (i + 1) / n;
        chunks.push(items[start..end].to_vec());
        start = end;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_the_two_that_matter_among_a_thousand() {
        let items: Vec<u32> = (0..1000).collect();
        let mut tests = 0;
        let (found, ended) = ddmin(items, |s| {
            tests += 1;
            Some(s.contains(&137) && s.contains(&862))
        });
        assert_eq!(found, [137, 862]);
        assert_eq!(ended, Ended::Minimal);
        assert!(tests < 100, "{tests} tests");
    }

    #[test]
    fn a_spent_budget_keeps_what_was_found() {
        let items: Vec<u32> = (0..64).collect();
        let mut left = 3;
        let (found, ended) = ddmin(items, |s| {
            if left == 0 {
                return None;
            }
            left -= 1;
            Some(s.contains(&5))
        });
        assert_eq!(ended, Ended::Budget);
        assert!(found.contains(&5) && found.len() < 64, "{found:?}");
    }

    proptest! {
        #[test]
        fn the_result_passes_and_is_one_minimal(
            len in 1usize..60,
            needed in proptest::collection::btree_set(0usize..60, 0..5),
        ) {
            let needed: Vec<usize> = needed.into_iter().filter(|&i| i < len).collect();
            let pass = |s: &[usize]| needed.iter().all(|n| s.contains(n));
            let (found, ended) = ddmin((0..len).collect(), |s| Some(pass(s)));
            prop_assert_eq!(ended, Ended::Minimal);
            prop_assert!(pass(&found));
            for i in 0..found.len() {
                let mut less = found.clone();
                less.remove(i);
                prop_assert!(!pass(&less), "{:?} without {}", found, found[i]);
            }
        }
    }
}
