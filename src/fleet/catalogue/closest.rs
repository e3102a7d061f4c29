//! The catalogue ids closest to a model nobody serves, for the 404 that names them: a client that
//! asked for `gemini-2.5-flsh` learns that `gemini-2.5-flash` exists.

/// Levenshtein distance over characters, with one row of memory.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row.first().copied().unwrap_or_default();
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            let left = row.get(j).copied().unwrap_or_default() + 1;
            let above = row.get(j + 1).copied().unwrap_or_default() + 1;
            diagonal = row.get(j + 1).copied().unwrap_or_default();
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = substitution.min(left).min(above);
            }
        }
    }
    row.last().copied().unwrap_or_default()
}

/// Up to `n` of `ids` nearest to `model`, nearest first (ties keep the catalogue's order).
pub fn closest_ids<'a>(model: &str, ids: impl Iterator<Item = &'a str>, n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, usize, &str)> = ids
        .enumerate()
        .map(|(i, id)| (edit_distance(model, id), i, id))
        .collect();
    scored.sort_unstable();
    scored
        .into_iter()
        .take(n)
        .map(|(_, _, id)| id.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("gemini-2.5-flsh", "gemini-2.5-flash"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_are_nearest_first_and_at_most_n() {
        let ids = [
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemma",
        ];
        assert_eq!(
            closest_ids("gemini-2.5-flsh", ids.iter().copied(), 3),
            vec![
                "gemini-2.5-flash",
                "gemini-2.5-pro",
                "gemini-2.5-flash-lite"
            ]
        );
        assert!(closest_ids("x", std::iter::empty(), 3).is_empty());
    }
}
