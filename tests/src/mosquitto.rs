//! A real Mosquitto broker for tests: started on a free loopback port from a generated config,
//! so a test can stop, restart or kill it, and give it TLS and ACLs.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the mosquitto binary is.
pub fn mosquitto_binary() -> Option<PathBuf> {
    [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something accepts TCP connections on `addr`, up to `timeout`.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> std::io::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e),
            // Polling a condition with a deadline: the broker gives no other readiness signal.
            Err(_) => std::thread::park_timeout(Duration::from_millis(10)),
        }
    }
}

/// TLS files for a listener.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// CA certificate (PEM).
    pub ca: PathBuf,
    /// Server certificate (PEM).
    pub cert: PathBuf,
    /// Server key (PEM).
    pub key: PathBuf,
}

/// How to configure the broker.
#[derive(Debug, Clone, Default)]
pub struct BrokerOptions {
    /// TLS on the listener.
    pub tls: Option<TlsFiles>,
    /// `username:password` lines (plain text; converted with mosquitto_passwd -U when given).
    pub users: Vec<(String, String)>,
    /// ACL file content; when set, anonymous access is off.
    pub acl: Option<String>,
}

/// A running (or stopped) Mosquitto.
#[derive(Debug)]
pub struct Mosquitto {
    dir: PathBuf,
    port: u16,
    tls_port: Option<u16>,
    child: Option<Child>,
}

/// The workspace's shipped broker files (`config/mosquitto.conf`, `config/mosquitto.acl`).
pub fn shipped_config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config")
}

/// The shipped `config/mosquitto.conf` rewritten for a test in `dir`: only paths (the
/// `/etc/mosquitto/stockpost/` files) and the two listener ports change, and the lines Debian's
/// main `mosquitto.conf` gives the drop-in (persistence and a log file, in `dir`) and
/// `user root` (see below) are added. Every other line is the shipped one.
/// (tests/tests/docs_followed.rs runs it as a drop-in of a Debian-style main config.)
pub fn rewrite_shipped_conf(
    conf: &str,
    dir: &Path,
    plain_port: u16,
    tls_port: u16,
) -> std::io::Result<String> {
    let d = dir.display();
    let mut out = String::new();
    let mut listeners = 0;
    for line in conf.lines() {
        let line = line.replace("/etc/mosquitto/stockpost/", &format!("{d}/"));
        let rewritten = match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["listener", "8883", ..] => {
                listeners += 1;
                format!("listener {tls_port} 127.0.0.1")
            }
            ["listener", "1883", rest @ ..] => {
                listeners += 1;
                format!("listener {plain_port} {}", rest.join(" "))
            }
            _ => line,
        };
        out.push_str(&rewritten);
        out.push('\n');
    }
    // What Debian's main mosquitto.conf sets for its conf.d drop-ins.
    out.push_str(&format!(
        "persistence true\npersistence_location {d}/\nlog_dest file {d}/mosquitto.log\n"
    ));
    // Started as root (CI), Mosquitto would switch to the `mosquitto` user, which cannot read
    // the test's private temp dir. As any other user this line does nothing.
    out.push_str("user root\n");
    if listeners != 2 {
        return Err(std::io::Error::other(
            "config/mosquitto.conf no longer has the listeners 8883 (TLS) and 1883 (loopback)",
        ));
    }
    Ok(out)
}

impl Mosquitto {
    /// Starts a plain broker with persistence in `dir`.
    pub fn start(dir: &Path) -> std::io::Result<Self> {
        Self::start_with(dir, &BrokerOptions::default())
    }

    /// Starts a broker with `options` in `dir`.
    pub fn start_with(dir: &Path, options: &BrokerOptions) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let port = free_port()?;
        let mut conf = String::new();
        conf.push_str(&format!("listener {port} 127.0.0.1\n"));
        conf.push_str("persistence true\n");
        conf.push_str(&format!("persistence_location {}/\n", dir.display()));
        conf.push_str("autosave_interval 1\n");
        conf.push_str(&format!("log_dest file {}/mosquitto.log\n", dir.display()));
        conf.push_str("log_type error\nlog_type warning\nlog_type notice\n");
        // Persistent sessions of offline nodes keep their QoS 1 messages; the default of 1000
        // would silently drop a long backlog of acks or downlink.
        conf.push_str("max_queued_messages 100000\n");
        conf.push_str("max_inflight_messages 100\n");
        conf.push_str("max_packet_size 2097152\n");
        if let Some(tls) = &options.tls {
            conf.push_str(&format!(
                "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate false\n",
                tls.ca.display(),
                tls.cert.display(),
                tls.key.display()
            ));
        }
        if options.users.is_empty() && options.acl.is_none() {
            conf.push_str("allow_anonymous true\n");
        } else {
            conf.push_str("allow_anonymous false\n");
            let passwd = dir.join("passwd");
            let mut f = std::fs::File::create(&passwd)?;
            for (user, password) in &options.users {
                writeln!(f, "{user}:{password}")?;
            }
            drop(f);
            let status = Command::new("mosquitto_passwd")
                .arg("-U")
                .arg(&passwd)
                .status()?;
            if !status.success() {
                return Err(std::io::Error::other("mosquitto_passwd -U failed"));
            }
            conf.push_str(&format!("password_file {}\n", passwd.display()));
            if let Some(acl) = &options.acl {
                let acl_path = dir.join("acl");
                std::fs::write(&acl_path, acl)?;
                conf.push_str(&format!("acl_file {}\n", acl_path.display()));
            }
        }
        std::fs::write(dir.join("mosquitto.conf"), conf)?;
        let mut broker = Self {
            dir: dir.to_path_buf(),
            port,
            tls_port: None,
            child: None,
        };
        broker.run()?;
        Ok(broker)
    }

    /// Starts Mosquitto from the shipped `config/mosquitto.conf` and `config/mosquitto.acl`
    /// (rewritten only in paths and ports, see [`rewrite_shipped_conf`]) with the TLS files
    /// `tls` (copied to where the conf expects them) and the `users` as its password file.
    /// [`Mosquitto::addr`] is the plain loopback listener, [`Mosquitto::tls_addr`] the TLS one.
    pub fn start_shipped(
        dir: &Path,
        tls: &TlsFiles,
        users: &[(String, String)],
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let shipped = shipped_config_dir();
        let conf = std::fs::read_to_string(shipped.join("mosquitto.conf"))?;
        std::fs::copy(shipped.join("mosquitto.acl"), dir.join("acl"))?;
        for (from, to) in [
            (&tls.ca, "ca.pem"),
            (&tls.cert, "server.pem"),
            (&tls.key, "server.key"),
        ] {
            if from.as_path() != dir.join(to) {
                std::fs::copy(from, dir.join(to))?;
            }
        }
        let passwd = dir.join("passwd");
        let mut f = std::fs::File::create(&passwd)?;
        for (user, password) in users {
            writeln!(f, "{user}:{password}")?;
        }
        drop(f);
        let status = Command::new("mosquitto_passwd")
            .arg("-U")
            .arg(&passwd)
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other("mosquitto_passwd -U failed"));
        }
        let port = free_port()?;
        let tls_port = free_port()?;
        std::fs::write(
            dir.join("mosquitto.conf"),
            rewrite_shipped_conf(&conf, dir, port, tls_port)?,
        )?;
        let mut broker = Self {
            dir: dir.to_path_buf(),
            port,
            tls_port: Some(tls_port),
            child: None,
        };
        broker.run()?;
        Ok(broker)
    }

    /// The TLS listener's address (brokers from [`Mosquitto::start_shipped`]).
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_port
            .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
    }

    fn run(&mut self) -> std::io::Result<()> {
        let binary = mosquitto_binary().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "mosquitto is not installed (scripts/test.sh installs it)",
            )
        })?;
        let child = Command::new(binary)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        wait_for_port(self.addr(), Duration::from_secs(10))?;
        if let Some(tls) = self.tls_addr() {
            wait_for_port(tls, Duration::from_secs(10))?;
        }
        Ok(())
    }

    /// The broker's address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The broker's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the broker gracefully (SIGTERM; it saves its persistence file).
    pub fn stop(&mut self) -> std::io::Result<()> {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            child.wait()?;
        }
        Ok(())
    }

    /// Kills the broker (SIGKILL).
    pub fn kill(&mut self) -> std::io::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts it again on the same port with the same persistence.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop()?;
        self.run()
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
