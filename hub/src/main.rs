//! stockpost-hub binary entry point.

use clap::Parser;

/// stockpost-hub
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Path to the TOML configuration file.
    #[arg(long, default_value = "config/hub.toml")]
    config: std::path::PathBuf,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    anyhow::bail!(
        "stockpost-hub: the runtime is not built yet (config {} was not read); see the open issues",
        cli.config.display()
    )
}
