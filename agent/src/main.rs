//! stockpost-agent binary entry point.

use clap::Parser;

/// stockpost-agent
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Path to the TOML configuration file.
    #[arg(long, default_value = "config/agent.toml")]
    config: std::path::PathBuf,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    anyhow::bail!(
        "stockpost-agent: the runtime is not built yet (config {} was not read); see the open issues",
        cli.config.display()
    )
}
