//! Gemini-native routes (`generateContent`, `streamGenerateContent`, `countTokens`): the dialect that
//! renders Gemini's answers as Gemini clients expect them. Their request side needs no dialect of its
//! own: a Gemini body is checked and prepared by the core (`gemini::request`), which the chat route
//! also uses for Gemini-shaped bodies.

pub mod dialect;
