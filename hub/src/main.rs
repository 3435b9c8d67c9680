//! stockpost-hub binary: runs the hub, or talks to a running one (subcommands).

use clap::{Parser, Subcommand};
use stockpost_hub::cli::{self, Client};
use stockpost_hub::config::HubConfig;
use stockpost_hub::node::HubNode;

/// stockpost-hub
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Path to the TOML configuration file.
    #[arg(long, default_value = "config/hub.toml", global = true)]
    config: std::path::PathBuf,
    /// The hub's base URL (subcommands that talk to a running hub).
    #[arg(
        long,
        env = "STOCKPOST_HUB_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// API bearer token (subcommands that talk to a running hub).
    #[arg(
        long,
        env = "STOCKPOST_TOKEN",
        default_value = "",
        global = true,
        hide_env_values = true
    )]
    token: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the hub (the default).
    Run,
    /// Show every node's sync status.
    Nodes,
    /// Query stock balances.
    Stock {
        /// Node.
        #[arg(long)]
        node: Option<String>,
        /// SKU.
        #[arg(long)]
        sku: Option<String>,
        /// Location.
        #[arg(long)]
        location: Option<String>,
        /// Status (available, quality_hold, …).
        #[arg(long)]
        status: Option<String>,
    },
    /// Import items from a CSV file (sku, description, gtin, pack, qty_per_pack, …).
    ImportItems {
        /// The CSV file.
        file: String,
    },
    /// Import locations from a CSV file (node, code, kind, pickable, capacity).
    ImportLocations {
        /// The CSV file.
        file: String,
    },
    /// Create inbound notices from a JSON file (one body or a list).
    Inbound {
        /// The receiving node.
        #[arg(long)]
        node: String,
        /// The JSON file.
        file: String,
    },
    /// Create orders from a JSON file (one body or a list).
    Orders {
        /// The JSON file.
        file: String,
    },
    /// Issue a new sync credential for a registered node and print it once (the hub never
    /// shows it again; the node's old credential stops working at once).
    NodeCredentials {
        /// The node.
        node: String,
        /// Write the credential to this file (created with mode 0600) instead of printing it:
        /// the file the node's `sync.credential_file` names.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

fn print(v: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn run_hub(path: &std::path::Path) -> anyhow::Result<()> {
    let config = HubConfig::load(path)?;
    let hub = HubNode::start(config).await?;
    println!("stockpost-hub listening on http://{}", hub.http_addr);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
    hub.stop().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _ = tracing_subscriber::fmt()
        // rumqttd logs an ERROR line for every refused login and every closed connection of the
        // embedded broker: a storm a stranger can cause. Its gate and login counters say the
        // same in /metrics; RUST_LOG brings the lines back.
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,rumqttd::server::broker=off".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let command = cli.command.unwrap_or(Command::Run);
    if matches!(command, Command::Run) {
        return run_hub(&cli.config).await;
    }
    if cli.token.is_empty() {
        anyhow::bail!("give an API token with --token or STOCKPOST_TOKEN");
    }
    let client = Client::new(&cli.url, &cli.token)?;
    match command {
        Command::Run => Ok(()),
        Command::Nodes => print(&client.send("GET", "/nodes", None).await?),
        Command::Stock {
            node,
            sku,
            location,
            status,
        } => {
            let mut q = Vec::new();
            for (k, v) in [
                ("node", node),
                ("sku", sku),
                ("location", location),
                ("status", status),
            ] {
                if let Some(v) = v {
                    q.push(format!("{k}={v}"));
                }
            }
            let balances = cli::all_stock(&client, &q.join("&"), 10_000).await?;
            print(&serde_json::json!({ "balances": balances }))
        }
        Command::ImportItems { file } => {
            let n = cli::import_items(&client, &file).await?;
            println!("{n} items imported");
            Ok(())
        }
        Command::ImportLocations { file } => {
            let n = cli::import_locations(&client, &file).await?;
            println!("{n} locations imported");
            Ok(())
        }
        Command::Inbound { node, file } => print(&serde_json::Value::Array(
            cli::create_inbound(&client, &node, &file).await?,
        )),
        Command::Orders { file } => print(&serde_json::Value::Array(
            cli::create_orders(&client, &file).await?,
        )),
        Command::NodeCredentials { node, out } => {
            let key = cli::issue_credential(&client, &node).await?;
            match out {
                Some(path) => {
                    cli::write_credential(&path, &key)?;
                    println!(
                        "a new sync credential for {node} is in {} (mode 0600); give it to the node as its sync.credential_file",
                        path.display()
                    );
                }
                None => println!("{}", key.to_hex()),
            }
            Ok(())
        }
    }
}
