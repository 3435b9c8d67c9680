//! stockpost-agent library.
