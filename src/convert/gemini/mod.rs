//! The Gemini core every dialect converts through: model names and their features, generation
//! parameters, parts and inline data, tool names and schema cleaning, tool turns and their ids,
//! lenient history arguments, Gemini-shaped request bodies and their validation, finish reasons and
//! fake-stream chunks. Nothing here knows a client dialect; the dialect folders build on it.

pub mod fake_stream;
pub mod features;
pub mod fields;
pub mod finish;
pub mod generation_config;
pub mod lenient_json;
pub mod model_name;
pub mod model_name_check;
pub mod output_limit;
pub mod parts;
pub mod remote_images;
pub mod request;
pub mod schema;
pub mod tool_call_id;
pub mod tool_names;
pub mod turns;
pub mod validate;
