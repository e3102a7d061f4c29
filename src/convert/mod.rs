pub mod openai_response;
pub mod tool_call_id;
