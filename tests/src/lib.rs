//! Test fixtures shared by the system tests: a real Mosquitto, a TCP proxy that can cut the
//! network silently, an in-process fleet of agents and a hub.

pub mod bench_sync;
pub mod certs;
pub mod demo;
pub mod fleet;
pub mod hubapi;
pub mod keys;
pub mod mosquitto;
pub mod proxy;
pub mod pty_scanner;
pub mod real;
pub mod shift;
pub mod sim;
pub mod station;
pub mod station_devices;
pub mod tmpfs;
