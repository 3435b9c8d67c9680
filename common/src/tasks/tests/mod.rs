//! Tests for the station flows: one file per flow, plus property tests.

mod world;

mod pack;
mod pick;
mod properties;
mod putaway;
mod receive;
mod station;
