//! Vertex AI URLs. A service account calls
//! `{VERTEX_ENDPOINT or https://{location}-aiplatform.googleapis.com}/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:*`
//! with a bearer token (`vertex_token`); an express-mode key calls
//! `{VERTEX_ENDPOINT or https://aiplatform.googleapis.com}/v1/publishers/google/models/{m}:*` with
//! `x-goog-api-key`. Bodies and answers are bare, as on the Generative Language API (`gemini_api`).

use super::path_segment::segment;

/// The global host (express mode, and the `global` location).
const GLOBAL_HOST: &str = "https://aiplatform.googleapis.com";

/// Where a Vertex credential's calls go.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A service account's project and location.
    Project { project: &'a str, location: &'a str },
    /// An express-mode key.
    Express,
}

/// Project, location and model are each one encoded path segment (see `path_segment`).
pub fn method_url(endpoint: Option<&str>, target: Target<'_>, model: &str, method: &str) -> String {
    let model = segment(model);
    match target {
        Target::Project { project, location } => {
            let base = match endpoint {
                Some(e) => e.trim_end_matches('/').to_string(),
                None if location == "global" => GLOBAL_HOST.to_string(),
                None => format!("https://{location}-aiplatform.googleapis.com"),
            };
            format!(
                "{base}/v1/projects/{}/locations/{}/publishers/google/models/{model}:{method}",
                segment(project),
                segment(location)
            )
        }
        Target::Express => {
            let base = endpoint.map_or(GLOBAL_HOST, |e| e.trim_end_matches('/'));
            format!("{base}/v1/publishers/google/models/{model}:{method}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_per_target_and_location() {
        let sa = Target::Project {
            project: "p",
            location: "us-central1",
        };
        assert_eq!(
            method_url(None, sa, "gemini-2.5-pro", "generateContent"),
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent"
        );
        let global = Target::Project {
            project: "p",
            location: "global",
        };
        assert!(method_url(None, global, "m", "countTokens")
            .starts_with("https://aiplatform.googleapis.com/v1/projects/p/locations/global/"));
        assert_eq!(
            method_url(
                Some("http://127.0.0.1:9/"),
                Target::Express,
                "m",
                "streamGenerateContent"
            ),
            "http://127.0.0.1:9/v1/publishers/google/models/m:streamGenerateContent"
        );
        assert_eq!(
            method_url(
                Some("http://v"),
                Target::Express,
                "m/../x?y",
                "generateContent"
            ),
            "http://v/v1/publishers/google/models/m%2F..%2Fx%3Fy:generateContent"
        );
    }
}
