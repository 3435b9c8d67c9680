//! stockpost-hub library.
