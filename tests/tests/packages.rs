//! The Debian packages (issue #19): `scripts/build-debs.sh` builds `stockpost-hub` and
//! `stockpost-agent` from the binaries this test run uses; each is extracted into a throw-away
//! root and its layout checked (binary, hardened unit pointing at it, conffile, docs, maintainer
//! scripts, the Mosquitto files of the hub), the packaged binary runs, the packaged configuration
//! is valid, and lintian finds nothing it is not told why (`--fail-on warning`). The maintainer
//! scripts are checked for syntax, not run: running them needs a whole system in the root.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds (if needed) both binaries; returns the directory they are in.
fn binaries() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for pkg in ["stockpost-hub", "stockpost-agent"] {
        let status = Command::new(&cargo)
            .args(["build", "-p", pkg, "--bin", pkg])
            .current_dir(workspace())
            .status()
            .unwrap();
        assert!(status.success(), "cargo build of {pkg} failed");
    }
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn check_package(deb: &Path, name: &str, root: &Path) {
    let pkg = format!("stockpost-{name}");
    let fields = run(Command::new("dpkg-deb").args(["-f"]).arg(deb).args([
        "Package",
        "Architecture",
        "Depends",
    ]));
    assert!(fields.contains(&format!("Package: {pkg}")), "{fields}");
    assert!(fields.contains("adduser"), "{fields}");
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(root));
    let ctrl = root.join("DEBIAN");
    run(Command::new("dpkg-deb").arg("-e").arg(deb).arg(&ctrl));

    let bin = root.join(format!("usr/bin/{pkg}"));
    let help = run(Command::new(&bin).arg("--help"));
    assert!(!help.is_empty(), "the packaged {pkg} runs");
    let unit =
        std::fs::read_to_string(root.join(format!("lib/systemd/system/{pkg}.service"))).unwrap();
    assert!(
        unit.contains(&format!("ExecStart=/usr/bin/{pkg} ")),
        "{unit}"
    );
    assert!(
        unit.contains("User=stockpost") && unit.contains("ProtectSystem=strict"),
        "{unit}"
    );
    assert!(unit.contains(&format!("StateDirectory={pkg}")), "{unit}");
    let conffiles = std::fs::read_to_string(ctrl.join("conffiles")).unwrap();
    assert_eq!(conffiles.trim(), format!("/etc/stockpost/{name}.toml"));
    let config_path = root.join(format!("etc/stockpost/{name}.toml"));
    let config = std::fs::read_to_string(&config_path).unwrap();
    if name == "hub" {
        stockpost_hub::config::HubConfig::from_toml(&config, &config_path, &[]).unwrap();
    } else {
        stockpost_agent::config::AgentConfig::from_toml(&config, &config_path, &[]).unwrap();
    }
    for script in ["postinst", "prerm", "postrm"] {
        let path = ctrl.join(script);
        run(Command::new("sh").arg("-n").arg(&path));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("rm -rf /var/lib"),
            "{script} never deletes the inventory"
        );
    }
    let postinst = std::fs::read_to_string(ctrl.join("postinst")).unwrap();
    assert!(postinst.contains("adduser --quiet --system"), "{postinst}");
    let doc = root.join(format!("usr/share/doc/{pkg}"));
    for f in [
        "copyright",
        "changelog.gz",
        "operations.md.gz",
        "configuration.md.gz",
    ] {
        assert!(doc.join(f).exists(), "{pkg} ships {f}");
    }
    if name == "hub" {
        let mosquitto = root.join("usr/share/stockpost-hub/mosquitto");
        for f in [
            "stockpost.conf",
            "stockpost.acl",
            "mosquitto.service.d-stockpost.conf",
        ] {
            assert!(mosquitto.join(f).exists(), "the hub package ships {f}");
        }
    }
}

#[test]
fn both_packages_build_install_into_a_throwaway_root_with_the_documented_layout_and_pass_lintian() {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        stockpost_tests::real::skip_because("dpkg-deb is not installed");
        return;
    }
    let bins = binaries();
    let out = tempfile::tempdir().unwrap();
    let built = run(Command::new(workspace().join("scripts/build-debs.sh"))
        .args(["--profile", "debug", "--bin-dir"])
        .arg(&bins)
        .arg("--out")
        .arg(out.path())
        .current_dir(workspace()));
    let debs: Vec<PathBuf> = built.lines().map(PathBuf::from).collect();
    assert_eq!(debs.len(), 2, "{built}");
    for (deb, name) in debs.iter().zip(["hub", "agent"]) {
        let root = tempfile::tempdir().unwrap();
        check_package(deb, name, root.path());
    }
    if Command::new("lintian").arg("--version").output().is_err() {
        stockpost_tests::real::skip_because("lintian is not installed (apt-get install lintian)");
        return;
    }
    let out = Command::new("lintian")
        .args(["--tag-display-limit", "0", "--fail-on", "warning"])
        .args(&debs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "lintian: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
