//! What OpenAI message conversion carries from message to message besides the messages themselves;
//! its own file so that the message loop and the tool-turn helpers both read it without importing each other.

use std::collections::HashMap;

use crate::convert::gemini::parts::InlineImage;
use crate::convert::gemini::tool_names::ToolNames;

/// What message conversion needs besides the messages themselves.
pub struct MessageContext<'a> {
    pub images: &'a HashMap<String, InlineImage>,
    pub names: &'a mut ToolNames,
    pub compatibility_mode: bool,
    /// Gemini 3 rejects function calls without a thought signature.
    pub needs_signatures: bool,
}
