//! Broker addresses as written in agent.toml and hub.toml (`host:port`).

/// Splits `host:port` (`[::1]:1883` gives `::1`); the error says what is wrong with the text.
pub fn split_host_port(address: &str) -> Result<(String, u16), String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("{address:?} is not host:port"))?;
    if host.is_empty() {
        return Err(format!("{address:?} has no host"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{address:?} has no valid port"))?;
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_are_split_and_bad_addresses_say_why() {
        assert_eq!(
            split_host_port("broker:1883"),
            Ok(("broker".to_string(), 1883))
        );
        assert_eq!(split_host_port("[::1]:8883"), Ok(("::1".to_string(), 8883)));
        assert_eq!(
            split_host_port("broker"),
            Err("\"broker\" is not host:port".to_string())
        );
        assert_eq!(
            split_host_port(":1883"),
            Err("\":1883\" has no host".to_string())
        );
        assert_eq!(
            split_host_port("b:99999"),
            Err("\"b:99999\" has no valid port".to_string())
        );
    }
}
