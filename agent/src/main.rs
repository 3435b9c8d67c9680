//! stockpost-agent: runs a warehouse node, or decodes device input for integrators.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use stockpost_agent::config::AgentConfig;
use stockpost_agent::node::AgentNode;

/// Stockpost agent: keeps warehouse work going at the edge.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Path to agent.toml.
    #[arg(long, default_value = "config/agent.toml", global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent (the default).
    Run,
    /// Print, as JSON, what the agent understands from one scanner payload.
    DecodeScan {
        /// The payload as the scanner sent it (without its terminator); `\x1d` may stand for GS.
        data: String,
    },
    /// Read raw scale bytes on stdin and print one JSON reading per frame.
    DecodeWeight {
        /// mt-sics, toledo, nci, cas-ecr, cas-22 or generic.
        #[arg(long)]
        protocol: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::DecodeScan { data } => {
            let bytes = data
                .replace("\\x1d", "\u{1d}")
                .replace("<GS>", "\u{1d}")
                .into_bytes();
            match stockpost_agent::diagnostics::decode_scan(&bytes) {
                Ok(v) => {
                    println!("{v}");
                    Ok(())
                }
                Err(e) => {
                    println!("{}", e.to_json());
                    eprintln!("stockpost-agent decode-scan: {}", e.message);
                    std::process::exit(2)
                }
            }
        }
        Command::DecodeWeight { protocol } => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading stdin")?;
            let frames = match stockpost_agent::diagnostics::decode_weight(&protocol, &bytes) {
                Ok(frames) => frames,
                Err(e) => {
                    println!("{}", e.to_json());
                    eprintln!("stockpost-agent decode-weight: {}", e.message);
                    std::process::exit(2)
                }
            };
            for f in frames {
                println!("{f}");
            }
            Ok(())
        }
        Command::Run => run(&cli.config),
    }
}

fn run(path: &std::path::Path) -> anyhow::Result<()> {
    let config = AgentConfig::load(path)?;
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let listen = config.http.listen.clone();
        let node = Arc::new(AgentNode::start(config).await?);
        let _devices = stockpost_agent::stations::devices::Devices::start(
            &node.config,
            &node.stations,
            Some(Arc::clone(node.store.raw())),
        )?;
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("http.listen {listen}"))?;
        tracing::info!(%listen, "agent HTTP listening");
        stockpost_agent::http::serve(Arc::clone(&node), listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("http server")?;
        Ok(())
    })
}
