//! Resident memory of a process from `/proc/<pid>/status`.

use serde_json::{json, Value};

use crate::args::{Args, BenchError};

pub struct Memory {
    pub rss_kb: u64,
    /// Peak resident set since the process started (`VmHWM`).
    pub hwm_kb: u64,
}

pub fn read(pid: u32) -> Result<Memory, BenchError> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|source| BenchError::File {
        path: path.clone(),
        source,
    })?;
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .unwrap_or(0)
    };
    Ok(Memory {
        rss_kb: field("VmRSS:"),
        hwm_kb: field("VmHWM:"),
    })
}

pub fn run(args: &Args) -> Result<Value, BenchError> {
    let memory = read(args.number("pid", 0)?)?;
    Ok(json!({"rss_kb": memory.rss_kb, "hwm_kb": memory.hwm_kb}))
}
