//! Test fixtures shared by the system tests: a real Mosquitto, a TCP proxy that can cut the
//! network silently, device simulators.

pub mod mosquitto;
pub mod proxy;
pub mod sim;
