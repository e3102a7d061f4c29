use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = std::env::vars().collect();
    gcli2api::cli::run(args, env).await
}
