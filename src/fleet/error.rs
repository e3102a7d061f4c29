//! Why a request got no credential: nothing could be chosen from the fleet, or the chosen one could not
//! get ready. The gateway turns each into its status and words for the client.

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CredentialError {
    #[error("no credentials are loaded; add one in the control panel")]
    NoneLoaded,
    #[error("no loaded credential serves model {0}")]
    NoneServes(String),
    #[error("every credential is disabled")]
    AllDisabled,
    #[error("every usable credential is cooling down for {model} (next free in {wait_secs} s)")]
    AllCooling { model: String, wait_secs: i64 },
    #[error("no credential with access to preview model {0}")]
    NoPreviewAccess(String),
    #[error("every credential was tried for this request")]
    Exhausted,
    #[error("credential {0} could not get a token: {1}")]
    NotReady(String, String),
}
