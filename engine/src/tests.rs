//! Engine unit tests: every command and authority rule, without IO.
