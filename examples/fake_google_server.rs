//! Standalone fake Google for benchmarks and tests run from outside: every generate / stream call
//! gets the same answer unless scripted. `--help` lists the options (examples/support/fake_cli.rs).
//! Prints `listening on http://<addr>` once bound; stops on Ctrl-C or SIGTERM.
//! `examples/dev_stack.rs` starts this fake and a gateway in front of it in one go.

#[path = "support/fake_cli.rs"]
mod fake_cli;
#[path = "../tests/support/fake_google.rs"]
mod fake_google;

use std::net::{IpAddr, SocketAddr};

use clap::Parser;

/// The in-repo fake of the Google endpoints gcli2api calls.
#[derive(Debug, Parser)]
#[command(name = "fake_google_server", version, about)]
struct ServerArgs {
    /// Bind address.
    #[arg(long, env = "FAKE_GOOGLE_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port; 0 = any free one.
    #[arg(long, env = "FAKE_GOOGLE_PORT", default_value_t = 8765)]
    port: u16,
    #[command(flatten)]
    fake: fake_cli::FakeArgs,
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = ServerArgs::parse();
    let fake = args
        .fake
        .start(SocketAddr::new(args.host, args.port))
        .await?;
    println!("listening on {}", fake.url());
    fake_cli::shutdown_signal().await;
    fake.stop().await;
    Ok(())
}
