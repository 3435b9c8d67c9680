//! Test fixtures shared by the system tests.
