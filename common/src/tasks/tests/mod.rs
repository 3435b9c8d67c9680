//! Tests for the station flows: one file per flow, plus property tests.

mod world;

mod count;
mod pack;
mod pick;
mod properties;
mod putaway;
mod receive;
mod replenish;
mod returns;
mod station;
