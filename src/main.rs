use std::process::ExitCode;

/// The request path builds and drops many small JSON nodes; mimalloc serves those faster than the
/// system allocator and hands freed memory back to the system instead of keeping it fragmented.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> ExitCode {
    gcli2api::allocator::purge_during_startup();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = std::env::vars().collect();
    gcli2api::cli::run(args, env).await
}
