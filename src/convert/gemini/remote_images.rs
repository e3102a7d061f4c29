//! The distinct remote image URLs of a request, gathered in order for the caller to fetch. One hash
//! set makes the de-duplication linear: a body of 64,000 image parts once cost a worker seconds of
//! pairwise comparisons. At most one URL past [`MAX_REMOTE_IMAGES`] is kept, so the caller can refuse
//! the request without holding every URL of it.

use std::collections::HashSet;

use crate::convert::input_limits::MAX_REMOTE_IMAGES;

/// Distinct `http(s)` URLs in the order first seen.
#[derive(Default)]
pub struct RemoteUrls<'a> {
    seen: HashSet<&'a str>,
    urls: Vec<String>,
}

impl<'a> RemoteUrls<'a> {
    /// Keeps `url` if it is remote and new.
    pub fn offer(&mut self, url: &'a str) {
        if self.urls.len() > MAX_REMOTE_IMAGES || !is_remote(url) {
            return;
        }
        if self.seen.insert(url) {
            self.urls.push(url.to_owned());
        }
    }

    pub fn into_urls(self) -> Vec<String> {
        self.urls
    }
}

/// `http://` or `https://`, in any case.
pub fn is_remote(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_remote_urls_in_order_bounded() {
        let mut urls = RemoteUrls::default();
        for url in ["https://a/1", "data:x", "HTTP://b/2", "https://a/1"] {
            urls.offer(url);
        }
        assert_eq!(urls.into_urls(), ["https://a/1", "HTTP://b/2"]);
        let many: Vec<String> = (0..10 * MAX_REMOTE_IMAGES)
            .map(|i| format!("https://h/{i}"))
            .collect();
        let mut urls = RemoteUrls::default();
        for url in &many {
            urls.offer(url);
        }
        assert_eq!(urls.into_urls().len(), MAX_REMOTE_IMAGES + 1);
    }
}
