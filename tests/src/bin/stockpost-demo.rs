//! `stockpost-demo`: a hub, a broker and three agent nodes in one process run a whole shift
//! (see `stockpost_tests::demo`). Keeps the dashboard up until Ctrl-C; with `--exit` it ends
//! when the shift is done, with status 0 only if the hub's final state is as expected.
//!
//! Usage: `stockpost-demo [--exit] [--port N]` (`--port 0`: any free port; default 8080 when
//! free). `stockpost-demo --shift [--nodes N] [--orders M] [--report PATH] [--exit] [--port N]`
//! runs the shift at scale instead (`stockpost_tests::demo::shift`).

use anyhow::{bail, Context};
use stockpost_tests::demo::report::{labels, summary, Progress};
use stockpost_tests::demo::setup::{http_port, World, BROKER};
use stockpost_tests::demo::shift::Options;
use stockpost_tests::demo::{check, script, shift};

const USAGE: &str = "usage: stockpost-demo [--exit] [--port N]
       stockpost-demo --shift [--nodes N] [--orders M] [--report PATH] [--exit] [--port N]
  --exit         end when the shift is done; exit 0 only if the hub's final state is as expected
  --port N       the hub's HTTP port (0: any free port; default 8080 when free)
  --shift        a shift at scale: N nodes, M orders across channels, one node offline for a
                 stretch, a hub restart; a report with charts; --exit checks the books exactly
  --nodes N      nodes of the shift (2 to 20, default 5)
  --orders M     orders of the shift (default 300)
  --report PATH  where to write the shift's HTML report (default: in the demo's directory)";

struct Args {
    exit: bool,
    port: Option<u16>,
    shift: Option<Options>,
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let v = value.with_context(|| format!("{flag} needs a number"))?;
    v.parse().with_context(|| format!("{flag} {v}"))
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        exit: false,
        port: None,
        shift: None,
    };
    let mut shift = Options::default();
    let (mut want_shift, mut shift_only) = (false, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--exit" => args.exit = true,
            "--port" => args.port = Some(number("--port", it.next())?),
            "--shift" => want_shift = true,
            "--nodes" => {
                shift.nodes = number("--nodes", it.next())?;
                shift_only = Some("--nodes");
            }
            "--orders" => {
                shift.orders = number("--orders", it.next())?;
                shift_only = Some("--orders");
            }
            "--report" => {
                shift.report = Some(it.next().context("--report needs a path")?.into());
                shift_only = Some("--report");
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if let (false, Some(flag)) = (want_shift, shift_only) {
        bail!("{flag} goes with --shift (try --help)");
    }
    if want_shift {
        shift.exit = args.exit;
        shift.port = args.port;
        args.shift = Some(shift);
    }
    Ok(args)
}

fn main() -> std::process::ExitCode {
    let _ = tracing_subscriber::fmt()
        // rumqttd logs every client disconnect, clean ones included, as ERRORs ("router-drop",
        // "no-connection … is already gone"): not faults, and confusing in a demo
        // (docs/operations.md). The hub reports a broker that cannot start itself.
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "error,rumqttd=off".into()))
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stockpost-demo: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(run()) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("stockpost-demo: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Runs the demo; `Ok(false)` when `--exit` found the final state wrong.
async fn run() -> anyhow::Result<bool> {
    let args = parse_args()?;
    if let Some(options) = &args.shift {
        return shift::run(options).await;
    }
    let tmp = tempfile::Builder::new()
        .prefix("stockpost-demo-")
        .tempdir()
        .context("creating the demo directory")?;
    let port = http_port(args.port)?;
    println!("stockpost-demo: stores under {}", tmp.path().display());
    println!("stockpost-demo: broker {BROKER:?}");
    let world = World::start(tmp.path(), port).await?;
    println!("Dashboard:   http://{}/", world.hub.http_addr);
    println!("Admin token: {}", world.token);
    println!();

    let mut progress = Progress::new(script::STEPS);
    let shift = script::run(&world, &mut progress).await;
    let shift_ok = match &shift {
        Ok(()) => true,
        Err(e) => {
            eprintln!("the shift stopped at step {}: {e:#}", progress.done());
            false
        }
    };
    if let Err(e) = summary(&world.api, &world.token).await {
        eprintln!("no summary: {e:#}");
    }
    labels(&world);

    if args.exit {
        let mismatches = check::final_state(&world).await?;
        world.stop().await;
        println!();
        if mismatches.is_empty() && shift_ok {
            println!("Final state as expected.");
            return Ok(true);
        }
        for m in &mismatches {
            println!("MISMATCH: {m}");
        }
        return Ok(false);
    }

    let dir = tmp.keep();
    println!();
    println!(
        "Dashboard:   http://{}/  (admin token {})",
        world.hub.http_addr, world.token
    );
    println!("Stores kept under {}. Press Ctrl-C to stop.", dir.display());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    world.stop().await;
    Ok(shift_ok)
}
