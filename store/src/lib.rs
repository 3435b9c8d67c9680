//! Durable storage for agent and hub.
