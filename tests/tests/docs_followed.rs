//! The docs, followed and checked against the code.
//!
//! - The broker recipe of docs/operations.md (the `sh` blocks after the `<!-- recipe:broker ... -->`
//!   and `<!-- recipe:node-credentials ... -->` markers) is run, command by command, on a
//!   Debian-style layout in a temporary root: Debian's main `mosquitto.conf` with `include_dir`,
//!   the drop-in and files the recipe installs (paths moved into the root, the listeners to free
//!   loopback ports), the password file made by the real `mosquitto_passwd`, and the real
//!   `/usr/sbin/mosquitto -c <root>/etc/mosquitto/mosquitto.conf`. The broker must start, take the
//!   hub's and a node's credentials and refuse an anonymous client.
//! - Every key agent.toml and hub.toml accept is in docs/configuration.md, with its full path in
//!   backticks in the table of its file (`mqtt.keep_alive_secs`, `stations[].kinds`,
//!   `auth.tokens[].role`); every key those tables name is accepted; and every backticked
//!   `section.key` in docs/*.md that starts with a config section names a key that exists.
//!   The accepted keys are read from the code: every config struct denies unknown fields, so a
//!   probe key `__probe` is answered with the list of the names it accepts.

#![allow(clippy::unwrap_used)]

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event as MqttEvent, EventLoop, MqttOptions,
    Packet, Transport,
};
use std::collections::BTreeSet;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use stockpost_tests::mosquitto::{free_port, mosquitto_binary};
use stockpost_tests::real::skip_because;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn doc(name: &str) -> String {
    std::fs::read_to_string(workspace().join("docs").join(name)).unwrap()
}

/// The commands of the first ```sh block after the line starting with `marker`, one per line,
/// comments removed.
fn recipe_block(doc: &str, marker: &str) -> Vec<String> {
    let start = doc
        .lines()
        .position(|l| l.trim_start().starts_with(marker))
        .unwrap_or_else(|| panic!("docs/operations.md has no {marker:?} marker"));
    let mut lines = doc
        .lines()
        .skip(start + 1)
        .skip_while(|l| l.trim().is_empty());
    assert_eq!(
        lines.next().map(str::trim),
        Some("```sh"),
        "{marker:?} is not followed by a ```sh block"
    );
    lines
        .take_while(|l| l.trim() != "```")
        .map(|l| match l.find('#') {
            Some(i) => &l[..i],
            None => l,
        })
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Debian's default /etc/mosquitto/mosquitto.conf (package mosquitto 2.0.11 in Debian 12), with
/// its paths moved into `root`.
fn debian_main_conf(root: &Path) -> String {
    let r = root.display();
    format!(
        "# Place your local configuration in /etc/mosquitto/conf.d/\n\
         #\n\
         # A full description of the configuration file is at\n\
         # /usr/share/doc/mosquitto/examples/mosquitto.conf.example\n\
         \n\
         pid_file {r}/run/mosquitto/mosquitto.pid\n\
         \n\
         persistence true\n\
         persistence_location {r}/var/lib/mosquitto/\n\
         \n\
         log_dest file {r}/var/log/mosquitto/mosquitto.log\n\
         \n\
         # Not in Debian's file: started as root (CI), Mosquitto would switch to the `mosquitto`\n\
         # user, which cannot read the test's private temp dir. As any other user it does nothing.\n\
         user root\n\
         \n\
         include_dir {r}/etc/mosquitto/conf.d\n"
    )
}

/// A machine the recipe runs on: a root for the absolute paths, a checkout for the relative
/// ones, and the broker once the recipe starts it.
struct Machine {
    root: PathBuf,
    checkout: PathBuf,
    plain_port: u16,
    tls_port: u16,
    passwords: Vec<(String, String)>,
    broker: Option<Child>,
}

impl Machine {
    fn path(&self, arg: &str) -> PathBuf {
        match arg.strip_prefix('/') {
            Some(rest) => self.root.join(rest),
            None => self.checkout.join(arg),
        }
    }

    fn main_conf(&self) -> PathBuf {
        self.root.join("etc/mosquitto/mosquitto.conf")
    }

    fn password_of(&self, user: &str) -> &str {
        self.passwords
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.as_str())
            .unwrap_or_else(|| panic!("the test has no password for user {user:?}"))
    }

    /// A config file installed into conf.d: its absolute paths moved into the root and its
    /// listeners to the test's ports (8883 TLS, 1883 loopback). Nothing else changes.
    fn rewrite_conf(&self, text: &str) -> String {
        let r = self.root.display();
        let mut out = String::new();
        for line in text.lines() {
            let line = line.replace(" /etc/", &format!(" {r}/etc/"));
            let line = match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["listener", "8883", ..] => format!("listener {} 127.0.0.1", self.tls_port),
                ["listener", "1883", ..] => format!("listener {} 127.0.0.1", self.plain_port),
                ["listener", ..] => {
                    panic!("the drop-in has a listener the test does not know: {line}")
                }
                _ => line,
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    fn run(&mut self, command: &str) {
        let words: Vec<&str> = command.split_whitespace().collect();
        assert!(
            !command.contains(['"', '\'', '$', '|', '&', ';', '>']),
            "the recipe line {command:?} is more shell than this test follows"
        );
        match words.as_slice() {
            ["apt-get", "install", "mosquitto"] => self.install_package(),
            ["install", args @ ..] => self.install(args),
            ["mosquitto_passwd", args @ ..] => self.mosquitto_passwd(args),
            // The test cannot give files to the `mosquitto` group (it may not exist here); the
            // broker runs as the test's user (see `user root` above).
            ["chgrp", "mosquitto", file] => assert!(self.path(file).exists(), "{command}"),
            ["chmod", mode, file] => set_mode(&self.path(file), mode),
            ["systemctl", "daemon-reload"] => {}
            ["systemctl", "restart", "mosquitto"] => self.restart_broker(),
            ["systemctl", "reload", "mosquitto"] => self.reload_broker(),
            _ => panic!("the recipe has a command this test does not follow: {command:?}"),
        }
    }

    /// What `apt-get install mosquitto` leaves on Debian: the main config with `include_dir`,
    /// an empty conf.d and the state, log and run directories.
    fn install_package(&self) {
        for dir in [
            "etc/mosquitto/conf.d",
            "var/lib/mosquitto",
            "var/log/mosquitto",
            "run/mosquitto",
        ] {
            std::fs::create_dir_all(self.root.join(dir)).unwrap();
        }
        std::fs::write(self.main_conf(), debian_main_conf(&self.root)).unwrap();
    }

    /// `install [-d] [-m MODE] [-o USER] [-g GROUP] SRC... DST` (owner and group are not set).
    fn install(&self, args: &[&str]) {
        let mut dirs = false;
        let mut mode = None;
        let mut operands = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "-d" => dirs = true,
                "-m" => mode = args.next().copied(),
                "-o" | "-g" => {
                    args.next();
                }
                flag if flag.starts_with('-') => panic!("install {flag} is not followed"),
                operand => operands.push(operand),
            }
        }
        if dirs {
            for dir in operands {
                std::fs::create_dir_all(self.path(dir)).unwrap();
                if let Some(mode) = mode {
                    set_mode(&self.path(dir), mode);
                }
            }
            return;
        }
        let [src, dst] = operands.as_slice() else {
            panic!("install with {operands:?}: one source and one destination expected");
        };
        let src = self.path(src);
        let mut dst = self.path(dst);
        if dst.is_dir() {
            dst = dst.join(src.file_name().unwrap());
        }
        assert!(
            dst.parent().is_some_and(Path::is_dir),
            "install {}: its directory does not exist (install creates no parents)",
            dst.display()
        );
        let text = std::fs::read(&src)
            .unwrap_or_else(|e| panic!("the recipe installs {}: {e}", src.display()));
        let conf_d = self.root.join("etc/mosquitto/conf.d");
        let text = if dst.parent() == Some(conf_d.as_path()) {
            self.rewrite_conf(std::str::from_utf8(&text).unwrap())
                .into_bytes()
        } else {
            text
        };
        std::fs::write(&dst, text).unwrap();
        if let Some(mode) = mode {
            set_mode(&dst, mode);
        }
    }

    /// The real mosquitto_passwd, the password typed twice on its stdin.
    fn mosquitto_passwd(&self, args: &[&str]) {
        let (create, file, user) = match args {
            ["-c", file, user] => (true, file, user),
            [file, user] => (false, file, user),
            _ => panic!("mosquitto_passwd {args:?} is not followed"),
        };
        let password = self.password_of(user);
        let mut cmd = Command::new("mosquitto_passwd");
        if create {
            cmd.arg("-c");
        }
        let mut child = cmd
            .arg(self.path(file))
            .arg(user)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        write!(child.stdin.take().unwrap(), "{password}\n{password}\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "mosquitto_passwd {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn restart_broker(&mut self) {
        self.stop_broker();
        let stderr = std::fs::File::create(self.root.join("mosquitto.stderr")).unwrap();
        let child = Command::new(mosquitto_binary().unwrap())
            .arg("-c")
            .arg(self.main_conf())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        self.broker = Some(child);
        for port in [self.plain_port, self.tls_port] {
            self.wait_until_listening(SocketAddr::from(([127, 0, 0, 1], port)));
        }
    }

    /// What `systemctl reload mosquitto` does on Debian (ExecReload: kill -HUP).
    fn reload_broker(&mut self) {
        let pid = self.broker.as_ref().expect("reload before start").id();
        let status = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Polls until `addr` accepts TCP, failing at once (with the broker's output) if the broker
    /// exited: the broker gives no other readiness signal.
    fn wait_until_listening(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.broker.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "mosquitto exited ({status}) after the recipe's restart:\n{}",
                    self.broker_output()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "mosquitto does not listen on {addr}:\n{}",
                self.broker_output()
            );
            std::thread::park_timeout(Duration::from_millis(10));
        }
    }

    fn broker_output(&self) -> String {
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        format!(
            "stderr:\n{}\nlog:\n{}",
            read(self.root.join("mosquitto.stderr")),
            read(self.root.join("var/log/mosquitto/mosquitto.log"))
        )
    }

    fn stop_broker(&mut self) {
        if let Some(mut child) = self.broker.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.stop_broker();
    }
}

fn set_mode(path: &Path, mode: &str) {
    use std::os::unix::fs::PermissionsExt;
    let mode = u32::from_str_radix(mode, 8).unwrap_or_else(|_| panic!("mode {mode:?}"));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A raw MQTT client; TLS trusting `ca` when given.
fn client(
    port: u16,
    id: &str,
    credentials: Option<(&str, &str)>,
    ca: Option<&Path>,
) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    if let Some((user, password)) = credentials {
        options.set_credentials(user, password);
    }
    if let Some(ca) = ca {
        options.set_transport(Transport::tls(std::fs::read(ca).unwrap(), None, None));
    }
    AsyncClient::new(options, 16)
}

/// Polls the event loop until the CONNECT is answered: Ok on a ConnAck, the error otherwise.
async fn connect(
    port: u16,
    id: &str,
    credentials: Option<(&str, &str)>,
    ca: Option<&Path>,
) -> Result<(), ConnectionError> {
    let (_client, mut eventloop) = client(port, id, credentials, ca);
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match eventloop.poll().await {
                Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => continue,
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .expect("no answer to CONNECT within 10 s")
}

fn refused(result: &Result<(), ConnectionError>) -> bool {
    matches!(
        result,
        Err(ConnectionError::ConnectionRefused(
            ConnectReturnCode::NotAuthorized | ConnectReturnCode::BadUserNamePassword
        ))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_recipe_followed_on_a_debian_layout_starts_mosquitto_that_takes_node_credentials_and_refuses_anonymous_clients(
) {
    if mosquitto_binary().is_none() {
        skip_because("mosquitto is not installed (scripts/test.sh installs it)");
        return;
    }
    let operations = doc("operations.md");
    let broker = recipe_block(&operations, "<!-- recipe:broker");
    let node_credentials = recipe_block(&operations, "<!-- recipe:node-credentials");

    let dir = tempfile::tempdir().unwrap();
    let checkout = dir.path().join("checkout");
    for file in [
        "config/mosquitto.conf",
        "config/mosquitto.acl",
        "systemd/mosquitto-stockpost.conf",
    ] {
        let to = checkout.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(workspace().join(file), to).unwrap();
    }
    // The operator's TLS files, where the recipe expects them (the current directory).
    let tls = stockpost_tests::certs::generate(&checkout).unwrap();
    let mut machine = Machine {
        root: dir.path().join("root"),
        checkout,
        plain_port: free_port().unwrap(),
        tls_port: free_port().unwrap(),
        passwords: vec![
            ("stockpost-hub".into(), "hub-secret-0123".into()),
            ("DC-EAST".into(), "dc-east-secret-0123".into()),
        ],
        broker: None,
    };

    for command in &broker {
        machine.run(command);
    }
    assert!(
        machine.broker.is_some(),
        "the broker recipe never starts mosquitto: {broker:?}"
    );
    let hub = connect(
        machine.plain_port,
        "stockpost-hub",
        Some(("stockpost-hub", machine.password_of("stockpost-hub"))),
        None,
    )
    .await;
    assert!(
        hub.is_ok(),
        "the hub's user on the loopback listener: {hub:?}\n{}",
        machine.broker_output()
    );

    for command in &node_credentials {
        machine.run(command);
    }
    // The reload is asynchronous: poll until the node's new password is taken, up to 10 s.
    let node_password = machine.password_of("DC-EAST").to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let node = loop {
        let r = connect(
            machine.tls_port,
            "stockpost-agent-DC-EAST",
            Some(("DC-EAST", &node_password)),
            Some(&tls.ca),
        )
        .await;
        if r.is_ok() || !refused(&r) || tokio::time::Instant::now() >= deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        node.is_ok(),
        "a node with the credentials the recipe created, over TLS: {node:?}\n{}",
        machine.broker_output()
    );

    let anonymous_tls = connect(machine.tls_port, "anonymous", None, Some(&tls.ca)).await;
    assert!(
        refused(&anonymous_tls),
        "an anonymous client on the TLS listener: {anonymous_tls:?}"
    );
    let anonymous_plain = connect(machine.plain_port, "anonymous-plain", None, None).await;
    assert!(
        refused(&anonymous_plain),
        "an anonymous client on the loopback listener: {anonymous_plain:?}"
    );
    let wrong = connect(
        machine.tls_port,
        "wrong",
        Some(("DC-EAST", "not-the-password")),
        Some(&tls.ca),
    )
    .await;
    assert!(refused(&wrong), "a wrong password: {wrong:?}");
}

#[test]
fn the_broker_drop_in_repeats_nothing_that_debians_main_mosquitto_conf_sets() {
    let conf = std::fs::read_to_string(workspace().join("config/mosquitto.conf")).unwrap();
    for line in conf.lines().map(str::trim) {
        let option = line.split_whitespace().next().unwrap_or("");
        assert!(
            !matches!(
                option,
                "pid_file" | "persistence" | "persistence_location" | "log_dest" | "include_dir"
            ),
            "config/mosquitto.conf sets {line:?}, which Debian's main mosquitto.conf already sets"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Config keys.

const PROBE: &str = "__probe";

/// The field names a struct at `path` accepts, or None if the value there is not a struct (a
/// leaf, an enum, a free-form table). `deserialize` turns a probe document into the error text.
fn accepted_at(
    path: &[String],
    deserialize: &dyn Fn(toml::Value) -> String,
) -> Option<Vec<String>> {
    let mut probe = toml::Value::Table(toml::Table::from_iter([(
        PROBE.to_string(),
        toml::Value::Integer(1),
    )]));
    for segment in path.iter().rev() {
        probe = if segment == "[]" {
            toml::Value::Array(vec![probe])
        } else {
            toml::Value::Table(toml::Table::from_iter([(segment.clone(), probe)]))
        };
    }
    let error = deserialize(probe);
    let rest = error
        .split(&format!("unknown field `{PROBE}`, expected"))
        .nth(1)?;
    let rest = rest.lines().next().unwrap_or("");
    Some(
        rest.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

/// Every key path a config type accepts: `a`, `a.b`, and for an array of tables `a` itself and
/// `a[].b`. Tables (`[mqtt]`) are not keys themselves, their keys are.
fn accepted_keys(deserialize: &dyn Fn(toml::Value) -> String) -> BTreeSet<String> {
    fn walk(
        path: Vec<String>,
        deserialize: &dyn Fn(toml::Value) -> String,
        out: &mut BTreeSet<String>,
    ) {
        let Some(fields) = accepted_at(&path, deserialize) else {
            return;
        };
        for field in fields {
            let mut child = path.clone();
            child.push(field);
            if accepted_at(&child, deserialize).is_some() {
                walk(child, deserialize, out);
                continue;
            }
            out.insert(render(&child));
            let mut element = child;
            element.push("[]".into());
            if accepted_at(&element, deserialize).is_some() {
                walk(element, deserialize, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(Vec::new(), deserialize, &mut out);
    out
}

fn render(path: &[String]) -> String {
    let mut s = String::new();
    for segment in path {
        if segment == "[]" {
            s.push_str("[]");
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(segment);
        }
    }
    s
}

fn agent_keys() -> BTreeSet<String> {
    accepted_keys(&|v| {
        v.try_into::<stockpost_agent::config::AgentConfig>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    })
}

fn hub_keys() -> BTreeSet<String> {
    accepted_keys(&|v| {
        v.try_into::<stockpost_hub::config::HubConfig>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    })
}

/// The text of docs/configuration.md from the heading `## {file}` to the next `## ` heading.
fn configuration_section(file: &str) -> String {
    let text = doc("configuration.md");
    let heading = format!("## {file}");
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("docs/configuration.md has no {heading:?} section"));
    let body = &text[start + heading.len() + 2..];
    body[..body.find("\n## ").unwrap_or(body.len())].to_string()
}

/// Every `backticked` token of `text`; an array of tables written `[[auth.tokens]]` is
/// `auth.tokens`.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(
            |t| match t.strip_prefix("[[").and_then(|t| t.strip_suffix("]]")) {
                Some(inner) => inner.to_string(),
                None => t.to_string(),
            },
        )
        .collect()
}

/// The backticked tokens in the first column of the tables of `section`.
fn first_column_keys(section: &str) -> Vec<String> {
    section
        .lines()
        .filter(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(backticked)
        .collect()
}

fn missing_from_docs(keys: &BTreeSet<String>, section: &str) -> Vec<String> {
    let documented: BTreeSet<String> = backticked(section).into_iter().collect();
    keys.iter()
        .filter(|k| !documented.contains(*k))
        .cloned()
        .collect()
}

#[test]
fn the_probe_reads_the_accepted_keys_from_the_config_types() {
    let agent = agent_keys();
    for key in [
        "node_id",
        "mqtt.keep_alive_secs",
        "hub.bootstrap",
        "stations",
        "stations[].kinds",
        "stations[].scanner",
    ] {
        assert!(agent.contains(key), "agent keys {agent:?} lack {key}");
    }
    let hub = hub_keys();
    for key in [
        "data_dir",
        "mqtt.inflight",
        "auth.tokens[].role",
        "webhooks[].url",
    ] {
        assert!(hub.contains(key), "hub keys {hub:?} lack {key}");
    }
    // A free-form device table is a leaf here (its keys are in docs/devices.md), and a table
    // is not a key itself.
    assert!(!agent.iter().any(|k| k.starts_with("stations[].scanner.")));
    assert!(!agent.contains("mqtt") && !hub.contains("auth"));
}

#[test]
fn every_key_agent_toml_accepts_is_in_the_agent_toml_table_of_docs_configuration_md() {
    let missing = missing_from_docs(&agent_keys(), &configuration_section("agent.toml"));
    assert!(
        missing.is_empty(),
        "docs/configuration.md, \"agent.toml\", does not name (in backticks, full path): {missing:?}"
    );
}

#[test]
fn every_key_hub_toml_accepts_is_in_the_hub_toml_table_of_docs_configuration_md() {
    let missing = missing_from_docs(&hub_keys(), &configuration_section("hub.toml"));
    assert!(
        missing.is_empty(),
        "docs/configuration.md, \"hub.toml\", does not name (in backticks, full path): {missing:?}"
    );
}

#[test]
fn every_key_in_the_tables_of_docs_configuration_md_is_accepted_by_its_file() {
    for (file, keys) in [("agent.toml", agent_keys()), ("hub.toml", hub_keys())] {
        let unknown: Vec<String> = first_column_keys(&configuration_section(file))
            .into_iter()
            .filter(|k| !keys.contains(k))
            .collect();
        assert!(
            unknown.is_empty(),
            "docs/configuration.md, {file:?}, names keys {file} refuses: {unknown:?}"
        );
    }
}

/// The leading `a.b[].c` part of a backticked token (`mqtt.address = "x"` → `mqtt.address`),
/// with array indexes written `[]`.
fn key_path(token: &str) -> String {
    let head: String = token
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.[]".contains(*c))
        .collect();
    let mut out = String::new();
    let mut in_index = false;
    for c in head.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn every_dotted_config_key_named_in_docs_exists_in_agent_toml_or_hub_toml() {
    let keys: BTreeSet<String> = agent_keys().into_iter().chain(hub_keys()).collect();
    // The first segment of a dotted key: a table of agent.toml or hub.toml.
    let sections: BTreeSet<String> = keys
        .iter()
        .filter(|k| k.contains('.'))
        .map(|k| k.split(['.', '[']).next().unwrap().to_string())
        .collect();
    let mut wrong = Vec::new();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(workspace().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.push(workspace().join("README.md"));
    for path in docs {
        let text = std::fs::read_to_string(&path).unwrap();
        for token in backticked(&text) {
            let key = key_path(&token);
            let Some((section, rest)) = key.split_once(['.', '[']) else {
                continue;
            };
            // File names (`hub.toml`, `mosquitto.conf`) are not keys.
            let file_name = [
                "toml", "md", "rs", "conf", "acl", "service", "yaml", "json", "csv", "pem", "env",
                "key", "log", "sh",
            ]
            .contains(&rest);
            if sections.contains(section) && !file_name && !keys.contains(&key) {
                wrong.push(format!(
                    "{}: `{token}`",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "docs name config keys neither agent.toml nor hub.toml accepts: {wrong:#?}"
    );
}
